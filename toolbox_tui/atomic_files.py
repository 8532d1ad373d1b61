"""File operations writers need to be safe: hashes, atomic replace (fixes write through
`toolbox_tui.fixes.anchored`, which adds the no-clobber copy and the walk without links).

Kept apart from the fix journal so other writers of user files (the env file, the secrets
override) can use the same guarantees: a reader sees the old bytes or the new, never half; mode
and owner survive a replace.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from toolbox_tui import safe_read


def sha256_file(path: Path) -> str | None:
    """Hash of a regular file's bytes (not following a final symbolic link), streamed; None when
    it is absent or not a regular file."""
    return safe_read.sha256_file(path, follow=False)


def fsync_dir(path: Path) -> None:
    """Make a rename or new entry in `path` durable (best effort: some filesystems refuse)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int | None = None, keep_mode: bool = True) -> None:
    """Replace `path` with `data` via a temp file in the same directory + fsync + rename.

    The existing file's mode and owner are kept (or `mode` for a new file); `keep_mode=False`
    always applies `mode` (a secret file is 0600 whatever someone did to the old one). The temp
    file is created 0600 with O_EXCL, so the data is never readable by others, even briefly.
    Readers never see a half-written file; a crash leaves either the old or the new content.
    """
    path = Path(path)
    try:
        st: os.stat_result | None = os.stat(path) if keep_mode else None
    except FileNotFoundError:
        st = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tbx-tmp", dir=path.parent)
    except OSError as exc:
        raise named(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            _chown_like(tmp, st)
        else:
            os.chmod(tmp, 0o644 if mode is None else mode)
        os.replace(tmp, path)
    except BaseException as exc:
        silent_unlink(Path(tmp))
        if isinstance(exc, OSError):
            raise named(exc, path) from None
        raise
    fsync_dir(path.parent)


def _chown_like(path: str | Path, st: os.stat_result) -> None:
    try:
        if (os.stat(path).st_uid, os.stat(path).st_gid) != (st.st_uid, st.st_gid):
            os.chown(path, st.st_uid, st.st_gid)
    except PermissionError:
        pass  # not root: the file stays ours, which is what a non-root rewrite can do


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
"""errnos meaning there is no room left: the user must free space, nothing else helps."""


def named(exc: OSError, path: Path | str) -> OSError:
    """`exc` naming `path` (the file the user knows), not a temp name or nothing at all."""
    if exc.filename is not None and str(exc.filename) == str(path):
        return exc
    return OSError(exc.errno, exc.strerror or str(exc), str(path))


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_FULL


def disk_full_hint(path: Path | str) -> str:
    """What to do when a write under `path` ran out of space."""
    where = Path(path)
    where = where if where.is_dir() else where.parent
    return (f"the filesystem holding {where} is full: free some space there (`df -h {where}` "
            "shows what is left), then run the command again")


def silent_unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def writable(path: Path) -> bool:
    """Writable by us *and* not marked read-only (root ignores mode bits; we respect them)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return os.access(path, os.W_OK) and bool(st.st_mode & stat.S_IWUSR)


def first_existing(path: Path) -> Path:
    p = path
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p
