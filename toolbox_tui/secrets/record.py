"""The secrets record (`secrets.json` in the private state folder): which secret files, swarm
secrets and override toolbox-tui made for a project — names, paths, file identities and the
override's hash, never values — and removing exactly those.

Removal acts only on what the record names, and only on what is still what we left: a secret file
must be a regular file of ours, in the project's private secrets folder, with the same device,
inode and change time as we wrote it (an identity, not a hash: a hash of a short password
could be guessed); the override must have the hash we recorded. Anything else is kept and reported.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolbox_tui.atomic_files import atomic_write
from toolbox_tui.state_dir import SECRETS_RECORD_NAME, ensure_state_dir, file_sha256

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack

JOURNAL_NAME = SECRETS_RECORD_NAME


@dataclass(frozen=True)
class Removal:
    """What `remove_recorded` removed, and what it kept (path, why)."""

    removed: tuple[str, ...]
    kept: tuple[tuple[str, str], ...] = ()


def read_journal(stack: Stack) -> dict[str, Any]:
    """The secrets record of `stack` ({} when there is none or it is unreadable)."""
    try:
        data = json.loads((stack.state_dir / JOURNAL_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_journal(stack: Stack, journal: dict[str, Any]) -> None:
    """Write the record (0600) into the private state folder, creating it if needed."""
    sd = ensure_state_dir(stack.state_dir)
    atomic_write(sd / JOURNAL_NAME, (json.dumps(journal, indent=2) + "\n").encode(), mode=0o600)


def write_private_text(path: Path, text: str, mode: int = 0o600) -> None:
    """Write a file of ours into the private state folder (created if needed)."""
    ensure_state_dir(path.parent)
    atomic_write(path, text.encode("utf-8"), mode=mode)


def _identity(st: os.stat_result) -> list[int]:
    # the inode alone is not enough: a freed inode number is handed out again at once; the
    # change time (which no one can set back) tells a file written later apart
    return [st.st_dev, st.st_ino, st.st_ctime_ns]


def file_identity(path: Path | str) -> list[int] | None:
    """[device, inode, change time] of a regular file (no link followed), None otherwise."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return _identity(st) if stat.S_ISREG(st.st_mode) else None


def still_ours(path: Path, directory: Path | None, identity: Any) -> str:
    """'' when `path` is the secret file we wrote (same identity, ours, in `directory`), else
    why it is kept."""
    if directory is None or path.parent != directory:
        return f"not in the project's private secrets folder ({directory})"
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "gone"
    except OSError as exc:
        return exc.strerror or str(exc)
    if not stat.S_ISREG(st.st_mode):
        return "no longer a regular file"
    if st.st_uid != os.getuid():
        return f"owned by uid {st.st_uid}, not by you"
    if not isinstance(identity, list) or _identity(st) != identity:
        return "replaced since toolbox-tui wrote it"
    return ""


def expected_dir(stack: Stack) -> Path | None:
    """The private secrets folder toolbox-tui would use for this project (None if unknown)."""
    from toolbox_tui.secrets.files import _dir_name, secrets_base_dir

    try:
        return secrets_base_dir() / _dir_name(stack.name)
    except OSError:
        return None


def remove_recorded(stack: Stack) -> Removal:
    """Delete the secret files and the override our record names (when still ours), the
    project's secrets folder when that leaves it empty, and the record's file list."""
    removed: list[str] = []
    kept: list[tuple[str, str]] = []
    journal = read_journal(stack)
    directory = expected_dir(stack)
    recorded_dir = Path(journal["dir"]) if journal.get("dir") else directory
    if recorded_dir != directory:
        directory = None  # a record naming another folder is not followed
    ids = journal.get("file_ids") or {}
    for name, p in (journal.get("files") or {}).items():
        path = Path(str(p))
        why = still_ours(path, directory, ids.get(name))
        if why == "gone":
            continue
        if why:
            kept.append((str(path), why))
            continue
        _unlink(path)
        removed.append(str(path))
    if directory is not None:
        try:
            st = os.lstat(directory)
            if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid():
                left = sorted(os.listdir(directory))
                if left:
                    kept.extend((str(directory / n), "not recorded by toolbox-tui") for n in left)
                else:
                    os.rmdir(directory)
        except OSError:
            pass
    override = stack.secrets_override_path
    if os.path.lexists(override):
        if journal.get("override_sha256") and file_sha256(override) == journal["override_sha256"]:
            _unlink(override)
            removed.append(str(override))
        else:
            kept.append((str(override), "not the override toolbox-tui recorded"))
    if journal:
        keep = {k: v for k, v in journal.items() if k in ("swarm",)}
        jpath = stack.state_dir / JOURNAL_NAME
        if keep:
            write_journal(stack, keep)
        else:
            _unlink(jpath)
    return Removal(tuple(removed), tuple(kept))


def remove_materialized(stack: Stack) -> list[str]:
    """`remove_recorded`, returning the removed paths (callers that report kept paths use
    `remove_recorded`)."""
    return list(remove_recorded(stack).removed)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
