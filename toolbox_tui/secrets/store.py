"""Where secret values live: the OS keyring (one service name per project) or this process only.

No secure keyring (no Secret Service on an SSH box: keyring picks `fail.Keyring`, or a plaintext
backend from keyrings.alt) is never papered over: `open_store` raises `NoSecureKeyring`, and the
user chooses explicitly — `file` (an encrypted file with a passphrase, `file_store`; for headless
servers), `session` (values kept in this process's memory) or a backend they name
(`--keyring-backend ...`). The Secret Service stays the default whenever it is there.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _secrets
from pathlib import Path
from typing import Callable, Protocol

from toolbox_tui.errors import ToolboxError
from toolbox_tui.secrets.keyring_backend import (
    FILE_MODULES,
    TIMEOUT_ENV,
    UNAVAILABLE_HINT,
    UNLOCK_HINT,
    backend_name,
    classify,
    default_backend,
    is_insecure,
    keyring_timeout,
    run_bounded,
)

SERVICE_PREFIX = "toolbox-tui:"
"""Keyring service name is `toolbox-tui:<project name>`; the username is the secret's name."""
HMAC_KEY_NAME = "@hmac-key"
"""Per-project random key for the content-hash labels of swarm secrets."""
PREVIOUS_SUFFIX = "@previous"
"""`<name>@previous` keeps the value a rotation replaced until the stack is healthy again."""
INDEX_NAME = "@index"
"""Names stored for this project (keyring cannot list entries), newline separated; not secret."""

class NoSecureKeyring(ToolboxError):
    """No secure keyring backend: the user must choose. Message and hint are user-facing."""

    def __init__(self, backend: str, reason: str = "") -> None:
        message = (f"no secure keyring is available (backend: {backend}{'; ' + reason if reason else ''})")
        super().__init__(message)
        self.backend = backend
        self.hint = ("choose explicitly: `--store file` keeps them in an encrypted file (in "
                     "~/.local/share/toolbox-tui/, passphrase asked on this terminal; "
                     "`TOOLBOX_TUI_STORE=file` makes it the default), `--store session` keeps values "
                     "in memory for this run only, or `--keyring-backend MODULE.CLASS` names a backend "
                     "(e.g. keyrings.alt.file.EncryptedKeyring); or start a Secret Service "
                     "(gnome-keyring in a D-Bus session). toolbox-tui never stores secrets in plaintext "
                     "on its own.")


class StoreError(ToolboxError):
    """The keyring refused an operation (locked, D-Bus gone...). User-facing, never contains a value.

    `reason` is `locked`, `unavailable` (the Secret Service left the bus), `timeout` (no answer
    within `keyring_timeout()`) or `failed`; `hint` is the next step for that reason.
    """

    hint = ("unlock the keyring (or start a Secret Service), or choose "
            "`--store session` / `--keyring-backend MODULE.CLASS`")
    """The next step when the failure has no better one of its own."""

    def __init__(self, message: str, hint: str = "", reason: str = "failed") -> None:
        super().__init__(message, hint)
        self.reason = reason


class SecretStore(Protocol):
    label: str
    """Where values go, for `secrets list` (`keyring` or `session`)."""
    backend: str

    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...
    def names(self) -> list[str]: ...


class SessionStore:
    """Values in this process's memory only: gone when it exits. Chosen explicitly, never a fallback."""

    label = "session"
    backend = "session (memory of this process)"

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        """name -> value; never written anywhere."""

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def set(self, name: str, value: str) -> None:
        self._values[name] = value

    def delete(self, name: str) -> None:
        self._values.pop(name, None)

    def names(self) -> list[str]:
        return sorted(n for n in self._values if not n.startswith("@"))


class KeyringStore:
    """Values in a keyring backend under service `toolbox-tui:<project>`."""

    label = "keyring"

    def __init__(self, service: str, backend: object, *, label: str = "", shown: str = "") -> None:
        self.service = service
        """Keyring service name, `toolbox-tui:<project>`."""
        self._backend = backend
        """The keyring backend object (SecretService.Keyring when all is well)."""
        self.backend = shown or backend_name(backend)
        """How the backend is named to the user (`module.Class`, or `encrypted file PATH`)."""
        if label:
            self.label = label

    def _call(self, what: str, fn, *args):  # noqa: ANN001
        timeout = keyring_timeout()
        try:
            return run_bounded(fn, args, timeout)
        except StoreError:
            raise  # the encrypted file store's own errors: already user-facing, value-free
        except TimeoutError:
            raise StoreError(f"the keyring ({self.backend}) did not answer within {timeout:g} s when "
                             f"asked to {what} for service {self.service!r}: it is locked with an "
                             "unlock prompt nobody answered, or its daemon hangs",
                             f"answer or cancel the unlock prompt, or restart the keyring daemon; "
                             f"{TIMEOUT_ENV}=SECONDS changes the wait; or choose `--store session`.",
                             "timeout") from None
        except Exception as exc:  # keyring errors, D-Bus errors: never echo arguments (values)
            reason = classify(exc)
            if reason == "locked":
                raise StoreError(f"the keyring is locked: {self.backend} could not {what} for "
                                 f"service {self.service!r} (unlocking it needs a prompt or the "
                                 "keyring password)", UNLOCK_HINT, "locked") from None
            if reason == "unavailable":
                raise StoreError(f"the keyring daemon is gone: {self.backend} could not {what} for "
                                 f"service {self.service!r} (no Secret Service answers on the D-Bus "
                                 f"session bus: {type(exc).__name__})", UNAVAILABLE_HINT,
                                 "unavailable") from None
            raise StoreError(f"the keyring ({self.backend}) could not {what} for service "
                             f"{self.service!r}: {type(exc).__name__}") from None

    def get(self, name: str) -> str | None:
        return self._call(f"read {name!r}", self._backend.get_password, self.service, name)

    def set(self, name: str, value: str) -> None:
        self._call(f"store {name!r}", self._backend.set_password, self.service, name, value)
        if not name.startswith("@"):
            self._index_add(name)

    def delete(self, name: str) -> None:
        import keyring.errors

        def gentle(service: str, username: str) -> None:
            try:
                self._backend.delete_password(service, username)
            except keyring.errors.PasswordDeleteError:
                pass  # not there: nothing to delete

        self._call(f"delete {name!r}", gentle, self.service, name)
        if not name.startswith("@"):
            self._index_remove(name)

    def names(self) -> list[str]:
        raw = self.get(INDEX_NAME) or ""
        return sorted({n for n in raw.split("\n") if n})

    def _index_add(self, name: str) -> None:
        current = set(self.names())
        if name not in current:
            current.add(name)
            self._call("update its index", self._backend.set_password, self.service, INDEX_NAME,
                       "\n".join(sorted(current)))

    def _index_remove(self, name: str) -> None:
        current = set(self.names())
        if name in current:
            current.discard(name)
            if current:
                self._call("update its index", self._backend.set_password, self.service,
                           INDEX_NAME, "\n".join(sorted(current)))
            else:
                try:
                    self._backend.delete_password(self.service, INDEX_NAME)
                except Exception:  # noqa: BLE001 - an index that lingers is harmless
                    pass

    def purge(self) -> None:
        """Delete every entry of this project (tests, `secrets forget`)."""
        for name in self.names():
            self.delete(name)
            self.delete(name + PREVIOUS_SUFFIX)
        for extra in (HMAC_KEY_NAME, INDEX_NAME):
            try:
                self._backend.delete_password(self.service, extra)
            except Exception:  # noqa: BLE001
                pass


def service_name(project: str) -> str:
    return SERVICE_PREFIX + project


STORE_ENV = "TOOLBOX_TUI_STORE"
"""`keyring`, `file` or `session`: the store to use when no `--store` is given (a shell profile on
a headless server sets `file`). Names a store, never holds a secret."""
STORE_CHOICES = ("keyring", "file", "session")


def chosen_store(explicit: str | None) -> str | None:
    """`--store` if given, else `$TOOLBOX_TUI_STORE`, else None (the Secret Service, if secure)."""
    import os

    if explicit:
        return explicit
    value = os.environ.get(STORE_ENV, "").strip().lower()
    if not value:
        return None
    if value not in STORE_CHOICES:
        from toolbox_tui.errors import UsageError

        raise UsageError(f"{STORE_ENV}={value[:40]!r} is not a secret store",
                         f"set it to one of {', '.join(STORE_CHOICES)}, or unset it")
    return value


PassphraseSource = Callable[[bool, Path], str]
"""`ask(new, path)`: the passphrase of the encrypted file store at `path` (`new`: it is being
created, so the face asks twice). Supplied by the face: /dev/tty in the CLI, a modal in the wizard."""


def open_file_store(project: str, ask: PassphraseSource, *, service: str | None = None,
                    path: Path | None = None) -> "KeyringStore":
    """The encrypted file store (`file_store`), unlocked with the passphrase `ask` gives.

    StoreError (value- and passphrase-free) when the file is unsafe, damaged, or the passphrase
    is wrong; nothing is created unless the store is absent and `ask(True, ...)` answered.
    """
    from toolbox_tui.secrets import file_store, file_store_disk

    path = path or file_store_disk.store_path()
    info = file_store_disk.describe(path)
    if info.problem:
        raise StoreError(info.problem, info.hint, "unsafe")
    passphrase = ask(not info.exists, path)
    backend = file_store.unlock(passphrase, create=not info.exists, path=path)
    del passphrase
    return KeyringStore(service or service_name(project), backend, label=file_store.LABEL,
                        shown=file_store.backend_label(path))


def open_store(project: str, *, store: str | None = None, backend: str | None = None,
               service: str | None = None, passphrase: PassphraseSource | None = None) -> SecretStore:
    """The store for `project`.

    `store="session"`: memory only. `store="file"`: the encrypted file, unlocked with what
    `passphrase` gives. `backend="module.Class"`: that keyring backend, as named. Otherwise the
    default keyring backend, if it is secure; else `NoSecureKeyring`.
    """
    if store == "session":
        return SessionStore()
    svc = service or service_name(project)
    if store == "file":
        if passphrase is None:
            raise StoreError("the encrypted file store needs its passphrase, and nothing here can ask for it",
                             "run the command on a terminal", "passphrase")
        return open_file_store(project, passphrase, service=svc)
    if backend:
        import keyring.core

        if backend.startswith(FILE_MODULES):
            from toolbox_tui.errors import UsageError

            raise UsageError(f"--keyring-backend {backend[:80]} would ask its passphrase with getpass() "
                             "and keep it nowhere safe", "use `--store file`: the same encrypted "
                             "file format, with the passphrase asked on the terminal")

        try:
            chosen = keyring.core.load_keyring(backend)
        except Exception as exc:  # noqa: BLE001 - bad name, missing module
            raise StoreError(f"cannot load keyring backend {backend!r}: {type(exc).__name__}: {exc}") from None
        return KeyringStore(svc, chosen)
    current = default_backend()
    insecure, reason = is_insecure(current)
    if insecure:
        raise NoSecureKeyring(backend_name(current), reason)
    return KeyringStore(svc, current)


def hmac_key(store: SecretStore) -> bytes:
    """The project's random key for content-hash labels, created on first use."""
    raw = store.get(HMAC_KEY_NAME)
    if not raw:
        raw = _secrets.token_hex(32)
        store.set(HMAC_KEY_NAME, raw)
    return bytes.fromhex(raw)


def content_hash(store: SecretStore, value: str) -> str:
    """HMAC-SHA256 of `value` under the project key: comparable, but no offline guessing."""
    return hmac.new(hmac_key(store), value.encode(), hashlib.sha256).hexdigest()
