"""Undo: restore what the newest applied fix run changed, byte for byte, from its backups and
journal; what changed since the run is kept and reported.

Only runs in the user's private state folder are ever read (`toolbox_tui.state_dir`), and even
those are not taken on trust: each recorded path is checked to be inside the repository the run
recorded (unless the run was allowed outside), and to still be what the run left there — same
type (no link followed), same content hash, same link text — before anything is removed or
restored. All of it goes through directories opened from the root without following links
(`fixes.anchored`). A directory Docker had left and the run replaced is recreated as a plain
directory of the user's (never with a recorded owner or mode).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from toolbox_tui.atomic_files import atomic_write
from toolbox_tui.fixes.anchored import Dir, lstat_in, open_dir, put_file, sha256_in
from toolbox_tui.fixes.runs import JOURNAL, JOURNAL_VERSION, RUNS_DIR, FixError, list_runs

RECREATED_DIR_MODE = 0o755
"""A directory put back by undo: the user's own, at most 0755 (the umask may narrow it)."""


@dataclass(frozen=True)
class UndoResult:
    run_dir: str
    restored: tuple[str, ...]
    removed: tuple[str, ...]
    kept: tuple[str, ...] = ()
    """Recorded paths left in place because they were no longer ours to touch (changed, replaced,
    not empty, a link on the way, outside the repository)."""
    why: dict[str, str] = field(default_factory=dict)
    """Why each kept path was kept."""

    def to_json(self) -> dict[str, Any]:
        return {"run_dir": self.run_dir, "restored": list(self.restored),
                "removed": list(self.removed), "kept": list(self.kept),
                "kept_why": dict(self.why)}


class _Walker:
    """Opens recorded paths' parents from the run's root, refusing what the run may not touch."""

    def __init__(self, journal: dict[str, Any]) -> None:
        self.root = str(journal.get("root") or "")
        self.allow_outside = bool(journal.get("allow_outside"))

    def parent(self, path: Path) -> tuple[Dir | None, str]:
        """(open parent, '') or (None, why it cannot be touched)."""
        if not self.root:
            return None, "the run recorded no repository root"
        try:
            return open_dir(path.parent, self.root, allow_outside=self.allow_outside,
                            missing_ok=True), ""
        except FixError as exc:
            return None, str(exc)
        except OSError as exc:
            return None, exc.strerror or str(exc)


def _still_there(d: Dir, item: dict[str, Any], name: str, strict: bool) -> str:
    """'' when `name` in `d` is still what the run created, else why not ('gone' when absent)."""
    st = lstat_in(d, name)
    if st is None:
        return "gone"
    kind = item.get("type")
    if kind == "dir":
        return "" if stat.S_ISDIR(st.st_mode) else "no longer the directory the fix created"
    if kind == "symlink":
        if not stat.S_ISLNK(st.st_mode):
            return "no longer the symbolic link the fix created (something replaced it)"
        if item.get("link") is not None and os.readlink(name, dir_fd=d.fd) != item["link"]:
            return "the link points somewhere else now"
        return ""
    if kind == "file":
        if not stat.S_ISREG(st.st_mode):
            return "no longer the file the fix created"
        if strict and item.get("sha256") and sha256_in(d, name) != item["sha256"]:
            return "changed since the fix"
        return ""
    return f"unknown recorded type {kind!r}"


def _remove_created(item: dict[str, Any], walker: _Walker, strict: bool,
                    removed: list[str], kept: dict[str, str]) -> None:
    p = Path(item["path"])
    d, why = walker.parent(p)
    if d is None:
        if why:
            kept[str(p)] = why
        return
    with d:
        why = _still_there(d, item, p.name, strict)
        if why == "gone":
            return
        if why:
            kept[str(p)] = why
            return
        try:
            if item["type"] == "dir":
                os.rmdir(p.name, dir_fd=d.fd)
            else:
                os.unlink(p.name, dir_fd=d.fd)
            removed.append(str(p))
        except OSError as exc:
            kept[str(p)] = ("not empty (it holds files the fix did not create)"
                            if item["type"] == "dir" else exc.strerror or str(exc))


def _restore_backup(entry: dict[str, Any], walker: _Walker, run_dir: Path | None,
                    restored: list[str], kept: dict[str, str]) -> None:
    target = Path(entry["target"])
    backup = Path(entry["backup"])
    if run_dir is not None and backup.parent != run_dir / "backups":
        kept[str(target)] = f"its recorded backup {backup} is not in the run's folder"
        return
    d, why = walker.parent(target)
    if d is None:
        kept[str(target)] = why or "its folder is gone"
        return
    with d:
        st = lstat_in(d, target.name)
        if st is None or not stat.S_ISREG(st.st_mode):
            kept[str(target)] = "no longer a regular file (not restored over)"
            return
        if sha256_in(d, target.name) != entry["sha256_before"]:
            put_file(d, target.name, data=backup.read_bytes(), replace=True, like=st)
            restored.append(str(target))


def _recreate_dir(gone: dict[str, Any], walker: _Walker, restored: list[str],
                  kept: dict[str, str]) -> None:
    p = Path(gone["path"])
    d, why = walker.parent(p)
    if d is None:
        if why:
            kept[str(p)] = why
        return
    with d:
        if lstat_in(d, p.name) is None:
            os.mkdir(p.name, RECREATED_DIR_MODE, dir_fd=d.fd)
            restored.append(str(p))


def _revert(entries: list[dict[str, Any]], journal: dict[str, Any], *, strict: bool,
            run_dir: Path | None = None) -> UndoResult:
    """Undo journal entries in reverse. With `strict` (user undo), created files whose content
    changed are kept and reported rather than deleted; anything of another type, or reached
    through a link, is always kept."""
    walker = _Walker(journal)
    restored: list[str] = []
    removed: list[str] = []
    kept: dict[str, str] = {}
    for entry in reversed(entries):
        if entry.get("backup"):
            _restore_backup(entry, walker, run_dir, restored, kept)
        for item in reversed(entry.get("created", [])):
            _remove_created(item, walker, strict, removed, kept)
        if entry.get("removed_dir"):
            _recreate_dir(entry["removed_dir"], walker, restored, kept)
    return UndoResult("", tuple(restored), tuple(removed), tuple(kept), kept)


def _current_hash(target: Path, walker: _Walker) -> str | None:
    d, _why = walker.parent(target)
    if d is None:
        return None
    with d:
        return sha256_in(d, target.name)


def undo(state_dir: Path) -> UndoResult:
    """Restore the newest applied run byte-for-byte and mark it undone. Raises FixError."""
    for run_dir, journal in list_runs(state_dir):
        # `applying` = a run killed half-way (power loss, kill -9): undo finishes its rollback.
        if journal.get("status") in ("applied", "applying"):
            break
    else:
        raise FixError("there is no applied fix run to undo",
                       f"Runs are recorded under {Path(state_dir) / RUNS_DIR}.")
    if journal.get("version") != JOURNAL_VERSION or not journal.get("root"):
        raise FixError(f"the fix run {run_dir} was recorded by another toolbox-tui version; "
                       "not undoing it", f"Its backups are in {run_dir / 'backups'}; restore by hand.")
    walker = _Walker(journal)
    entries = journal.get("actions", [])
    changed = []
    for entry in entries:
        if entry.get("backup"):
            now = _current_hash(Path(entry["target"]), walker)
            if now != entry.get("sha256_after") and (entry.get("done") or now != entry["sha256_before"]):
                changed.append(entry["target"])
            if not Path(entry["backup"]).is_file():
                raise FixError(f"the backup {entry['backup']} is missing; cannot undo safely",
                               f"Restore {entry['target']} by hand (e.g. from git).")
    if changed:
        raise FixError("changed after the fix, so undo would throw those edits away: "
                       + ", ".join(changed),
                       f"Backups of the originals are in {run_dir / 'backups'}; copy back what you need.")
    result = _revert(entries, journal, strict=True, run_dir=run_dir)
    journal["status"] = "undone"
    journal["undone_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    journal["undo"] = {"restored": list(result.restored), "removed": list(result.removed),
                       "kept": list(result.kept), "kept_why": dict(result.why)}
    atomic_write(run_dir / JOURNAL, (json.dumps(journal, indent=2, ensure_ascii=False) + "\n").encode())
    return UndoResult(str(run_dir), result.restored, result.removed, result.kept, result.why)
