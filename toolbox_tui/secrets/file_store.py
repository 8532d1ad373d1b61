"""The headless secret store: one encrypted file, for a machine without a Secret Service.

Over SSH on a server there is no D-Bus session and no keyring daemon. Rather than keep values in
plain text (never) or only for one process (`--store session`), the operator can choose, by name,
an encrypted file: `--store file`, `TOOLBOX_TUI_STORE=file`, or the wizard's choice. It is the
format of `keyrings.cryptfile` (values AES-128-GCM encrypted, key from the passphrase by Argon2id,
64 MiB, 15 passes; the service and name bound to each value as associated data), so the stock
`keyrings.cryptfile` backend can read it too; it is written with `cryptography` (see `CryptFile`
for why that package is not installed). What this module adds to the stock backend:

- it lives in `$XDG_DATA_HOME/toolbox-tui/secrets.cfg` (never in a repository), in a 0700
  directory, as a 0600 file; a directory, link, FIFO, a file of someone else's or one readable by
  others in its place is refused, named, never read or replaced;
- reads are bounded; a file that does not parse or decrypt is a clear error, never a new store;
- writes are atomic (temp file, fsync, rename) under a lock, so two processes never lose a value;
- the passphrase is handed in by the face (the CLI reads it from /dev/tty, the wizard from a
  masked input), never asked with getpass() here; a wrong one is `StoreError(reason="passphrase")`;
- the key is derived once per process (one salt per file), not once per value (~1 s each here).

What it protects against: a copy of the file (a backup, a stolen disk, another user who can read
it) is useless without the passphrase. What not: root, or code running as you while the store is
unlocked, can read the values — as with any keyring.
"""

from __future__ import annotations

import configparser
import os
import stat
from pathlib import Path

from toolbox_tui.secrets.file_store_disk import FILE_NAME, check_dir, corrupt, read_config, store_path
from toolbox_tui.secrets.store import StoreError

MIN_PASSPHRASE = 8
"""Shortest passphrase accepted for a new store."""
LABEL = "encrypted-file"
"""`SecretStore.label` of this store (what `secrets list --json` says in `store`)."""
_REF_SERVICE, _REF_NAME, _REF_VALUE = "keyring-setting", "password reference", "password reference value"
"""The stock backend's passphrase check entry (a known value encrypted with the key)."""

PASSPHRASE_HINT = ("type the passphrase you chose when the store was created; if it is lost, the "
                   "values cannot be recovered: move the file away and store them again")


SCHEME = "[Argon2] AES128.GCM"
"""keyrings.cryptfile's scheme string, checked on open and written on create."""
VERSION = "1.3.9"
"""The keyrings.cryptfile file version written (it decides how associated data is joined)."""
TIME_COST, MEMORY_COST_KIB, LANES = 15, 65536, 2
"""keyrings.cryptfile's Argon2id parameters (not stored in the file: they are part of the format)."""


def escape(value: str) -> str:
    """keyrings.cryptfile's INI-safe names: ASCII letters and digits kept, every other byte `_XX`."""
    keep = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(chr(b) if chr(b) in keep else f"_{b:02X}" for b in value.encode("utf-8"))


class CryptFile:
    """A keyring-like backend (get/set/delete_password) on the encrypted file at `path`.

    The keyrings.cryptfile format, written with `cryptography` (Argon2id, AES-GCM) rather than by
    installing that package: installed, it registers keyring backends that keyring then chains
    into its *default* — one asking its passphrase with getpass(), one storing plain text.
    Every new value is encrypted under the salt of the passphrase check entry, so the key is
    derived once per process; a value with another salt (written by the stock backend) is
    decrypted with its own, derived once too.
    """

    def __init__(self, path: Path, passphrase: str) -> None:
        self._path = Path(path)
        """The store file."""
        self._passphrase = passphrase
        """Kept for this process only, to derive keys for other salts."""
        self._keys: dict[bytes, bytes] = {}
        """salt -> derived key: one Argon2 run per salt per process."""
        self._salt: bytes | None = None
        """The salt of the passphrase check entry: new values are encrypted under it."""
        self._version = VERSION

    def __repr__(self) -> str:  # never the passphrase
        return f"<encrypted file {self._path}>"

    # -- crypto --
    def _key(self, salt: bytes) -> bytes:
        key = self._keys.get(salt)
        if key is None:
            from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

            key = Argon2id(salt=salt, length=16, iterations=TIME_COST, lanes=LANES,
                           memory_cost=MEMORY_COST_KIB).derive(self._passphrase.encode("utf-8"))
            self._keys[salt] = key
        return key

    def _assoc(self, service: str, username: str, *, other: bool = False) -> bytes:
        parts = tuple(int(p) for p in self._version.split(".") if p.isdigit())
        literal = (1, 3, 6) <= parts < (1, 3, 9)  # 1.3.6-1.3.8 joined with a literal \0
        joiner = "\\0" if literal != other else "\0"
        return (escape(service) + joiner + escape(username)).encode()

    def _encrypt(self, plain: bytes, assoc: bytes) -> str:
        import json
        from base64 import encodebytes

        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        salt = self._salt or os.urandom(16)
        self._salt = salt
        nonce = os.urandom(16)
        sealed = AESGCM(self._key(salt)).encrypt(nonce, plain, assoc)
        fields = {"salt": salt, "data": sealed[:-16], "mac": sealed[-16:], "nonce": nonce}
        blob = json.dumps({k: encodebytes(v).decode()[:-1] for k, v in fields.items()}).encode()
        return "\n" + encodebytes(blob).decode()

    def _decrypt_entry(self, config: configparser.RawConfigParser, service: str,
                       username: str) -> object:
        """The value (str), None when absent, `_WRONG` when it does not decrypt with this
        passphrase; StoreError when the entry is damaged."""
        import binascii
        import json
        from base64 import decodebytes

        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            raw = config.get(escape(service), escape(username))
        except (configparser.NoOptionError, configparser.NoSectionError):
            return None
        try:
            data = json.loads(decodebytes(raw.encode()).decode())
            f = {k: decodebytes(data[k].encode()) for k in ("salt", "data", "mac", "nonce")}
        except (ValueError, KeyError, TypeError, binascii.Error, AttributeError):
            raise corrupt(self._path, f" (entry {escape(service)}/{escape(username)})") from None
        if len(f["salt"]) < 8 or len(f["mac"]) != 16 or not 8 <= len(f["nonce"]) <= 128:
            raise corrupt(self._path, f" (entry {escape(service)}/{escape(username)})")
        assocs = (self._assoc(service, username), self._assoc(service, username, other=True), None)
        for assoc in assocs:  # the stock backend falls back to None too; the version line is not
            # authenticated, so an edited one must not make a right passphrase look wrong
            try:
                plain = AESGCM(self._key(f["salt"])).decrypt(f["nonce"], f["data"] + f["mac"], assoc)
            except InvalidTag:
                continue
            if service == _REF_SERVICE and username == _REF_NAME:
                self._salt = f["salt"]
            try:
                return plain.decode("utf-8")
            except UnicodeDecodeError:
                raise corrupt(self._path) from None
        return _WRONG

    def _read_version(self, config: configparser.RawConfigParser) -> None:
        try:
            self._version = config.get(escape(_REF_SERVICE), "version")
        except (configparser.NoOptionError, configparser.NoSectionError):
            self._version = VERSION

    # -- what KeyringStore calls --
    def get_password(self, service: str, username: str) -> str | None:
        config = read_config(self._path)
        if config is None:
            return None
        self._read_version(config)
        value = self._decrypt_entry(config, service, username)
        if value is _WRONG:
            raise corrupt(self._path, f" (a value for {username!r} does not decrypt with the "
                           "passphrase that opened the store)")
        return value  # type: ignore[return-value]

    def set_password(self, service: str, username: str, password: str) -> None:
        def put(config: configparser.RawConfigParser) -> None:
            self._read_version(config)
            blob = self._encrypt(password.encode("utf-8"), self._assoc(service, username))
            _set(config, escape(service), escape(username), blob)

        self._update(put)

    def delete_password(self, service: str, username: str) -> None:
        import keyring.errors

        def drop(config: configparser.RawConfigParser) -> None:
            try:
                found = config.remove_option(escape(service), escape(username))
            except configparser.NoSectionError:
                found = False
            if not found:
                raise keyring.errors.PasswordDeleteError("not found")

        self._update(drop)

    def _update(self, change) -> None:  # noqa: ANN001
        """Read, change, write atomically as 0600, under an exclusive lock in the folder."""
        import fcntl
        import io

        from toolbox_tui.atomic_files import atomic_write

        check_dir(self._path.parent, create=True)
        lock = self._path.parent / (FILE_NAME + ".lock")
        try:
            lock_fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
        except OSError as exc:
            raise StoreError(f"the encrypted secret store's lock {lock} cannot be opened "
                             f"({exc.strerror}); nothing was changed",
                             f"move {lock} away (it is an empty regular file toolbox-tui makes), "
                             "then run the command again", "unsafe") from None
        st = os.fstat(lock_fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
            os.close(lock_fd)
            raise StoreError(f"the encrypted secret store's lock {lock} is not a regular file of "
                             "yours; nothing was changed", f"move {lock} away, then run the "
                             "command again", "unsafe")
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            config = read_config(self._path) or configparser.RawConfigParser()
            change(config)
            buf = io.StringIO()
            config.write(buf)
            atomic_write(self._path, buf.getvalue().encode("utf-8"), mode=0o600, keep_mode=False)
        finally:
            os.close(lock_fd)

    def create(self) -> None:
        """Write a new store: the passphrase check entry, the scheme and the version."""
        def init(config: configparser.RawConfigParser) -> None:
            self._version = VERSION
            _set(config, escape(_REF_SERVICE), escape(_REF_NAME),
                 self._encrypt(_REF_VALUE.encode(), self._assoc(_REF_SERVICE, _REF_NAME)))
            _set(config, escape(_REF_SERVICE), "scheme", SCHEME)
            _set(config, escape(_REF_SERVICE), "version", VERSION)

        self._update(init)


_WRONG = object()
"""`_decrypt_entry`'s answer when the entry does not decrypt with this passphrase."""


def _set(config: configparser.RawConfigParser, section: str, key: str, value: str) -> None:
    if not config.has_section(section):
        config.add_section(section)
    config.set(section, key, value)


def unlock(passphrase: str, *, create: bool = False, path: Path | None = None) -> CryptFile:
    """The backend for the store at `path`, unlocked with `passphrase`.

    An existing store: the passphrase is checked against its reference entry (wrong:
    `StoreError(reason="passphrase")`; nothing is changed). No store yet: created only when
    `create` (the face asked for the passphrase twice), else `StoreError(reason="missing")`.
    The error never contains the passphrase.
    """
    path = path or store_path()
    check_dir(path.parent, create=False)
    backend = CryptFile(path, passphrase)
    config = read_config(path)
    if config is None or not config.has_section(escape(_REF_SERVICE)):
        if config is not None and config.sections():
            raise corrupt(path, " (its passphrase check entry is missing)")
        if not create:
            raise StoreError(f"there is no encrypted secret store at {path} yet",
                             "create it: run the command on a terminal and choose a passphrase "
                             "(asked twice)", "missing")
        if len(passphrase) < MIN_PASSPHRASE:
            raise StoreError(f"the passphrase is too short (fewer than {MIN_PASSPHRASE} characters); "
                             "no store was created", "choose a longer one (a few words work well)",
                             "passphrase")
        if config is not None:  # an empty file (a crash before the first write): start afresh
            os.unlink(path)
        backend.create()
        return backend
    try:
        scheme = config.get(escape(_REF_SERVICE), "scheme")
    except (configparser.NoOptionError, configparser.NoSectionError):
        scheme = SCHEME
    if scheme.removeprefix("PyCryptodome ") != SCHEME:
        raise corrupt(path, f" (encryption scheme {scheme[:40]!r}, not {SCHEME!r})")
    backend._read_version(config)  # noqa: SLF001
    value = backend._decrypt_entry(config, _REF_SERVICE, _REF_NAME)  # noqa: SLF001
    if value is None:
        raise corrupt(path, " (its passphrase check entry is missing)")
    if value is _WRONG:
        raise StoreError(f"wrong passphrase for the encrypted secret store {path}; nothing was "
                         "read or changed", PASSPHRASE_HINT, "passphrase")
    if value != _REF_VALUE:
        raise corrupt(path, " (its passphrase check entry has an unexpected value)")
    return backend


def backend_label(path: Path | None = None) -> str:
    """How the store is named to the user (`secrets list`, the wizard, doctor)."""
    return f"encrypted file {path or store_path()}"
