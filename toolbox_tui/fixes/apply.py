"""Carry out a fix plan safely: check everything first, back up, write atomically, journal, undo.

Order of a run: (1) preflight every action without touching anything — hashes still match the
plan, sources still exist, targets still absent, files writable; (2) create the run directory
`state_dir/runs/<UTC timestamp>/` with a backup of every existing file the run will touch and a
`journal.json`; (3) do the actions one by one, journalling after each; (4) on any failure, undo
what this run did in reverse order, so the user is never left with half a fix.

`undo()` reads the newest run that is still applied and puts everything back byte-for-byte:
edited files from their backups, created files/links/directories removed, a directory Docker had
left (and we replaced) recreated. It refuses when something was changed after the run, because
restoring would silently throw that change away.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from toolbox_tui import safe_read
from toolbox_tui.atomic_files import (
    atomic_write, disk_full_hint, first_existing, is_disk_full, sha256_file, writable,
)
from toolbox_tui.fixes.anchored import (check_path, copy_tree, lstat_in, open_dir, put_file,
                                        sha256_in, tree_entries)
from toolbox_tui.fixes.plan import FixAction, FixPlan
from toolbox_tui.fixes.runs import JOURNAL, JOURNAL_VERSION, RUNS_DIR, FixError
from toolbox_tui.fixes.undo import _revert
from toolbox_tui.fixes.yaml_edit import EditError, ScalarEdit, rewrite_scalars
from toolbox_tui.paths import rel
from toolbox_tui.state_dir import UnsafeStateDir, ensure_state_dir

TEMPLATE_MODE = 0o600
"""Files made from a template (`.env`) are about to receive secrets: owner-only from the start."""


@dataclass(frozen=True)
class ApplyResult:
    """What a run did."""

    run_dir: str | None
    actions: tuple[dict[str, Any], ...]
    """Journal entries of the actions carried out."""

    def to_json(self) -> dict[str, Any]:
        return {"run_dir": self.run_dir, "actions": list(self.actions)}


# --- preflight ---------------------------------------------------------------------------------


def _replan(msg: str) -> FixError:
    return FixError(msg, "Nothing was changed. Run `toolbox-tui fix` again to make a fresh plan.")


def preflight(plan: FixPlan) -> dict[int, bytes]:
    """Raise FixError (nothing changed) unless every action can still be carried out as planned.

    Returns the new bytes of every rewrite, computed now from the verified current content.
    """
    rewritten: dict[int, bytes] = {}
    for i, action in enumerate(plan.actions):
        target = Path(action.target)
        shown = rel(target, plan.root)
        check_path(target.parent, plan.root, allow_outside=plan.allow_outside)
        try:
            os.lstat(target)
            exists = True
        except FileNotFoundError:
            exists = False
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise FixError(f"{shown}: a symbolic link loop is in the way",
                               "Remove the looping link, then plan again.") from None
            raise FixError(f"{shown}: {exc.strerror}") from None
        if action.source is not None:
            src = Path(action.source)
            if not os.path.exists(src):
                raise _replan(f"{rel(src, plan.root)} (the source of `{action.kind}`) no longer exists")
            if action.source_sha256 is not None and sha256_file(src) != action.source_sha256:
                raise _replan(f"{rel(src, plan.root)} changed since the plan was made")
            if not os.access(src, os.R_OK):
                raise FixError(f"{rel(src, plan.root)}: permission denied reading it",
                               "Fix its permissions or choose another candidate.")
        if action.kind == "rewrite":
            if os.path.islink(target):
                raise FixError(f"{shown} is a symbolic link (to {os.readlink(target)}); refusing to "
                               "rewrite through it", "Nothing was changed. Choose the copy fix "
                               "(--choose ID=copy), or edit the file the link points to yourself.")
            if not exists or not target.is_file():
                raise _replan(f"{shown} no longer exists")
            if sha256_file(target) != action.target_sha256:
                raise _replan(f"{shown} changed since the plan was made")
            if not writable(target):
                raise FixError(f"{shown} is read-only; nothing was changed",
                               f"Make it writable (chmod u+w {shown}) or choose the copy fix "
                               "(--choose ID=copy), which leaves the compose file alone.")
            if not writable(target.parent):
                raise FixError(f"{rel(target.parent, plan.root)} is not writable, so {shown} "
                               "cannot be replaced atomically", "Fix the directory's permissions.")
            data = safe_read.read_bytes(target, safe_read.COMPOSE)
            try:
                rewritten[i] = rewrite_scalars(
                    data, [ScalarEdit(e.line, e.column, e.new_text, e.volume_src) for e in action.edits],
                    file=shown)
            except EditError as exc:
                raise FixError(f"{exc.where or shown}: {exc}", exc.hint or "Plan again.") from None
            continue
        if action.kind == "replace_dir":
            if not target.is_dir() or target.is_symlink():
                raise _replan(f"{shown} is no longer a directory")
            if any(os.scandir(target)):
                raise FixError(f"{shown} is a directory with files in it, not the empty one Docker "
                               "leaves behind; refusing to replace it",
                               "Look inside, move what you need, remove it, then run fix again.")
        elif exists:
            raise _replan(f"{shown} exists now (it did not when the plan was made)")
        parent = first_existing(target.parent)
        if not parent.is_dir():
            raise FixError(f"{rel(parent, plan.root)} is a file, so {shown} cannot be created under it",
                           "Move that file away or choose the rewrite fix.")
        if not writable(parent):
            raise FixError(f"{rel(parent, plan.root)} is not writable, so {shown} cannot be created",
                           "Fix the directory's permissions, or choose the rewrite fix.")
    return rewritten


# --- running -----------------------------------------------------------------------------------


@dataclass
class _Run:
    run_dir: Path
    journal: dict[str, Any]
    entries: list[dict[str, Any]] = field(default_factory=list)

    def save(self) -> None:
        atomic_write(self.run_dir / JOURNAL,
                     (json.dumps(self.journal, indent=2, ensure_ascii=False) + "\n").encode())


def _new_run_dir(state_dir: Path) -> Path:
    runs = ensure_state_dir(Path(state_dir)) / RUNS_DIR
    try:
        os.mkdir(runs, 0o700)
    except FileExistsError:
        if os.path.islink(runs) or not runs.is_dir():
            raise FixError(f"{runs} is not a plain directory; refusing to keep fix runs there",
                           f"Move it away (it is in toolbox-tui's private state folder), then run "
                           "again.") from None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    run_dir = runs / stamp
    n = 1
    while True:
        try:
            run_dir.mkdir(mode=0o700)
            return run_dir
        except FileExistsError:
            n += 1
            run_dir = runs / f"{stamp}-{n:03d}"


def _do(action: FixAction, entry: dict[str, Any], new_bytes: bytes | None, plan: FixPlan) -> None:
    """Carry out one action through directory descriptors opened from the repository root (no
    link followed), recording each created path in `entry` as soon as it exists."""
    target = Path(action.target)
    created: list[dict[str, Any]] = entry["created"]
    name = target.name
    make = created if action.kind != "rewrite" else None
    with open_dir(target.parent, plan.root, allow_outside=plan.allow_outside, created=make) as d:
        assert d is not None
        if action.kind == "rewrite":
            assert new_bytes is not None
            st = lstat_in(d, name)
            if st is None or not stat.S_ISREG(st.st_mode):
                raise FixError(f"{rel(target, plan.root)} is no longer a regular file")
            put_file(d, name, data=new_bytes, replace=True, like=st)
            entry["sha256_after"] = sha256_in(d, name)
            return
        if action.kind == "replace_dir":
            os.rmdir(name, dir_fd=d.fd)  # only an empty real directory: its mode is in the journal
        if action.kind == "mkdir":
            os.mkdir(name, dir_fd=d.fd)
            created.append({"path": str(target), "type": "dir"})
        elif action.kind == "symlink":
            assert action.source is not None
            link = os.path.relpath(os.path.realpath(action.source), d.real or os.path.realpath(target.parent))
            d.verify()
            os.symlink(link, name, dir_fd=d.fd)
            created.append({"path": str(target), "type": "symlink", "link": link})
        elif action.kind in ("copy", "template", "replace_dir"):
            assert action.source is not None
            src = Path(action.source)
            if src.is_dir():
                copy_tree(d, name, src)
                created.extend(tree_entries(d, name, target))
            else:
                put_file(d, name, src=src, mode=TEMPLATE_MODE if action.kind == "template" else None)
                created.append({"path": str(target), "type": "file", "sha256": sha256_in(d, name)})
        else:
            raise FixError(f"unknown fix kind {action.kind!r}")
        entry["sha256_after"] = sha256_in(d, name)


def apply_plan(plan: FixPlan, state_dir: Path, *,
               before_action: Callable[[int, FixAction], None] | None = None) -> ApplyResult:
    """Apply every action of `plan` or none of them. Raises FixError.

    `before_action(i, action)` is called before each action (the wizard shows progress with it;
    tests inject failures with it).
    """
    if not plan.actions:
        return ApplyResult(None, ())
    rewritten = preflight(plan)
    try:
        run_dir = _new_run_dir(state_dir)
    except UnsafeStateDir as exc:
        raise FixError(str(exc), f"{exc.hint}; nothing was changed.") from None
    except OSError as exc:
        hint = (disk_full_hint(state_dir) if is_disk_full(exc)
                else f"Make {state_dir} writable")
        raise FixError(f"cannot create the backup directory under {state_dir}: {exc.strerror}",
                       f"{hint[0].upper()}{hint[1:]}; nothing was changed.") from None
    run = _Run(run_dir, {
        "version": JOURNAL_VERSION,
        "status": "applying",
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "project_dir": plan.project_dir,
        "root": plan.root,
        "allow_outside": plan.allow_outside,
        "actions": [],
    })
    try:
        _back_up(plan, run)
    except BaseException as exc:  # nothing changed yet: leave no half-written backup behind
        shutil.rmtree(run_dir, ignore_errors=True)
        if not isinstance(exc, OSError):
            raise
        where = exc.filename or run_dir
        hint = disk_full_hint(where) if is_disk_full(exc) else "Fix the cause and run again"
        raise FixError(f"cannot write {where} (backups before any change): {exc.strerror or exc}",
                       f"{hint[0].upper()}{hint[1:]}; nothing was changed.",
                       run_dir=None) from None

    for i, action in enumerate(plan.actions):
        entry = run.entries[i]
        try:
            if before_action is not None:
                before_action(i, action)
            _do(action, entry, rewritten.get(i), plan)
            entry["done"] = True
            run.save()
        except BaseException as exc:  # noqa: BLE001 - any failure (even Ctrl-C): put everything back
            reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror
                      else "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc))
            leftovers = _rollback(run, i + 1, f"{action.kind} {action.target}: {reason}")
            shown = rel(action.target, plan.root)
            if leftovers:
                hint = ("Could not remove: " + ", ".join(leftovers)
                        + f". Backups are in {run_dir}.")
            elif is_disk_full(exc):
                hint = (f"Everything this run changed was put back; "
                        f"{disk_full_hint(Path(action.target).parent)}.")
            else:
                hint = "Everything this run changed was put back; fix the cause and run again."
            if not isinstance(exc, Exception):
                raise
            raise FixError(f"{action.kind} {shown} failed: {reason}", hint, rolled_back=True,
                           run_dir=run_dir, leftovers=tuple(leftovers)) from None
    run.journal["status"] = "applied"
    try:
        run.save()
    except OSError as exc:  # the journal must say what was done, or the run is not kept
        journal = run_dir / JOURNAL
        leftovers = _rollback(run, len(run.entries), f"journal {journal}: {exc.strerror}")
        hint = disk_full_hint(run_dir) if is_disk_full(exc) else "fix the cause and run again"
        raise FixError(f"cannot write the fix journal {journal}: {exc.strerror or exc}",
                       ("Could not remove: " + ", ".join(leftovers) + ". ") if leftovers else
                       f"Everything this run changed was put back; {hint}.", rolled_back=True,
                       run_dir=run_dir, leftovers=tuple(leftovers)) from None
    return ApplyResult(str(run_dir), tuple(run.entries))


def _back_up(plan: FixPlan, run: _Run) -> None:
    """Back up every existing file the run touches and write the first journal, before any change."""
    (run.run_dir / "backups").mkdir()
    for i, action in enumerate(plan.actions):
        entry: dict[str, Any] = {
            "kind": action.kind, "target": action.target, "source": action.source,
            "finding_ids": list(action.finding_ids), "backup": None,
            "sha256_before": sha256_file(Path(action.target)), "sha256_after": None,
            "created": [], "removed_dir": None, "done": False,
        }
        if action.kind == "rewrite":
            backup = run.run_dir / "backups" / f"{i + 1:03d}-{Path(action.target).name}"
            try:
                _copy_out(Path(action.target), plan, backup)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror or str(exc), str(backup)) from None
            entry["backup"] = str(backup)
        elif action.kind == "replace_dir":
            st = os.lstat(action.target)
            entry["removed_dir"] = {"path": action.target, "mode": stat.S_IMODE(st.st_mode)}
        run.entries.append(entry)
    run.journal["actions"] = run.entries
    run.save()


def _copy_out(target: Path, plan: FixPlan, backup: Path) -> None:
    """Back up `target` (a regular file, read without following links) to `backup` (0600)."""
    with open_dir(target.parent, plan.root, allow_outside=plan.allow_outside) as d:
        assert d is not None
        fd = os.open(target.name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=d.fd)
        with os.fdopen(fd, "rb") as src, open(backup, "xb") as dst:
            shutil.copyfileobj(src, dst)
            os.fchmod(dst.fileno(), 0o600)
            os.fsync(dst.fileno())


def _rollback(run: _Run, count: int, error: str) -> list[str]:
    """Undo the first `count` entries of a failed run; returns what could not be removed. The
    journal records the rollback when there is room for it. A full disk may refuse even that:
    then a run that was put back completely is removed (nothing is left to undo, and a journal
    still saying `applying` would send `undo` after it); one with leftovers keeps its journal,
    so `undo` can finish the job."""
    leftovers = _revert(run.entries[:count], run.journal, strict=False, run_dir=run.run_dir).kept
    run.journal["status"] = "rolled_back"
    run.journal["error"] = error
    try:
        run.save()
    except OSError:
        if not leftovers:
            shutil.rmtree(run.run_dir, ignore_errors=True)
    return list(leftovers)


# --- undo / rollback ---------------------------------------------------------------------------


