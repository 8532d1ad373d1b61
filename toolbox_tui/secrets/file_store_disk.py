"""The encrypted store's file on disk: where it lives (`$XDG_DATA_HOME/toolbox-tui/secrets.cfg`,
never in a repository), whose it must be (a 0700 folder and a 0600 regular file of this user; a
link, FIFO, someone else's or a group-readable file is refused, named, never read or replaced),
and reading it bounded. What is inside and how it is encrypted: `file_store`.
"""

from __future__ import annotations

import configparser
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from toolbox_tui.secrets.store import StoreError

FILE_NAME = "secrets.cfg"
"""The store's file name inside `store_dir()`."""
MAX_BYTES = 16 * 1024 * 1024
"""The most this module reads of the store (13 secrets take ~10 KiB)."""

def store_dir() -> Path:
    """`$XDG_DATA_HOME/toolbox-tui` (default `~/.local/share/toolbox-tui`)."""
    base = os.environ.get("XDG_DATA_HOME") or ""
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "toolbox-tui"


def store_path() -> Path:
    """Where the encrypted file store lives."""
    return store_dir() / FILE_NAME


@dataclass(frozen=True)
class FileStoreInfo:
    """What can be said about the store without its passphrase (doctor, wizard, `secrets`)."""

    path: Path
    exists: bool
    """A file is there (it may still be refused: see `problem`)."""
    problem: str = ""
    """Why it cannot be used as it is (empty: usable); names the path, never a value."""
    hint: str = ""


def describe(path: Path | None = None) -> FileStoreInfo:
    path = path or store_path()
    try:
        check_dir(path.parent, create=False)
        st = check_file(path)
    except StoreError as exc:
        return FileStoreInfo(path, os.path.lexists(path), str(exc), exc.hint)
    return FileStoreInfo(path, st is not None)


def refuse(message: str, hint: str, reason: str = "unsafe") -> StoreError:
    return StoreError(message, hint, reason)


def check_dir(directory: Path, *, create: bool) -> None:
    """The store's directory: ours, a real directory, 0700 (created so when `create`)."""
    if create and not os.path.lexists(directory):
        os.makedirs(directory.parent, exist_ok=True)
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise refuse(f"the encrypted secret store's folder {directory} cannot be read "
                      f"({exc.strerror})", "check its permissions", "unreadable") from None
    if not stat.S_ISDIR(st.st_mode):
        kind = ("a symbolic link, not a folder" if stat.S_ISLNK(st.st_mode) else "not a folder")
        raise refuse(f"{directory} is {kind} (the encrypted secret store lives there); it "
                      "was not used", f"move {directory} away, then run the command again")
    _check_parents(directory)
    if st.st_uid != os.getuid():
        raise refuse(f"{directory} belongs to uid {st.st_uid}, not you; the encrypted secret "
                      "store there was not used", f"move it away, or `chown -R {os.getuid()} {directory}`")
    if stat.S_IMODE(st.st_mode) & 0o077:
        if create:
            os.chmod(directory, 0o700)
            return
        raise refuse(f"{directory} is open to other users (mode {stat.S_IMODE(st.st_mode):o}); "
                      "the encrypted secret store there was not used", f"chmod 700 {directory}")


def _check_parents(directory: Path) -> None:
    """Every folder above the store's: owned by root or you, and not writable by others unless
    sticky (`/tmp`). Otherwise another user could rename the store's folder away between the
    checks and the write and have the encrypted values written into one of theirs."""
    for parent in Path(os.path.abspath(directory)).parents:
        try:
            st = os.stat(parent)
        except OSError:
            continue
        open_to_others = st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX
        if st.st_uid not in (0, os.getuid()) or open_to_others:
            who = (f"belongs to uid {st.st_uid}" if st.st_uid not in (0, os.getuid())
                   else f"is writable by other users (mode {stat.S_IMODE(st.st_mode):o})")
            raise refuse(f"{parent}, a folder above the encrypted secret store {directory}, {who}; "
                         "the store there was not used (someone else could swap its folder)",
                         f"`chmod go-w {parent}`, or set XDG_DATA_HOME to a folder only you can write")


def check_file(path: Path) -> os.stat_result | None:
    """The store file's stat when it is a regular 0600 file of ours; None when absent."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise refuse(f"the encrypted secret store {path} cannot be read ({exc.strerror})",
                      "check the permissions of its folder", "unreadable") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        raise refuse(f"the encrypted secret store {path} is {kind}; it was not read or replaced",
                      f"move {path} away (a store is a regular file), then run the command again")
    if st.st_uid != os.getuid():
        raise refuse(f"the encrypted secret store {path} belongs to uid {st.st_uid}, not you; it "
                      "was not read", f"move it away, or `chown {os.getuid()} {path}`")
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise refuse(f"the encrypted secret store {path} is readable or writable by others (mode "
                      f"{stat.S_IMODE(st.st_mode):o}); it was not used",
                      f"`chmod 600 {path}` if its content is yours (a copy may have been taken: "
                      "consider rotating the secrets)")
    return st


def read_config(path: Path) -> configparser.RawConfigParser | None:
    """The parsed store (None when there is none yet); StoreError when it cannot be used."""
    if check_file(path) is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise refuse(f"the encrypted secret store {path} cannot be read ({exc.strerror})",
                      f"check its permissions (`ls -l {path}`): it must be yours and 0600",
                      "unreadable") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise refuse(f"the encrypted secret store {path} is not a regular file; it was not read",
                          f"move {path} away")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise refuse(f"the encrypted secret store {path} cannot be read ({exc.strerror})",
                      "check the disk and the file's permissions", "unreadable") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        raise refuse(f"the encrypted secret store {path} is larger than {MAX_BYTES >> 20} MiB; "
                      "it was not read", f"move {path} away: it is not one toolbox-tui wrote",
                      "corrupt")
    config = configparser.RawConfigParser()
    try:
        config.read_string(raw.decode("utf-8"), source=str(path))
    except (UnicodeDecodeError, configparser.Error) as exc:
        line = getattr(exc, "lineno", None)
        raise corrupt(path, f" (line {line})" if line else "") from None
    return config


def corrupt(path: Path, where: str = "") -> StoreError:
    return StoreError(f"the encrypted secret store {path} is damaged{where}: it does not parse as a "
                      "keyrings.cryptfile store; nothing was read or changed",
                      f"restore it from a backup, or move it away (`mv {path} {path}.damaged`) and "
                      "store the values again", "corrupt")
