"""The private directory the secret files for Compose are written to: `$XDG_RUNTIME_DIR/toolbox-tui`
when that runtime dir is ours, else `/tmp/toolbox-tui-<uid>`; one 0700 folder per project, checked
to be ours and private before anything is written, and each value in a 0600 file written
atomically.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

from toolbox_tui.atomic_files import atomic_write
from toolbox_tui.errors import EXIT_FAIL, ToolboxError


class UnsafeSecretsDir(ToolboxError):
    """The private directory for secret files is not ours or not private. User-facing."""

    exit_code = EXIT_FAIL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.hint = "remove or fix that directory (it must be owned by you, mode 0700), then retry"

def _ensure_private_dir(path: Path) -> None:
    uid = os.getuid()
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise UnsafeSecretsDir(f"{path} is not a plain directory (a symlink or a file is there)")
    if st.st_uid != uid:
        raise UnsafeSecretsDir(f"{path} is owned by uid {st.st_uid}, not by you (uid {uid}); "
                               f"refusing to put secrets there")
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o700)

def secrets_base_dir() -> Path:
    """`$XDG_RUNTIME_DIR/toolbox-tui` when that runtime dir is ours, else `/tmp/toolbox-tui-<uid>`."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        rt = Path(runtime)
        try:
            st = os.stat(rt)
            if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not stat.S_IMODE(st.st_mode) & 0o077:
                return rt / "toolbox-tui"
        except OSError:
            pass
    return Path(tempfile.gettempdir()) / f"toolbox-tui-{os.getuid()}"

def _dir_name(project: str) -> str:
    return re.sub(r"[^a-z0-9_.-]", "_", project.lower())

def secrets_dir(project: str) -> Path:
    """The private directory for `project`'s secret files, created 0700 and checked."""
    base = secrets_base_dir()
    _ensure_private_dir(base)
    d = base / _dir_name(project)
    _ensure_private_dir(d)
    return d

def _file_name(name: str) -> str:
    """A plain file name for secret `name`: other characters become `_`, and a name starting with
    a dot (`.`, `..`, hidden names) gets a `_` first, so it never names a folder or hides."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "secret"
    return "_" + safe if safe.startswith(".") else safe


class SecretNameClash(ToolboxError):
    """Two secrets would be written to the same file. User-facing; names only."""

    exit_code = EXIT_FAIL

    def __init__(self, first: str, second: str, file: str) -> None:
        super().__init__(f"secrets {first!r} and {second!r} would both be written to the file "
                         f"{file!r} (names are made file-safe)")
        self.hint = "rename one of them in the Compose file's `secrets:` section, then retry"


def file_names(names: list[str]) -> dict[str, str]:
    """The file name of each secret; raises SecretNameClash when two map to the same one."""
    seen: dict[str, str] = {}
    for n in names:
        f = _file_name(n)
        if f in seen and seen[f] != n:
            raise SecretNameClash(seen[f], n, f)
        seen[f] = n
    return {n: f for f, n in seen.items()}


def secret_path(directory: Path, name: str) -> Path:
    """Where secret `name`'s file lives in `directory`."""
    return directory / _file_name(name)


def write_secret_file(directory: Path, name: str, value: str) -> Path:
    """Write `value` to `directory/name` as 0600, atomically (temp file + rename)."""
    dest = secret_path(directory, name)
    atomic_write(dest, value.encode("utf-8"), mode=0o600, keep_mode=False)
    return dest
