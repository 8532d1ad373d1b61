"""Undo: restore what the newest applied fix run changed, byte for byte, from its backups and
journal; what changed since the run is kept and reported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from toolbox_tui.atomic_files import atomic_write, sha256_file
from toolbox_tui.fixes.runs import JOURNAL, RUNS_DIR, FixError, list_runs


@dataclass(frozen=True)
class UndoResult:
    run_dir: str
    restored: tuple[str, ...]
    removed: tuple[str, ...]
    kept: tuple[str, ...] = ()
    """Created paths left in place because they were no longer ours to remove (e.g. a directory
    that now holds other files)."""

    def to_json(self) -> dict[str, Any]:
        return {"run_dir": self.run_dir, "restored": list(self.restored),
                "removed": list(self.removed), "kept": list(self.kept)}


def _revert(entries: list[dict[str, Any]], *, strict: bool) -> UndoResult:
    """Undo journal entries in reverse. With `strict` (user undo), created files whose content
    changed are kept and reported rather than deleted."""
    restored: list[str] = []
    removed: list[str] = []
    kept: list[str] = []
    for entry in reversed(entries):
        if entry.get("backup"):
            target = Path(entry["target"])
            if sha256_file(target) != entry["sha256_before"]:
                atomic_write(target, Path(entry["backup"]).read_bytes())
                restored.append(str(target))
        for item in reversed(entry.get("created", [])):
            p = Path(item["path"])
            try:
                if item["type"] == "dir":
                    if p.is_dir() and not p.is_symlink():
                        os.rmdir(p)
                        removed.append(str(p))
                elif os.path.lexists(p):
                    if item["type"] == "file" and strict and item.get("sha256") \
                            and sha256_file(p) != item["sha256"]:
                        kept.append(str(p))
                        continue
                    os.unlink(p)
                    removed.append(str(p))
            except OSError:
                kept.append(str(p))
        gone = entry.get("removed_dir")
        if gone and not os.path.lexists(gone["path"]):
            os.mkdir(gone["path"])
            os.chmod(gone["path"], gone["mode"])
            try:
                os.chown(gone["path"], gone["uid"], gone["gid"])
            except PermissionError:
                pass
            restored.append(gone["path"])
    return UndoResult("", tuple(restored), tuple(removed), tuple(kept))


def undo(state_dir: Path) -> UndoResult:
    """Restore the newest applied run byte-for-byte and mark it undone. Raises FixError."""
    for run_dir, journal in list_runs(state_dir):
        # `applying` = a run killed half-way (power loss, kill -9): undo finishes its rollback.
        if journal.get("status") in ("applied", "applying"):
            break
    else:
        raise FixError("there is no applied fix run to undo",
                       f"Runs are recorded under {Path(state_dir) / RUNS_DIR}.")
    entries = journal.get("actions", [])
    changed = []
    for entry in entries:
        if entry.get("backup"):
            now = sha256_file(Path(entry["target"]))
            if now != entry.get("sha256_after") and (entry.get("done") or now != entry["sha256_before"]):
                changed.append(entry["target"])
            if not Path(entry["backup"]).is_file():
                raise FixError(f"the backup {entry['backup']} is missing; cannot undo safely",
                               f"Restore {entry['target']} by hand (e.g. from git).")
    if changed:
        raise FixError("changed after the fix, so undo would throw those edits away: "
                       + ", ".join(changed),
                       f"Backups of the originals are in {run_dir / 'backups'}; copy back what you need.")
    result = _revert(entries, strict=True)
    journal["status"] = "undone"
    journal["undone_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    journal["undo"] = {"restored": list(result.restored), "removed": list(result.removed),
                       "kept": list(result.kept)}
    atomic_write(run_dir / JOURNAL, (json.dumps(journal, indent=2, ensure_ascii=False) + "\n").encode())
    return UndoResult(str(run_dir), result.restored, result.removed, result.kept)
