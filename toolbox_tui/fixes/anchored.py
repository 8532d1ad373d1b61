"""Directories opened from the repository root without following links, for race-safe fixes.

A fix writes into the user's repository, which the repository itself shaped: any directory on
the way to a target may be a symbolic link, or be swapped for one while the fix runs. So every
write and every removal goes through a directory file descriptor: the walk starts at the
(resolved) repository root and opens each component with `O_DIRECTORY | O_NOFOLLOW` relative to
the one before, then acts with `dir_fd=`. A link anywhere on the path is refused; right before a
rename or link into place the directory's real path is checked again (`/proc/self/fd`), so a
directory moved away meanwhile is refused too. A target outside the repository is refused unless
the run was allowed outside (`--allow-outside`), where the walk starts at `/`.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from toolbox_tui.fixes.runs import FixError
from toolbox_tui.paths import rel
from toolbox_tui.safe_read import sha256_file

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class LinkInTheWay(FixError):
    """A symbolic link (or a file) is where a directory on the target's path should be."""


class OutsideRepository(FixError):
    """A target outside the repository, and the run was not allowed outside."""


@dataclass
class Dir:
    """An open directory: `fd`, the path it was opened as, and its real path when opened."""

    fd: int
    path: Path
    real: str

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "Dir":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def verify(self) -> None:
        """Raise unless the directory is still where it was opened (not moved or swapped)."""
        try:
            now = os.readlink(f"/proc/self/fd/{self.fd}")
        except OSError:
            return  # no /proc: the O_NOFOLLOW walk is the guarantee
        if now != self.real or not os.path.samestat(os.fstat(self.fd), _lstat_or_none(self.real)):
            raise LinkInTheWay(f"{self.path} was moved or replaced while the fix ran; refusing to "
                               "write there", "Check that directory, then run `toolbox-tui fix` again.")


def _lstat_or_none(path: str) -> os.stat_result:
    try:
        return os.lstat(path)
    except OSError:
        return os.stat_result((0,) * 10)


def split_under(path: Path | str, root: Path | str) -> tuple[str, tuple[str, ...]] | None:
    """(real root, components) of `path` below `root` (compared as written, then resolved);
    None when it is not below it."""
    p = os.path.normpath(os.path.abspath(path))
    for base in (os.path.normpath(os.path.abspath(root)), os.path.realpath(root)):
        if p == base:
            return os.path.realpath(root), ()
        if p.startswith(base.rstrip(os.sep) + os.sep):
            parts = tuple(x for x in p[len(base):].split(os.sep) if x)
            return os.path.realpath(root), parts
    return None


def _refuse_link(parent_fd: int, name: str, shown: str) -> FixError:
    try:
        st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except OSError as exc:
        return FixError(f"{shown}: {exc.strerror}")
    if stat.S_ISLNK(st.st_mode):
        try:
            to = os.readlink(name, dir_fd=parent_fd)
        except OSError:
            to = "?"
        return LinkInTheWay(f"{shown} is a symbolic link (to {to}); refusing to write through it",
                            "Nothing was written through it. Replace the link with a real directory "
                            "(or remove it), then run `toolbox-tui fix` again.")
    return LinkInTheWay(f"{shown} is not a directory, so nothing can be created under it",
                        "Move that file away, then run `toolbox-tui fix` again.")


def open_dir(path: Path | str, root: Path | str, *, allow_outside: bool = False,
             created: list[dict[str, Any]] | None = None, missing_ok: bool = False) -> Dir | None:
    """Open directory `path` by walking from `root` without following links.

    With `created` (a list), missing directories are made (each recorded there as it is made);
    with `missing_ok`, a missing component returns None; otherwise it raises FileNotFoundError.
    Raises LinkInTheWay for a link or file on the way, OutsideRepository for a path outside
    `root` unless `allow_outside`.
    """
    split = split_under(path, root)
    if split is None:
        if not allow_outside:
            raise OutsideRepository(f"{path} is outside the repository ({root}); refusing to write there",
                                    "Pass --allow-outside if you mean it.")
        # allowed outside: the path as it resolves now, then walked without following links
        start, parts = "/", tuple(x for x in os.path.realpath(path).split(os.sep) if x)
    else:
        start, parts = split
    fd = os.open(start, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    here = Path(start)
    try:
        for name in parts:
            here = here / name
            try:
                nfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if missing_ok:
                    os.close(fd)
                    return None
                if created is None:
                    raise
                os.mkdir(name, dir_fd=fd)
                created.append({"path": str(here), "type": "dir"})
                nfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _refuse_link(fd, name, rel(here, root)) from None
                raise
            os.close(fd)
            fd = nfd
    except BaseException:
        os.close(fd)
        raise
    return Dir(fd, Path(path), os.path.realpath(f"/proc/self/fd/{fd}")
               if os.path.exists(f"/proc/self/fd/{fd}") else str(here))


def check_path(path: Path | str, root: Path | str, *, allow_outside: bool) -> None:
    """Preflight: raise unless every existing directory from `root` to `path` is a real one
    (no link, no file) and `path` is inside `root` (or the run is allowed outside)."""
    split = split_under(path, root)
    if split is None:
        if not allow_outside:
            raise OutsideRepository(f"{path} is outside the repository ({root}); refusing to write there",
                                    "Pass --allow-outside if you mean it.")
        return
    d = open_dir(path, root, missing_ok=True)
    if d is not None:
        d.close()


def lstat_in(d: Dir, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=d.fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def sha256_in(d: Dir, name: str) -> str | None:
    """Hash of the regular file `name` in `d` (no link followed); None when absent or not one."""
    return sha256_file(name, follow=False, dir_fd=d.fd)


def _tmp_name(name: str) -> str:
    return f".{name[:80]}.{secrets.token_hex(4)}.tbx-tmp"


def _write_all(fd: int, chunks: Iterator[bytes]) -> None:
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view):]


def _file_chunks(src: Path) -> Iterator[bytes]:
    with open(src, "rb") as fh:
        while chunk := fh.read(1 << 20):
            yield chunk


def put_file(d: Dir, name: str, *, data: bytes | None = None, src: Path | None = None,
             mode: int | None = None, replace: bool = False, like: os.stat_result | None = None) -> None:
    """Write `data` (or a copy of `src`, with its mode and times) to `d/name` via a temp file,
    fsync, then into place: `replace` renames over the old file (keeping `like`'s mode and
    owner), otherwise a hard link refuses to clobber anything that appeared meanwhile."""
    tmp = _tmp_name(name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=d.fd)
    try:
        try:
            _write_all(fd, iter((data,)) if data is not None else _file_chunks(src))  # type: ignore[arg-type]
            src_st = os.stat(src) if src is not None else None
            if like is not None:
                os.fchmod(fd, stat.S_IMODE(like.st_mode))
                try:
                    if (like.st_uid, like.st_gid) != (os.getuid(), os.getgid()):
                        os.fchown(fd, like.st_uid, like.st_gid)
                except PermissionError:
                    pass
            elif mode is not None:
                os.fchmod(fd, mode)
            elif src_st is not None:
                os.fchmod(fd, stat.S_IMODE(src_st.st_mode) & 0o777)
            else:
                os.fchmod(fd, 0o644)
            if src_st is not None:
                os.utime(fd, ns=(src_st.st_atime_ns, src_st.st_mtime_ns))
            os.fsync(fd)
        finally:
            os.close(fd)
        d.verify()
        if replace:
            os.replace(tmp, name, src_dir_fd=d.fd, dst_dir_fd=d.fd)
            tmp = ""
        else:
            os.link(tmp, name, src_dir_fd=d.fd, dst_dir_fd=d.fd, follow_symlinks=False)
    finally:
        if tmp:
            try:
                os.unlink(tmp, dir_fd=d.fd)
            except OSError:
                pass
    try:
        os.fsync(d.fd)
    except OSError:
        pass


def copy_tree(d: Dir, name: str, src: Path) -> None:
    """Copy directory `src` to the new `d/name` (built under a temp name, then renamed)."""
    tmp = _tmp_name(name)
    os.mkdir(tmp, 0o700, dir_fd=d.fd)
    try:
        tfd = os.open(tmp, _DIR_FLAGS, dir_fd=d.fd)
        try:
            _copy_into(tfd, src)
            os.fchmod(tfd, stat.S_IMODE(os.stat(src).st_mode))
        finally:
            os.close(tfd)
        d.verify()
        if lstat_in(d, name) is not None:
            raise FileExistsError(errno.EEXIST, "exists", str(d.path / name))
        os.rename(tmp, name, src_dir_fd=d.fd, dst_dir_fd=d.fd)
    except BaseException:
        _remove_tree(d.fd, tmp)
        raise


def _copy_into(dfd: int, src: Path) -> None:
    for entry in sorted(os.scandir(src), key=lambda e: e.name):
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), entry.name, dir_fd=dfd)
        elif entry.is_dir():
            os.mkdir(entry.name, 0o700, dir_fd=dfd)
            cfd = os.open(entry.name, _DIR_FLAGS, dir_fd=dfd)
            try:
                _copy_into(cfd, Path(entry.path))
                os.fchmod(cfd, stat.S_IMODE(entry.stat().st_mode))
            finally:
                os.close(cfd)
        else:
            fd = os.open(entry.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                         dir_fd=dfd)
            try:
                _write_all(fd, _file_chunks(Path(entry.path)))
                st = os.stat(entry.path)
                os.fchmod(fd, stat.S_IMODE(st.st_mode))
                os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
            finally:
                os.close(fd)


def _remove_tree(dfd: int, name: str) -> None:
    """Best effort: remove `name` (a tree we built) in `dfd`, never following a link."""
    try:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except OSError:
        return
    if not stat.S_ISDIR(st.st_mode):
        try:
            os.unlink(name, dir_fd=dfd)
        except OSError:
            pass
        return
    try:
        cfd = os.open(name, _DIR_FLAGS, dir_fd=dfd)
    except OSError:
        return
    try:
        for child in os.listdir(cfd):
            _remove_tree(cfd, child)
    finally:
        os.close(cfd)
    try:
        os.rmdir(name, dir_fd=dfd)
    except OSError:
        pass


def tree_entries(d: Dir, name: str, path: Path) -> list[dict[str, Any]]:
    """Everything under a copied directory `d/name` (= `path`), parents first, with file hashes
    and link texts for a safe undo; read through the directory descriptors."""
    out: list[dict[str, Any]] = [{"path": str(path), "type": "dir"}]
    fd = os.open(name, _DIR_FLAGS, dir_fd=d.fd)
    try:
        _entries(Dir(fd, path, ""), path, out)
    finally:
        os.close(fd)
    return out


def _entries(d: Dir, path: Path, out: list[dict[str, Any]]) -> None:
    for child in sorted(os.listdir(d.fd)):
        st = os.stat(child, dir_fd=d.fd, follow_symlinks=False)
        p = path / child
        if stat.S_ISLNK(st.st_mode):
            out.append({"path": str(p), "type": "symlink", "link": os.readlink(child, dir_fd=d.fd)})
        elif stat.S_ISDIR(st.st_mode):
            out.append({"path": str(p), "type": "dir"})
            cfd = os.open(child, _DIR_FLAGS, dir_fd=d.fd)
            try:
                _entries(Dir(cfd, p, ""), p, out)
            finally:
                os.close(cfd)
        else:
            out.append({"path": str(p), "type": "file", "sha256": sha256_in(d, child)})
