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
import errno
import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from toolbox_tui.findings import FAIL, WARN, Check
from toolbox_tui.yaml_edit import EditError, ScalarEdit, rewrite_scalars, scalar_at, volume_src_length

OPTIONS = ("copy", "symlink", "rewrite", "template", "mkdir", "replace_dir", "skip")
"""Every option name `--choose` accepts."""
_WITH_CANDIDATE = ("copy", "symlink", "rewrite", "replace_dir")


class PlanError(Exception):
    """A `--choose` that cannot be honoured (exit 2). User-facing."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Choice:
    """What the user picked for one finding."""

    finding_id: str
    option: str
    candidate: str | None = None
    """1-based index (as text) or a path; None = the best allowed candidate."""


@dataclass(frozen=True)
class FixOption:
    """One way to fix one finding; `refused` says why it is not available (empty = available)."""

    option: str
    candidate: str | None = None
    refused: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"option": self.option, "candidate": self.candidate, "refused": self.refused or None}


@dataclass(frozen=True)
class Edit:
    """One scalar rewrite inside a compose file."""

    line: int
    column: int
    new_text: str
    volume_src: bool
    old_text: str
    """The path text as written before (for a short volume, just its source part)."""


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


# --- helpers -----------------------------------------------------------------------------------

def _sha256(path: Path) -> str | None:
    try:
        if not path.is_file():
            return None
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _inside(path: str | Path, root: Path) -> bool:
    real = os.path.realpath(path)
    root_real = os.path.realpath(root)
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def _rel(path: str | Path, root: Path) -> str:
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def parse_choice(text: str) -> Choice:
    """`ID=OPTION[:CANDIDATE]` → Choice. Raises PlanError."""
    fid, sep, rest = text.partition("=")
    if not sep or not fid.strip() or not rest.strip():
        raise PlanError(f"--choose {text!r}: expected FINDING_ID=OPTION[:CANDIDATE]",
                        "Example: --choose paths.bind.redis.1=symlink:1")
    option, _, cand = rest.partition(":")
    option = option.strip()
    if option not in OPTIONS:
        raise PlanError(f"--choose {text!r}: unknown option {option!r}",
                        "Options: " + ", ".join(OPTIONS))
    if cand and option not in _WITH_CANDIDATE + ("template",):
        raise PlanError(f"--choose {text!r}: {option} takes no candidate")
    return Choice(fid.strip(), option, cand or None)


def _path_problem(path: Path) -> str:
    """Why an existing-or-not path cannot be used as a source ('' when fine)."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop"
        if os.path.islink(path):
            return f"is a broken symbolic link (to {os.readlink(path)})"
        return "does not exist"
    return ""


def _target_problem(target: Path) -> str:
    try:
        os.lstat(target)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop is in its path"
        if exc.errno == errno.ENOTDIR:
            return "a parent of it is a file"
        return exc.strerror or str(exc)
    else:
        if os.path.islink(target) and not os.path.exists(target):
            try:
                os.stat(target)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    return "it is a symbolic link loop; remove the link first"
            return f"it is a broken symbolic link (to {os.readlink(target)}); remove the link first"
    return ""


# --- options per finding -----------------------------------------------------------------------

@dataclass
class _Ctx:
    root: Path
    project_dir: Path
    allow_outside: bool
    cwd: Path
    file_cache: dict[str, bytes] = field(default_factory=dict)

    def read(self, file: str) -> bytes:
        if file not in self.file_cache:
            self.file_cache[file] = Path(file).read_bytes()
        return self.file_cache[file]


def _outside_text(path: str, ctx: _Ctx) -> str:
    return (f"{path} is outside the repository ({ctx.root}); pass --allow-outside to use it")


def _candidate_refusal(cand: str, expect: str, ctx: _Ctx) -> str:
    problem = _path_problem(Path(cand))
    if problem:
        return f"{_rel(cand, ctx.root)} {problem}"
    if expect == "file" and os.path.isdir(cand):
        return f"{_rel(cand, ctx.root)} is a directory, a file is expected"
    if expect == "dir" and not os.path.isdir(cand):
        return f"{_rel(cand, ctx.root)} is not a directory"
    if not ctx.allow_outside and not _inside(cand, ctx.root):
        return _outside_text(cand, ctx)
    return ""


def _rewrite_refusal(check: Check, cand: str, ctx: _Ctx) -> tuple[str, Edit | None]:
    """('', Edit) when the reference can be re-pointed at `cand`, else (reason, None)."""
    if not check.file or not check.line or not check.column:
        return "the finding does not say where the reference is written", None
    if not ctx.allow_outside and not _inside(check.file, ctx.root):
        return _outside_text(check.file, ctx), None
    try:
        data = ctx.read(check.file)
        old_text, _style = scalar_at(data, check.line, check.column, file=check.file)
    except (OSError, EditError) as exc:
        return f"cannot read the reference at {check.where}: {exc}", None
    syntax = check.extra("syntax", "scalar")
    volume = syntax == "short"
    old_src = old_text[:volume_src_length(old_text)] if volume else old_text
    raw = str(check.extra("raw") or old_src)
    base = _resolution_base(check, raw, ctx)
    if base is None:
        return "cannot tell which directory the reference is relative to", None
    if os.path.isabs(old_src):
        new = os.path.abspath(cand)
    else:
        new = os.path.relpath(cand, base)
        if (old_src.startswith("./") or volume) and not new.startswith(("../", "./")) and new != "..":
            new = "./" + new
    new = new.replace("$", "$$")  # Compose interpolates `$` in every value
    if volume and ":" in (new[2:] if len(new) > 1 and new[1] == ":" else new):
        return "the new path contains ':' which the short volume syntax cannot hold", None
    return "", Edit(check.line, check.column, new, volume, old_src)


def _resolution_base(check: Check, raw: str, ctx: _Ctx) -> Path | None:
    """The directory `raw` was resolved against to give `check.path`."""
    if not check.path:
        return None
    expected = os.path.normpath(check.path)
    if os.path.isabs(raw):
        return ctx.project_dir
    bases = [ctx.project_dir]
    if check.file:
        bases.append(Path(check.file).parent)
    for b in bases:
        if os.path.normpath(os.path.join(b, raw)) == expected:
            return b
    parts = Path(os.path.normpath(raw)).parts
    if ".." not in parts and expected.endswith(os.sep + os.path.normpath(raw)):
        return Path(expected[: -len(os.path.normpath(raw)) - 1])
    return None


def finding_options(check: Check, ctx: _Ctx) -> tuple[list[FixOption], dict[tuple[str, str | None], Edit]]:
    """All options for one finding (refused ones included, with the reason), and the rewrite
    edits by (option, candidate)."""
    options: list[FixOption] = []
    edits: dict[tuple[str, str | None], Edit] = {}
    target = Path(check.path) if check.path else None
    if target is None:
        return options, edits
    target_problem = _target_problem(target)
    if not target_problem and not ctx.allow_outside and not _inside(target.parent, ctx.root):
        target_problem = _outside_text(str(target), ctx)
    if check.id == "env.file.missing":
        template = check.extra("template")
        if template:
            refused = target_problem or _candidate_refusal(template, "file", ctx)
            options.append(FixOption("template", template, refused))
        return options, edits
    problem = check.extra("problem", "missing")
    expect = check.extra("expect", "any")
    cands = list(check.candidates)
    if problem == "missing":
        for c in cands:
            refused = target_problem or _candidate_refusal(c, expect, ctx)
            options.append(FixOption("copy", c, refused))
        for c in cands:
            refused = target_problem or _candidate_refusal(c, expect, ctx)
            options.append(FixOption("symlink", c, refused))
    elif problem == "dir_instead_of_file":
        empty = bool(check.extra("dir_empty", False))
        for c in cands:
            refused = _candidate_refusal(c, "file", ctx)
            if not empty:
                refused = (f"{_rel(target, ctx.root)} is a directory with content, not the empty one "
                           "Docker leaves; toolbox-tui will not remove it")
            options.append(FixOption("replace_dir", c, refused))
    for c in cands:
        refused = _candidate_refusal(c, expect, ctx)
        edit = None
        if not refused:
            refused, edit = _rewrite_refusal(check, c, ctx)
        if edit is not None:
            edits[("rewrite", c)] = edit
        options.append(FixOption("rewrite", c, refused))
    if problem == "missing" and expect in ("dir", "any") and check.extra("kind") != "dockerfile":
        options.append(FixOption("mkdir", None, target_problem))
    return options, edits


def _default(check: Check, options: list[FixOption]) -> tuple[FixOption | None, str]:
    ok = [o for o in options if not o.refused]
    problem = check.extra("problem", "missing")
    expect = check.extra("expect", "any")
    order = (("template",) if check.id == "env.file.missing"
             else ("replace_dir",) if problem == "dir_instead_of_file"
             else ("copy", "mkdir") if expect == "dir"
             else ("copy",))
    for name in order:
        for o in ok:
            if o.option == name:
                return o, ""
    refused = [o.refused for o in options if o.refused]
    if problem == "file_instead_of_dir":
        return None, ("a file is where a directory is expected; no automatic fix — move the file "
                      f"or point the reference at a directory ({check.where})")
    if not check.candidates and check.id != "env.file.missing":
        reason = "no candidate found in the repository"
        if expect == "any":
            reason += f"; create {check.path} yourself (a file or a directory?)"
        elif expect == "file":
            reason += f"; create {check.path} yourself or correct the path at {check.where}"
        if ok:
            reason += " (or choose: " + ", ".join(sorted({o.option for o in ok})) + ")"
        return None, reason
    if refused:
        return None, "; ".join(dict.fromkeys(refused))
    return None, "no fix is available"


def _pick(fid: str, choice: Choice, options: list[FixOption], candidates: Sequence[str],
          ctx: _Ctx) -> FixOption:
    if choice.option == "skip":
        return FixOption("skip")
    same = [o for o in options if o.option == choice.option]
    if not same:
        offered = sorted({o.option for o in options}) or ["none"]
        raise PlanError(f"--choose {fid}={choice.option}: not an option for this finding",
                        "Options here: " + ", ".join(offered))
    want: str | None = None
    if choice.candidate is not None:
        if choice.candidate.isdigit():
            n = int(choice.candidate)
            if not 1 <= n <= len(candidates):
                raise PlanError(f"--choose {fid}={choice.option}:{n}: there are "
                                f"{len(candidates)} candidate(s)", "Candidates are numbered from 1.")
            want = candidates[n - 1]
        else:
            want = os.path.normpath(os.path.join(ctx.cwd, os.path.expanduser(choice.candidate)))
        match = [o for o in same if o.candidate and os.path.normpath(o.candidate) == want]
        if not match:
            raise PlanError(f"--choose {fid}={choice.option}:{choice.candidate}: not one of the "
                            "candidates", "Candidates: " + ", ".join(
                                f"{i}={c}" for i, c in enumerate(candidates, 1)))
        opt = match[0]
    else:
        allowed = [o for o in same if not o.refused]
        opt = allowed[0] if allowed else same[0]
    if opt.refused:
        hint = "Pass --allow-outside to use it." if "--allow-outside" in opt.refused else \
            "Choose another option or candidate."
        raise PlanError(f"--choose {fid}={choice.option}: refused: {opt.refused}", hint)
    return opt


# --- the plan ----------------------------------------------------------------------------------

def fixable(check: Check) -> bool:
    """Findings this planner handles: failing/warning path checks and a missing env file."""
    if check.status not in (FAIL, WARN):
        return False
    return check.area == "paths" or check.id == "env.file.missing"


def make_plan(checks: Iterable[Check], *, root: Path, project_dir: Path,
              choices: Sequence[Choice] = (), allow_outside: bool = False,
              cwd: Path | None = None) -> FixPlan:
    """Options, defaults and the resulting actions for `checks`. Raises PlanError for a bad choice."""
    ctx = _Ctx(Path(root), Path(project_dir), allow_outside, Path(cwd or os.getcwd()))
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
            chosen: FixOption | None = _pick(check.id, chosen_by_id[check.id], options,
                                             check.candidates, ctx)
            if chosen.option == "skip":
                chosen, reason = None, "skipped (--choose ...=skip)"
        else:
            chosen, reason = _default(check, options)
        findings.append(FindingPlan(check.id, check.status, check.title, tuple(options), chosen,
                                    reason, explicit))
    actions = _actions(findings, by_id, all_edits, ctx)
    return FixPlan(tuple(actions), tuple(findings), str(ctx.root), str(ctx.project_dir),
                   allow_outside)


def _actions(findings: list[FindingPlan], by_id: Mapping[str, Check],
             all_edits: Mapping[str, Mapping[tuple[str, str | None], Edit]], ctx: _Ctx) -> list[FixAction]:
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
                           source=source, source_sha256=_sha256(Path(source)) if source else None)
        if target in fs_actions:
            prev, prev_explicit = fs_actions[target]
            if (prev.kind, prev.source) != (action.kind, action.source) and fp.explicit and prev_explicit:
                raise PlanError(f"{prev.finding_ids[0]} and {fp.finding_id} both fix "
                                f"{_rel(target, ctx.root)} but were given different choices",
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


def _summary(action: FixAction, ctx: _Ctx) -> str:
    t = _rel(action.target, ctx.root)
    s = _rel(action.source, ctx.root) if action.source else ""
    return {
        "copy": f"copy {s} -> {t}",
        "symlink": f"symlink {t} -> {os.path.relpath(os.path.realpath(action.source or ''), os.path.realpath(Path(action.target).parent))}"
                   f" ({s})",
        "template": f"create {t} from template {s}",
        "mkdir": f"mkdir {t}",
        "replace_dir": f"replace the empty directory {t} with a copy of {s}",
    }.get(action.kind, f"{action.kind} {t}")


def _rewrite_action(file: str, items: list[tuple[str, Edit]], ctx: _Ctx) -> FixAction:
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
    shown = _rel(file, ctx.root)
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
