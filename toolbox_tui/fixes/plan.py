"""From path findings to a plan of safe fixes: the options for each finding, a default, the plan.

Options (the user chooses with `--choose ID=OPTION[:CANDIDATE]`; CANDIDATE is a 1-based index
into the finding's candidates or a path):

- `copy`        copy the candidate to the expected location (default when there is a candidate:
                it leaves the compose files untouched);
- `symlink`     a relative symbolic link at the expected location pointing at the candidate;
- `rewrite`     edit the one YAML scalar that holds the reference (in the file that holds it — an
                override file's reference in that override, an anchor's at the anchor) so it
                points at the candidate, relative to the directory it is resolved against;
- `template`    create the env file from its template (default for `env.file.missing`);
- `mkdir`       create a missing directory (default for directories without a candidate);
- `replace_dir` remove the *empty* directory Docker left where a file belongs and copy the
                candidate there (default for that problem);
- `skip`        leave the finding alone.

Nothing here writes: `make_plan` only reads, hashes and computes diffs. `fix_apply` carries it out.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from toolbox_tui.findings import FAIL, WARN, Check
from toolbox_tui.fixes.options import (OPTIONS, Choice, Context, Edit, FixOption, PlanError,
                                     default_option, finding_options, parse_choice, pick_option,
                                     rel_to_root, sha256_of)
from toolbox_tui.fixes.yaml_edit import EditError, ScalarEdit, rewrite_scalars

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack

__all__ = ["OPTIONS", "Choice", "Edit", "FindingPlan", "FixAction", "FixOption", "FixPlan",
           "PlanError", "fixable", "make_plan", "parse_choice"]

@dataclass(frozen=True)
class FixAction:
    """One change to the file system. `target` is the path created or edited."""

    kind: str
    target: str
    finding_ids: tuple[str, ...]
    source: str | None = None
    """The candidate (copy/symlink/replace_dir) or the template."""
    edits: tuple[Edit, ...] = ()
    target_sha256: str | None = None
    """Hash of the file being edited when the plan was made (rewrite): apply refuses on mismatch."""
    source_sha256: str | None = None
    diff: str = ""
    """Unified diff of a rewrite."""
    summary: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "source": self.source,
                "finding_ids": list(self.finding_ids), "summary": self.summary,
                "diff": self.diff or None,
                "edits": [{"line": e.line, "column": e.column, "old": e.old_text, "new": e.new_text}
                          for e in self.edits]}


@dataclass(frozen=True)
class FindingPlan:
    """The options of one finding and what was chosen (None: left as it is, `reason` says why)."""

    finding_id: str
    status: str
    title: str
    options: tuple[FixOption, ...]
    chosen: FixOption | None
    reason: str = ""
    explicit: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"id": self.finding_id, "status": self.status, "title": self.title,
                "options": [o.to_json() for o in self.options],
                "chosen": self.chosen.to_json() if self.chosen else None,
                "reason": self.reason or None}


@dataclass(frozen=True)
class FixPlan:
    actions: tuple[FixAction, ...]
    findings: tuple[FindingPlan, ...]
    root: str
    project_dir: str
    allow_outside: bool = False

    @property
    def unfixed(self) -> tuple[FindingPlan, ...]:
        return tuple(f for f in self.findings if f.chosen is None)

    def to_json(self) -> list[dict[str, Any]]:
        return [a.to_json() for a in self.actions]


# --- the plan ----------------------------------------------------------------------------------

def fixable(check: Check) -> bool:
    """Findings this planner handles: failing/warning path checks and a missing env file — not a
    path that is wrong because a variable in it is unset or a placeholder (the fix is the
    variable, never files copied to where it points)."""
    if check.status not in (FAIL, WARN) or check.extra("variables"):
        return False
    return check.area == "paths" or check.id == "env.file.missing"


def make_plan(checks: Iterable[Check], *, root: Path, project_dir: Path,
              choices: Sequence[Choice] = (), allow_outside: bool = False,
              cwd: Path | None = None) -> FixPlan:
    """Options, defaults and the resulting actions for `checks`. Raises PlanError for a bad choice."""
    ctx = Context(Path(root), Path(project_dir), allow_outside, Path(cwd or os.getcwd()))
    wanted = [c for c in checks if fixable(c)]
    by_id = {c.id: c for c in wanted}
    chosen_by_id: dict[str, Choice] = {}
    for ch in choices:
        if ch.finding_id not in by_id:
            raise PlanError(f"--choose {ch.finding_id}=...: no such finding to fix",
                            "Findings: " + (", ".join(by_id) or "none"))
        chosen_by_id[ch.finding_id] = ch
    findings: list[FindingPlan] = []
    all_edits: dict[str, dict[tuple[str, str | None], Edit]] = {}
    for check in wanted:
        ch = chosen_by_id.get(check.id)
        if ch is not None and ch.candidate and not ch.candidate.isdigit():
            # A path the user named: offer it like a found candidate (same refusals apply).
            extra = os.path.normpath(os.path.join(ctx.cwd, os.path.expanduser(ch.candidate)))
            if ch.option == "template":
                check = replace(check, data=tuple((k, v) for k, v in check.data if k != "template")
                                + (("template", extra),))
            elif extra not in (os.path.normpath(c) for c in check.candidates):
                check = replace(check, candidates=check.candidates + (extra,))
            by_id[check.id] = check
        options, edits = finding_options(check, ctx)
        all_edits[check.id] = edits
        explicit = check.id in chosen_by_id
        reason = ""
        if explicit:
            chosen: FixOption | None = pick_option(check.id, chosen_by_id[check.id], options,
                                             check.candidates, ctx)
            if chosen.option == "skip":
                chosen, reason = None, "skipped (--choose ...=skip)"
        else:
            chosen, reason = default_option(check, options)
        findings.append(FindingPlan(check.id, check.status, check.title, tuple(options), chosen,
                                    reason, explicit))
    actions = _actions(findings, by_id, all_edits, ctx)
    return FixPlan(tuple(actions), tuple(findings), str(ctx.root), str(ctx.project_dir),
                   allow_outside)


def _actions(findings: list[FindingPlan], by_id: Mapping[str, Check],
             all_edits: Mapping[str, Mapping[tuple[str, str | None], Edit]], ctx: Context) -> list[FixAction]:
    fs_actions: dict[str, tuple[FixAction, bool]] = {}  # target → (action, explicit)
    rewrites: dict[str, list[tuple[str, Edit]]] = {}
    order: list[tuple[str, str]] = []
    for fp in findings:
        opt = fp.chosen
        if opt is None:
            continue
        check = by_id[fp.finding_id]
        if opt.option == "rewrite":
            edit = all_edits[fp.finding_id][("rewrite", opt.candidate)]
            file = str(Path(check.file).resolve())  # type: ignore[arg-type]
            if file not in rewrites:
                rewrites[file] = []
                order.append(("rewrite", file))
            rewrites[file].append((fp.finding_id, edit))
            continue
        target = os.path.normpath(str(check.path))
        source = opt.candidate
        action = FixAction(kind=opt.option, target=target, finding_ids=(fp.finding_id,),
                           source=source, source_sha256=sha256_of(Path(source)) if source else None)
        if target in fs_actions:
            prev, prev_explicit = fs_actions[target]
            if (prev.kind, prev.source) != (action.kind, action.source) and fp.explicit and prev_explicit:
                raise PlanError(f"{prev.finding_ids[0]} and {fp.finding_id} both fix "
                                f"{rel_to_root(target, ctx.root)} but were given different choices",
                                "Give both the same --choose (or skip one).")
            if fp.explicit and not prev_explicit:
                action = replace(action, finding_ids=prev.finding_ids + action.finding_ids)
                fs_actions[target] = (action, True)
            else:
                fs_actions[target] = (replace(prev, finding_ids=prev.finding_ids + (fp.finding_id,)),
                                      prev_explicit)
            continue
        fs_actions[target] = (action, fp.explicit)
        order.append(("fs", target))
    out: list[FixAction] = []
    for kind, key in order:
        if kind == "fs":
            action = fs_actions[key][0]
            out.append(replace(action, summary=_summary(action, ctx)))
        else:
            out.append(_rewrite_action(key, rewrites[key], ctx))
    return out


def _summary(action: FixAction, ctx: Context) -> str:
    t = rel_to_root(action.target, ctx.root)
    s = rel_to_root(action.source, ctx.root) if action.source else ""
    return {
        "copy": f"copy {s} -> {t}",
        "symlink": f"symlink {t} -> {os.path.relpath(os.path.realpath(action.source or ''), os.path.realpath(Path(action.target).parent))}"
                   f" ({s})",
        "template": f"create {t} from template {s}",
        "mkdir": f"mkdir {t}",
        "replace_dir": f"replace the empty directory {t} with a copy of {s}",
    }.get(action.kind, f"{action.kind} {t}")


def _rewrite_action(file: str, items: list[tuple[str, Edit]], ctx: Context) -> FixAction:
    by_loc: dict[tuple[int, int], tuple[Edit, list[str]]] = {}
    for fid, edit in items:
        key = (edit.line, edit.column)
        if key in by_loc:
            prev, ids = by_loc[key]
            if prev.new_text != edit.new_text:
                raise PlanError(f"{ids[0]} and {fid} share the reference at {file}:{edit.line} "
                                "but want different new values", "Choose the same candidate for both.")
            ids.append(fid)
            continue
        by_loc[key] = (edit, [fid])
    edits = tuple(e for e, _ in by_loc.values())
    ids = tuple(i for _, ids_ in by_loc.values() for i in ids_)
    data = ctx.read(file)
    shown = rel_to_root(file, ctx.root)
    try:
        new = rewrite_scalars(data, [ScalarEdit(e.line, e.column, e.new_text, e.volume_src)
                                     for e in edits], file=shown)
    except EditError as exc:
        raise PlanError(f"{exc.where or shown}: {exc}", exc.hint) from None
    old_lines = data.decode("utf-8-sig").splitlines(keepends=True)
    new_lines = new.decode("utf-8-sig").splitlines(keepends=True)
    diff = "".join(line if line.endswith("\n") else line + "\n" for line in
                   (ln.replace("\r\n", "\n") for ln in difflib.unified_diff(
                       old_lines, new_lines, f"a/{shown}", f"b/{shown}", n=1)))
    olds = ", ".join(f"{e.old_text!r} -> {e.new_text!r}" for e in edits)
    return FixAction(kind="rewrite", target=file, finding_ids=ids, edits=edits,
                     target_sha256=hashlib.sha256(data).hexdigest(), diff=diff,
                     summary=f"edit {shown}: {olds}")


def gather_findings(stack: Stack) -> list[Check]:
    """The findings `fix` works on: the path checks and a missing env file."""
    from toolbox_tui.checks.env import env_checks
    from toolbox_tui.checks.paths import path_checks

    return list(path_checks(stack)) + [c for c in env_checks(stack) if c.id == "env.file.missing"]
