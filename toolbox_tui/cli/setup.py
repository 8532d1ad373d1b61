"""`toolbox-tui setup [--yes] [--step N] [--list]`: the project's own set-up step, headless.

Lists what the newcomer's docs say to run before the first `docker compose up`
(`checks.setup_steps`), with the document and line, then runs each step that has not been run
yet — only after a yes (asked on a terminal; `--yes` otherwise), because a script step is the
repository's own code. Output is streamed, sanitized. Exit codes: 0 every step ran (or there was
nothing to run), 1 a step failed or was not confirmed, 2 usage, 3 could not evaluate.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Any

from toolbox_tui.cli.options import load_project
from toolbox_tui.cli.output import Styled, emit, error, out, project_json
from toolbox_tui.errors import EXIT_FAIL, EXIT_OK, UsageError


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "setup", parents=parents, help="run the set-up step the project's docs name before `up`",
        description="Find the set-up step(s) the project's README and guides name before the "
                    "first `docker compose up` (./install.sh, ./generate_config.sh, cp "
                    "example.env .env, ...), show each, and run it after you confirm. A script "
                    "is the repository's own code: read it first.")
    p.add_argument("--yes", action="store_true",
                   help="run without asking (needed when stdin is not a terminal)")
    p.add_argument("--list", action="store_true", help="only list the steps; run nothing")
    p.add_argument("--step", type=int, metavar="N", help="run only step N of the list (from 1)")
    p.add_argument("--again", action="store_true",
                   help="also run steps that look done (their files are there)")
    p.set_defaults(func=cmd_setup)


def _status(step: Any) -> str:
    if step.kind == "refused":
        return "not run by toolbox-tui"
    ran = step.has_run()
    return "done" if ran else "not run yet" if ran is False else "may have run (cannot tell)"


def cmd_setup(args: argparse.Namespace) -> int:
    from toolbox_tui.checks.setup_steps import describe
    from toolbox_tui.lifecycle.setup_run import SetupRefused, project_setup_steps, run_setup_step

    stack = load_project(args)
    root = stack.root_dir().resolve()
    steps = project_setup_steps(stack)
    if args.step is not None and not 1 <= args.step <= len(steps):
        raise UsageError(f"--step {args.step}: there {'is' if len(steps) == 1 else 'are'} "
                         f"{len(steps)} step(s)", "Run `toolbox-tui setup --list` to see them.")
    records = []
    if not args.json:
        if not steps:
            out("The project's docs name no set-up step before `docker compose up`; nothing to run.")
        for i, s in enumerate(steps, 1):
            out(Styled("1", f"{i}. {s.command}"), f"   ({os.path.relpath(s.doc, root)}:{s.line})")
            out(f"   It {describe(s, root)}. Status: {_status(s)}.")
    chosen = [(i, s) for i, s in enumerate(steps, 1) if args.step in (None, i)]
    if args.list:
        chosen = []
    failed = False
    for i, s in chosen:
        rec = {"step": i, "command": s.command, "doc": s.doc, "line": s.line, "kind": s.kind,
               "status": _status(s), "exit_code": None, "ran": False}
        records.append(rec)
        if s.kind == "refused" or (s.has_run() and not args.again and args.step is None):
            continue
        yes = args.yes
        if not yes and not args.json and sys.stdin.isatty():
            out("")
            out(f"Step {i} runs `{s.command}` in {os.path.relpath(s.cwd, root) or '.'}" +
                (" — this is the repository's own code, not toolbox-tui's." if s.kind == "script" else "."))
            try:
                yes = input("Run it? [y/N] ").strip().lower() in ("y", "yes")
            except EOFError:
                yes = False
        try:
            if yes and not args.json:
                out(Styled("1", f"--- {s.command} ---"))
            code = run_setup_step(s, root, yes=yes, on_line=(lambda t: None) if args.json else out,
                                  stdin=None if sys.stdin.isatty() and not args.json
                                  else subprocess.DEVNULL)
        except SetupRefused as exc:
            failed = True
            rec["error"] = exc.message
            if not args.json:
                error(exc.message, exc.hint)
            continue
        rec.update(exit_code=code, ran=True)
        failed = failed or code != 0
        if not args.json:
            out(Styled("32" if code == 0 else "31",
                       f"--- `{s.command}` exited with {code} ---"))
    if args.json:
        emit({"version": 1, "project": project_json(stack),
              "steps": [{"step": i, "command": s.command, "doc": s.doc, "line": s.line,
                         "kind": s.kind, "cwd": s.cwd, "argv": list(s.argv), "script": s.script,
                         "creates": list(s.creates), "reason": s.reason, "status": _status(s)}
                        for i, s in enumerate(steps, 1)],
              "runs": records})
    return EXIT_FAIL if failed else EXIT_OK
