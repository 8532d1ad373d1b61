"""`toolbox-tui fix`: show the plan of safe path fixes, apply it, or undo the last run.

Without `--apply` nothing is written. `--apply` carries the plan out atomically (backups and a
journal in the private state folder, see `toolbox_tui.state_dir`), then re-runs the path checks and `docker compose config` and
says what is still wrong. `--undo` restores the newest applied run byte-for-byte.

Exit codes: 0 nothing left to fix / applied cleanly; 1 findings remain without a fix, the user
declined, or the apply failed (and was rolled back); 2 a bad `--choose`; 3 the project could not
be loaded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolbox_tui.cli.options import load_project
from toolbox_tui.cli.output import emit, error, out
from toolbox_tui.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from toolbox_tui.findings import FAIL, Check
from toolbox_tui.paths import rel

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "fix", parents=parents, help="plan, apply or undo safe fixes for missing paths and .env",
        description="Show how missing host paths (bind sources, build contexts, secret files...) "
                    "and a missing env file would be fixed; --apply does it, --undo reverts it.")
    p.add_argument("--apply", action="store_true", help="carry out the plan (asks first on a terminal)")
    p.add_argument("--choose", action="append", default=[], metavar="ID=OPTION[:CANDIDATE]",
                   help="pick a non-default fix: OPTION is copy, symlink, rewrite, template, mkdir, "
                        "replace_dir or skip; CANDIDATE is a number from the plan or a path")
    p.add_argument("--undo", action="store_true", help="restore what the last applied run changed")
    p.add_argument("--allow-outside", action="store_true",
                   help="allow candidates and targets outside the repository root")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask before applying")
    p.set_defaults(func=run_fix)


# --- gathering ---------------------------------------------------------------------------------

def _compose_config(stack: Stack) -> dict[str, Any] | None:
    """{"ok": bool, "error": str|None} from `docker compose config`, None without Compose."""
    from toolbox_tui.engine.compose_cli import ComposeError, compose_info, config_json

    if compose_info() is None:
        return None
    try:
        config_json(stack.compose_args())
    except ComposeError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "error": None}


# --- output ------------------------------------------------------------------------------------

def print_plan(plan: Any, *, applying: bool) -> None:
    root = plan.root
    if not plan.findings:
        out("No path or env-file problems: nothing to fix.")
        return
    if plan.actions:
        out(f"Fix plan ({len(plan.actions)} change{'s' if len(plan.actions) != 1 else ''}):")
        for i, a in enumerate(plan.actions, 1):
            out(f"  {i}. {a.summary}")
            out(f"     fixes {', '.join(a.finding_ids)}")
            if a.diff:
                for line in a.diff.rstrip("\n").splitlines():
                    out(f"     {line}")
    else:
        out("Nothing to apply.")
    unfixed = [f for f in plan.unfixed]
    if unfixed:
        out("")
        out("Left as they are:")
        for f in unfixed:
            mark = "x" if f.status == FAIL else "!"
            out(f"  {mark} {f.finding_id}: {f.title}")
            out(f"      {f.reason}")
    alternatives = [f for f in plan.findings if len({(o.option, o.candidate) for o in f.options
                                                      if not o.refused}) > 1]
    if alternatives and not applying:
        out("")
        out("Other choices (--choose ID=OPTION[:N]):")
        for f in alternatives:
            cands: list[str] = []
            for o in f.options:
                if o.candidate and o.candidate not in cands and o.option != "template":
                    cands.append(o.candidate)
            opts = sorted({o.option for o in f.options if not o.refused})
            out(f"  {f.finding_id}: {', '.join(opts)}")
            for n, c in enumerate(cands, 1):
                out(f"      {n} = {rel(c, root)}")


def _print_remaining(remaining: list[Check]) -> None:
    if not remaining:
        out("Path checks: all clear.")
        return
    out(f"Still failing ({len(remaining)}):")
    for c in remaining:
        out(f"  x {c.id}: {c.title}" + (f"  [{c.where}]" if c.where else ""))
        if c.hint:
            out(f"      {c.hint}")


def _emit_json(plan: Any, result: dict[str, Any]) -> None:
    emit({"version": 1, "plan": plan.to_json() if plan is not None else [],
          "findings": [f.to_json() for f in plan.findings] if plan is not None else [],
          "result": result})


# --- the command -------------------------------------------------------------------------------

def run_fix(args: argparse.Namespace) -> int:
    from toolbox_tui.fixes.plan import PlanError, gather_findings, make_plan, parse_choice

    if args.undo and (args.apply or args.choose):
        error("--undo cannot be combined with --apply or --choose")
        return EXIT_USAGE
    try:
        choices = [parse_choice(c) for c in args.choose]
    except PlanError as exc:
        error(str(exc), exc.hint)
        return EXIT_USAGE

    stack = load_project(args)  # LoadError → exit 3 in cli.main
    if args.undo:
        return _undo(args, stack)
    try:
        plan = make_plan(gather_findings(stack), root=stack.root_dir(), project_dir=stack.project_dir,
                         choices=choices, allow_outside=args.allow_outside)
    except PlanError as exc:
        error(str(exc), exc.hint)
        return EXIT_USAGE
    failing_unfixed = [f for f in plan.unfixed if f.status == FAIL]

    if not args.apply or not plan.actions:
        status = "planned" if not args.apply else "nothing_to_do"
        if args.json:
            _emit_json(plan, {"status": status, "applied": False,
                              "unfixed": [f.finding_id for f in plan.unfixed]})
        else:
            print_plan(plan, applying=args.apply)
            if not args.apply and plan.actions:
                out("")
                out("Nothing was changed. Run `toolbox-tui fix --apply` to apply this plan.")
            elif args.apply and plan.findings:
                out("Nothing to do.")
        return EXIT_FAIL if failing_unfixed else EXIT_OK

    if not args.json:
        print_plan(plan, applying=True)
    if not args.yes and not args.json and sys.stdin.isatty():
        n = len(plan.actions)
        try:
            answer = input(f"Apply {n} change{'s' if n != 1 else ''}? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            out("Not applied; nothing was changed.")
            return EXIT_FAIL
    return _apply(args, stack, plan)


def _undo(args: argparse.Namespace, stack: Stack) -> int:
    """`fix --undo`: restore what the newest applied run changed."""
    from toolbox_tui.fixes.runs import FixError
    from toolbox_tui.fixes.undo import undo

    try:
        res = undo(stack.state_dir)
    except FixError as exc:
        if args.json:
            _emit_json(None, {"status": "failed", "error": str(exc), "hint": exc.hint})
        else:
            error(str(exc), exc.hint)
        return EXIT_FAIL
    if args.json:
        _emit_json(None, {"status": "undone", **res.to_json()})
        return EXIT_OK
    root = str(stack.root_dir())
    out(f"Undid the fix run {Path(res.run_dir).name}:")
    for p in res.restored:
        out(f"  restored {rel(p, root)}")
    for p in res.removed:
        out(f"  removed  {rel(p, root)}")
    for p in res.kept:
        out(f"  kept     {rel(p, root)} ({res.why.get(p) or 'changed since the fix'}; "
            "look at it and remove it yourself if it is not needed)")
    return EXIT_OK


def _apply(args: argparse.Namespace, stack: Stack, plan: Any) -> int:
    """Apply `plan` (the user said yes), then say what is still wrong, and whether Compose still
    accepts the project."""
    from toolbox_tui.compose.yaml_source import LoadError
    from toolbox_tui.fixes.apply import apply_plan
    from toolbox_tui.fixes.plan import gather_findings
    from toolbox_tui.fixes.runs import FixError

    before = _compose_config(stack)
    try:
        applied = apply_plan(plan, stack.state_dir)
    except FixError as exc:
        if args.json:
            _emit_json(plan, {"status": "failed", "applied": False, "rolled_back": exc.rolled_back,
                              "run_dir": str(exc.run_dir) if exc.run_dir else None,
                              "error": str(exc), "hint": exc.hint,
                              "leftovers": list(exc.leftovers)})
        else:
            error(str(exc), exc.hint)
        return EXIT_FAIL
    try:
        after_stack = load_project(args)
    except LoadError as exc:  # the fix itself worked; say so, and how to go back
        msg = f"the fix was applied, but the project no longer loads: {exc}"
        if args.json:
            _emit_json(plan, {"status": "applied", "applied": True, **applied.to_json(),
                              "remaining": None, "compose_config": None, "error": msg})
        else:
            error(msg, "`toolbox-tui fix --undo` reverts this run.")
        return EXIT_FAIL
    remaining = [c for c in gather_findings(after_stack) if c.status == FAIL]
    after = _compose_config(after_stack)
    regressed = bool(after and not after["ok"] and (before is None or before["ok"]))
    if args.json:
        _emit_json(plan, {"status": "applied", "applied": True, **applied.to_json(),
                          "remaining": [c.to_json() for c in remaining], "compose_config": after})
        return EXIT_FAIL if remaining or regressed else EXIT_OK
    out("")
    out(f"Applied {len(applied.actions)} change{'s' if len(applied.actions) != 1 else ''}; "
        f"backups and journal in {rel(applied.run_dir, str(stack.root_dir()))} "
        "(undo with `toolbox-tui fix --undo`).")
    if any(a.kind == "template" for a in plan.actions):
        out("Review the values in the env file created from the template.")
    _print_remaining(remaining)
    if after is None:
        out("docker compose config: not run (Docker Compose v2 is not installed).")
    elif after["ok"]:
        out("docker compose config: ok.")
    else:
        out(f"docker compose config: FAILED: {after['error']}")
        if regressed:
            out("  It passed before this fix; `toolbox-tui fix --undo` reverts the run.")
    return EXIT_FAIL if remaining or regressed else EXIT_OK
