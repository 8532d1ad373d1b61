"""`toolbox-tui doctor`: every check, as a report or JSON, with exit codes for CI."""

from __future__ import annotations

import argparse

from toolbox_tui.cli.output import emit_text, out
from toolbox_tui.findings import exit_code


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("doctor", parents=parents, help="check the project and the machine before `up`",
                       description="Check prerequisites, paths, secrets, environment, overrides and "
                                   "docs. Exit 0: nothing failing; 1: something fails; 2: usage; "
                                   "3: could not evaluate.")
    p.add_argument("--no-engine", action="store_true",
                   help="skip checks that talk to the Docker engine (prereq, swarm)")
    p.add_argument("--no-docs", action="store_true", help="skip the Markdown reference check")
    p.add_argument("-v", "--verbose", action="store_true", help="also list passing checks")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from toolbox_tui.cli.options import load_project
    from toolbox_tui.compose.discovery import early_compose_args, options_from_args
    from toolbox_tui.engine.compose_cli import prefetch_config

    # `docker compose config` (most of it the Go binary's start-up) runs while we load our
    # modules, parse the files and check: the doctor then costs little more than Compose alone.
    # As soon as the arguments are known without parsing; else once loading has planned them.
    early: list = []
    guess = early_compose_args(options_from_args(args))
    try:
        if guess is not None:
            early.append(prefetch_config(guess))
        stack = load_project(args, on_plan=None if early else
                             lambda a: early.append(prefetch_config(a)))
        if early and early[0].args != tuple(stack.compose_args()):  # a `name:` in a file
            early.pop().discard()
        return _report(args, stack)
    finally:
        for e in early:
            e.discard()


def _report(args: argparse.Namespace, stack) -> int:
    from toolbox_tui.checks.doctor import doctor_report
    from toolbox_tui.cli.report import render, to_json

    report = doctor_report(stack, engine=not args.no_engine, docs=not args.no_docs)
    if not args.no_engine:  # a run on this machine: which store `secrets`/`up` will use
        from toolbox_tui.secrets.store_status import store_check

        report.checks.append(store_check())
    if args.debug:
        for line in report.debug:
            out(f"debug: {line}", stderr=True)
    if args.json:
        emit_text(to_json(stack, report.checks))
    else:
        render(stack, report.checks, verbose=args.verbose)
    return exit_code(report.checks)
