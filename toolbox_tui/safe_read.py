"""The one bounded reader: every file toolbox-tui reads goes through here.

A repository can ship anything under a file name the tool reads: `.env -> /dev/zero`, a FIFO
called `README.md`, a 1.5 GB "candidate" for a missing file. So every read opens the file
without blocking (`O_NONBLOCK`: opening a FIFO returns at once instead of waiting for a writer),
checks what it opened with `fstat` (regular files only: a FIFO, device, socket or directory is
refused with a message naming the file), and stops at a size limit that depends on what the file
is (`Kind`). Hashes are streamed, never read whole. `follow=False` adds `O_NOFOLLOW` for files
where a symbolic link is not expected.

The errors are `ReadRefused` (a `LocatedError`: the file, what is wrong, what to do); the text
of a refused file is never read, so it cannot end up in a message.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from typing import BinaryIO

from toolbox_tui.errors import LocatedError

MiB = 1024 * 1024
KiB = 1024


@dataclass(frozen=True)
class Kind:
    """What a file is for: how it is named in messages, how large it may be, what to do."""

    what: str
    """Named in messages: "env file", "Compose file"..."""
    limit: int
    """Largest size in bytes accepted."""
    hint: str
    """What to do when the file is too large."""


COMPOSE = Kind("Compose file", 8 * MiB, "This does not look like a Compose file; check -f.")
ENV = Kind("env file", 1 * MiB, "An env file holds KEY=VALUE lines; check --env-file / COMPOSE_ENV_FILES "
           "or what `.env` points at.")
TEMPLATE = Kind("env template", 1 * MiB, "Check what the env template (.env.example) points at.")
MANIFEST = Kind("manifest", 1 * MiB, "Check .toolbox-tui.yml.")
DOC = Kind("Markdown file", 2 * MiB, "Pass --no-docs to skip the documentation check.")
SECRET = Kind("secret value", 500 * KiB, "A secret value is at most 500 KiB (what a Docker swarm secret "
              "may hold); check the file or what is piped to stdin.")
CONFIG = Kind("configuration file", 1 * MiB, "Check the file.")
STATE = Kind("state file", 8 * MiB, "Remove the file; toolbox-tui writes it again.")


class ReadRefused(LocatedError):
    """A file that is not read: not a regular file, too large, or not there."""


def _kind_of_mode(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def shown(path: str | os.PathLike) -> str:
    """`path`, plus where it really leads when it is a symbolic link (`.env -> /dev/zero`)."""
    p = str(path)
    try:
        if os.path.islink(p):
            return f"{p} (-> {os.path.realpath(p)})"
    except OSError:
        pass
    return p


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n / KiB:.0f} KiB" if n >= KiB else f"{n} bytes"


def too_large(path: str | os.PathLike, kind: Kind, size: int | None = None) -> ReadRefused:
    got = f"is {_size(size)}" if size is not None else "is larger than that"
    return ReadRefused(f"{kind.what} {shown(path)} {got}; refusing files over "
                       f"{_size(kind.limit)} (it was not read)", file=str(path), hint=kind.hint)


def not_regular(path: str, kind: Kind, mode: int) -> ReadRefused:
    return ReadRefused(f"{kind.what} {shown(path)} is {_kind_of_mode(mode)}, not a regular file; "
                       "it was not read", file=path,
                       hint="Point at a regular file: toolbox-tui reads only regular files, so a "
                            "pipe or a device can neither hang nor flood it.")


def open_regular(path: str | os.PathLike, kind: Kind, *, follow: bool = True) -> int:
    """A read-only descriptor of `path`, which must be a regular file (the caller closes it)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= os.O_NOFOLLOW
    p = str(path)
    try:
        fd = os.open(p, flags)
    except FileNotFoundError:
        raise ReadRefused(f"{kind.what} {shown(p)} does not exist", file=p,
                          hint="Check the path, or create the file.") from None
    except PermissionError:
        raise ReadRefused(f"permission denied reading {kind.what} {p}", file=p,
                          hint="Fix the file's permissions or run as a user who can read it.") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            why = ("is a symbolic link, which is not expected here" if not follow
                   else "is a symbolic link loop")
            raise ReadRefused(f"{kind.what} {p} {why}; it was not read", file=p,
                              hint="Replace the link with the file itself.") from None
        try:  # a socket cannot be opened at all (ENXIO): say what it is
            mode = os.stat(p).st_mode
        except OSError:
            mode = stat.S_IFREG
        if not stat.S_ISREG(mode):
            raise not_regular(p, kind, mode) from None
        raise ReadRefused(f"cannot read {kind.what} {p}: {exc.strerror}", file=p,
                          hint="Check the path and its permissions.") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise not_regular(p, kind, st.st_mode)
        if st.st_size > kind.limit:
            raise too_large(p, kind, st.st_size)
        # Regular now: reads must block normally (O_NONBLOCK only guarded the open).
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: str | os.PathLike, kind: Kind, *, follow: bool = True) -> bytes:
    """All of `path` (a regular file of at most `kind.limit` bytes), or `ReadRefused`."""
    fd = open_regular(path, kind, follow=follow)
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read(kind.limit + 1)  # the file may have grown since fstat
        except OSError as exc:
            raise ReadRefused(f"cannot read {kind.what} {path}: {exc.strerror}", file=str(path),
                              hint="Check the file.") from None
    if len(data) > kind.limit:
        raise too_large(path, kind)
    return data


def read_text(path: str | os.PathLike, kind: Kind, *, follow: bool = True,
              errors: str = "replace") -> str:
    """`read_bytes` decoded as UTF-8 (a BOM is dropped); `errors="strict"` raises UnicodeDecodeError."""
    return read_bytes(path, kind, follow=follow).decode("utf-8-sig", errors)


def read_stream(stream: BinaryIO, kind: Kind, where: str) -> bytes:
    """At most `kind.limit` bytes from an open stream (stdin); more is refused, not read on."""
    data = stream.read(kind.limit + 1)
    if len(data) > kind.limit:
        raise ReadRefused(f"{where} gave more than {_size(kind.limit)}, the most toolbox-tui "
                          f"reads for a {kind.what}; nothing was stored", hint=kind.hint)
    return data


def sha256_file(path: str | os.PathLike, *, follow: bool = True, dir_fd: int | None = None
                ) -> str | None:
    """sha256 of a regular file, streamed in chunks (any size); None when it is absent or not a
    regular file, or cannot be read. `dir_fd`: `path` is a name in that open directory."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(str(path), flags, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        os.set_blocking(fd, True)
        with os.fdopen(os.dup(fd), "rb", buffering=0) as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()  # C loop, fixed-size buffer
    except OSError:
        return None
    finally:
        os.close(fd)


def read_head(path: str | os.PathLike, n: int, *, follow: bool = True) -> bytes:
    """The first `n` bytes of `path` when it is a regular file (a `#!` line, a shebang's
    shell); b"" when it is anything else or cannot be read. Never blocks: a FIFO or a link to
    one (`configure -> pipe`) is not a file to look into."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(str(path), flags)
    except (OSError, ValueError):
        return b""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while size < n and (chunk := os.read(fd, n - size)):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError:
        return b""
    finally:
        os.close(fd)


def is_regular(path: str | os.PathLike) -> bool:
    """True when `path` (following links) is a regular file; never blocks, never raises."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def resolves_outside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """True when `path`'s real location (links followed) is not inside `root`'s."""
    real = os.path.realpath(path)
    base = os.path.realpath(root)
    return not (real == base or real.startswith(base.rstrip(os.sep) + os.sep))


__all__ = ["Kind", "ReadRefused", "COMPOSE", "ENV", "TEMPLATE", "MANIFEST", "DOC", "SECRET",
           "CONFIG", "STATE", "open_regular", "read_bytes", "read_text", "read_stream",
           "sha256_file", "read_head", "is_regular", "resolves_outside", "shown", "too_large"]
