"""Where toolbox-tui keeps what it writes for a repository and later reads back: fix runs
(backups and journals), the secrets record, the generated secrets override, the wizard's resume
state. `Stack.state_dir` is this folder for a loaded project.

It lives in the user's private state directory, never in the repository: a repository can commit
any file, so nothing under it may be read back as our own state. The folder is
`$XDG_STATE_HOME/toolbox-tui/<basename>-<sha256(root)[:12]>/` (`~/.local/state` when
`XDG_STATE_HOME` is unset or not absolute), keyed by the canonical repository root, with a
`root.txt` naming that root for humans. Every folder from `toolbox-tui/` down is created 0700 and
refused when it is a symbolic link, is owned by someone else, or others may write to it.

A `.toolbox-tui/` folder in the repository (written by versions before this one, or shipped by the
repository) is never read; `legacy_state_dir` finds it so the user can be told once.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

from toolbox_tui.errors import EXIT_FAIL, ToolboxError
from toolbox_tui.safe_read import sha256_file

APP_DIR_NAME = "toolbox-tui"
"""The folder under the state home holding one folder per repository."""
STATE_DIR_NAME = ".toolbox-tui"
"""Where earlier versions kept state, at the repository root. Never read as state."""
SECRETS_OVERRIDE_NAME = "compose.secrets.yml"
"""The generated override that turns external secrets into file secrets for `docker compose`."""
SECRETS_RECORD_NAME = "secrets.json"
"""Which secret files / swarm secrets / override we made (names, paths, hashes; never values)."""
ROOT_NOTE = "root.txt"
"""Names the repository a state folder belongs to (for a human cleaning up)."""
LEGACY_NOTICE = ".legacy-noticed"
"""Marker: the user was told that the repository's `.toolbox-tui/` is ignored."""

_ROOTS: dict[Path, Path] = {}
"""State folders computed so far -> their repository roots (so `ensure_state_dir` can write
`root.txt` for a folder it was given by path)."""


class UnsafeStateDir(ToolboxError):
    """The private state folder is not private (a link, someone else's, writable by others)."""

    exit_code = EXIT_FAIL

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"the toolbox-tui state folder {path} {why}; refusing to use it")
        self.hint = (f"check what is there (`ls -la {path.parent}`); if it is not yours to keep, "
                     f"move it away, then run the command again (toolbox-tui creates it 0700)")
        self.path = path


def state_home() -> Path:
    """`$XDG_STATE_HOME` when it is an absolute path, else `~/.local/state` (the XDG default)."""
    xdg = os.environ.get("XDG_STATE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg)
    return Path(os.path.expanduser("~")) / ".local" / "state"


def app_state_dir() -> Path:
    """`<state home>/toolbox-tui`: every repository's state folder is directly under it."""
    return state_home() / APP_DIR_NAME


def canonical_root(root: Path | str) -> Path:
    """The repository root as the key sees it: absolute, every link resolved."""
    return Path(os.path.realpath(root))


def state_dir_for(root: Path | str) -> Path:
    """The private state folder of the repository rooted at `root` (not created here)."""
    real = canonical_root(root)
    digest = hashlib.sha256(os.fsencode(real)).hexdigest()[:12]
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in real.name)[:40] or "root"
    path = app_state_dir() / f"{name}-{digest}"
    _ROOTS[path] = real
    return path


def secrets_override_for(root: Path | str) -> Path:
    """Where the generated secrets override of that repository lives (in its state folder)."""
    return state_dir_for(root) / SECRETS_OVERRIDE_NAME


def is_secrets_override(path: Path) -> bool:
    """Whether `path` is a generated secrets override (in some repository's private state folder)."""
    p = Path(path)
    return p.name == SECRETS_OVERRIDE_NAME and p.parent.parent == app_state_dir()


def _check_private(path: Path) -> bool:
    """Raise UnsafeStateDir unless `path` is absent or a private directory of ours. Returns
    whether it exists."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeStateDir(path, f"is a symbolic link (to {os.readlink(path)})")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeStateDir(path, "is not a directory")
    if st.st_uid != os.getuid():
        raise UnsafeStateDir(path, f"is owned by uid {st.st_uid}, not by you (uid {os.getuid()})")
    if stat.S_IMODE(st.st_mode) & 0o022:
        raise UnsafeStateDir(path, f"can be written by others (mode {stat.S_IMODE(st.st_mode):04o})")
    return True


def _chain(path: Path) -> list[Path]:
    app = app_state_dir()
    path = Path(path)
    if path.parent != app:
        raise UnsafeStateDir(path, f"is not a state folder directly under {app}")
    return [app, path]


def checked_state_dir(path: Path) -> Path:
    """`path` (a folder from `state_dir_for`) after checking it and `toolbox-tui/` above it are
    private when they exist; nothing is created. Raises UnsafeStateDir."""
    for p in _chain(path):
        if not _check_private(p):
            break
    return Path(path)


def _tighten(path: Path) -> None:
    """A folder of ours that others may read (0755, e.g. made by `mkdir -p`) becomes 0700: it
    holds backups of the user's files and the secrets record."""
    mode = stat.S_IMODE(os.lstat(path).st_mode)
    if mode & 0o077:
        os.chmod(path, mode & 0o700)


def ensure_state_dir(path: Path) -> Path:
    """Create `path` (and `toolbox-tui/` above it) 0700 if missing, check each is private and
    ours, and write `root.txt`. Returns `path`. Raises UnsafeStateDir, OSError."""
    path = Path(path)
    home = state_home()
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    for p in _chain(path):
        if not _check_private(p):
            try:
                os.mkdir(p, 0o700)
            except FileExistsError:
                pass
            _check_private(p)
        _tighten(p)
    root = _ROOTS.get(path)
    note = path / ROOT_NOTE
    if root is not None and not os.path.lexists(note):
        from toolbox_tui.atomic_files import atomic_write

        atomic_write(note, f"{root}\n".encode(), mode=0o600)
    return path


def file_sha256(path: Path) -> str | None:
    """sha256 of a regular file (no links followed); None when absent or not a regular file."""
    return sha256_file(path, follow=False)


def recorded_override(root: Path | str) -> Path | None:
    """The generated secrets override of this repository, when it is in our state folder and our
    secrets record says we wrote exactly these bytes; None otherwise (never a file the
    repository ships)."""
    sd = state_dir_for(root)
    try:
        checked_state_dir(sd)
        record = json.loads((sd / SECRETS_RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnsafeStateDir):
        return None
    override = sd / SECRETS_OVERRIDE_NAME
    want = record.get("override_sha256") if isinstance(record, dict) else None
    if not want or file_sha256(override) != want:
        return None
    return override


def legacy_state_dir(root: Path | str) -> Path | None:
    """The repository's own `.toolbox-tui/` (old state, or shipped by the repository) if there
    is anything by that name; it is never read."""
    p = Path(root) / STATE_DIR_NAME
    return p if os.path.lexists(p) else None


LEGACY_WHY = ("toolbox-tui no longer reads state from the repository (a repository can ship any "
              "file there, including fix journals and secrets records)")


def legacy_hint(root: Path | str) -> str:
    """What to do about an ignored in-repo `.toolbox-tui/`."""
    p = Path(root) / STATE_DIR_NAME
    return (f"its state now lives in {state_dir_for(root)}; if {p} is yours (left by an older "
            f"toolbox-tui), check it and delete it (`rm -rf {p}`); if the repository ships it, "
            "it has no effect")


def legacy_notice_once(root: Path | str) -> str | None:
    """A one-line notice about an ignored in-repo `.toolbox-tui/`, the first time only for this
    repository (a marker in the private state folder remembers); None otherwise."""
    legacy = legacy_state_dir(root)
    if legacy is None:
        return None
    sd = state_dir_for(root)
    marker = sd / LEGACY_NOTICE
    try:
        ensure_state_dir(sd)
        if os.path.lexists(marker):
            return None
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.close(fd)
    except (OSError, UnsafeStateDir):
        pass
    return f"ignored {legacy}: {LEGACY_WHY}; {legacy_hint(root)}."
