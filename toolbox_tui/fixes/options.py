"""What can be done about one finding: its fix options, why some are refused, the default.

Each option is checked here against the file system as it is now (read-only): a candidate must
exist, be of the right kind, not be a broken link or a link loop, and lie inside the repository
root unless `--allow-outside`; a `rewrite` must be expressible as an in-place edit of the YAML
value that holds the reference. `fix_plan` turns the chosen options into actions.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from toolbox_tui import safe_read
from toolbox_tui.findings import Check
from toolbox_tui.fixes.yaml_edit import EditError, scalar_at, volume_src_length
from toolbox_tui.errors import EXIT_USAGE, ToolboxError

OPTIONS = ("copy", "symlink", "rewrite", "template", "mkdir", "replace_dir", "skip")
"""Every option name `--choose` accepts."""
_WITH_CANDIDATE = ("copy", "symlink", "rewrite", "replace_dir")


class PlanError(ToolboxError):
    """A `--choose` that cannot be honoured (exit 2). User-facing."""

    exit_code = EXIT_USAGE

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



# --- helpers -----------------------------------------------------------------------------------

def sha256_of(path: Path) -> str | None:
    """A candidate's hash, streamed (a 1.5 GB candidate is never held in memory)."""
    return safe_read.sha256_file(path)


def _inside(path: str | Path, root: Path) -> bool:
    real = os.path.realpath(path)
    root_real = os.path.realpath(root)
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def rel_to_root(path: str | Path, root: Path) -> str:
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
class Context:
    root: Path
    project_dir: Path
    allow_outside: bool
    cwd: Path
    file_cache: dict[str, bytes] = field(default_factory=dict)

    def read(self, file: str) -> bytes:
        if file not in self.file_cache:
            self.file_cache[file] = safe_read.read_bytes(file, safe_read.COMPOSE)
        return self.file_cache[file]


def _outside_text(path: str, ctx: Context) -> str:
    return (f"{path} is outside the repository ({ctx.root}); pass --allow-outside to use it")


def _candidate_refusal(cand: str, expect: str, ctx: Context) -> str:
    problem = _path_problem(Path(cand))
    if problem:
        return f"{rel_to_root(cand, ctx.root)} {problem}"
    if expect == "file" and os.path.isdir(cand):
        return f"{rel_to_root(cand, ctx.root)} is a directory, a file is expected"
    if expect == "file" and not safe_read.is_regular(cand):
        return (f"{rel_to_root(cand, ctx.root)} is not a regular file (a pipe, device or socket); "
                "only a regular file can be copied or linked")
    if expect == "dir" and not os.path.isdir(cand):
        return f"{rel_to_root(cand, ctx.root)} is not a directory"
    if not ctx.allow_outside and not _inside(cand, ctx.root):
        return _outside_text(cand, ctx)
    return ""


def _rewrite_refusal(check: Check, cand: str, ctx: Context) -> tuple[str, Edit | None]:
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


def _resolution_base(check: Check, raw: str, ctx: Context) -> Path | None:
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


def finding_options(check: Check, ctx: Context) -> tuple[list[FixOption], dict[tuple[str, str | None], Edit]]:
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
            refused = target_problem or _candidate_refusal(c, "file", ctx)
            if not empty:
                refused = (f"{rel_to_root(target, ctx.root)} is a directory with content, not the empty one "
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


def default_option(check: Check, options: list[FixOption]) -> tuple[FixOption | None, str]:
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
        elif check.extra("kind") == "secret_file":
            reason += (f"; keep its value in the keyring (`toolbox-tui secrets set "
                       f"{check.extra('name', 'NAME')}`) and `up` provides the file, or create "
                       f"{check.path} yourself")
        elif expect == "file":
            reason += f"; create {check.path} yourself or correct the path at {check.where}"
        if ok:
            reason += " (or choose: " + ", ".join(sorted({o.option for o in ok})) + ")"
        return None, reason
    if refused:
        return None, "; ".join(dict.fromkeys(refused))
    return None, "no fix is available"


def pick_option(fid: str, choice: Choice, options: list[FixOption], candidates: Sequence[str],
          ctx: Context) -> FixOption:
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
