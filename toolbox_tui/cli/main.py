"""The `toolbox-tui` command line: headless commands for CI, and the wizard when run bare.

Each command family is one module of this folder with a `register(subparsers, parents)`
function; this module builds the parser from them, turns every `ToolboxError` into the same
message (file:line, what is wrong, what to do) and exit code, and routes signals. Exit codes are
`toolbox_tui.errors`'s: 0 ok, 1 checks/operation failed, 2 usage error, 3 could not evaluate,
130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import traceback
from typing import Sequence

from toolbox_tui import __version__
from toolbox_tui.cli.options import Parser, project_options_parser
from toolbox_tui.cli.entry import cancel_deferred, caused_by_interrupt, route_interrupts
from toolbox_tui.cli.output import error
from toolbox_tui.errors import EXIT_EVAL, EXIT_INTERRUPTED, EXIT_OK, ToolboxError


def build_parser() -> argparse.ArgumentParser:
    common = project_options_parser()
    # The command modules are imported here, not at import time: `main` routes SIGTERM/SIGHUP
    # first, so a signal while they load unwinds like Ctrl-C instead of killing silently.
    from toolbox_tui.cli import config, dashboard, doctor, fix, lifecycle, ops, secrets, setup, up

    parser = Parser(prog="toolbox-tui", parents=[project_options_parser(top=True)],
                    description="From a fresh clone to a healthy Docker Compose stack. "
                                "Run without a command to open the wizard.")
    parser.add_argument("--version", action="version", version=f"toolbox-tui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    wizard = sub.add_parser("wizard", parents=[common], help="open the onboarding wizard (default)")
    wizard.set_defaults(func=_run_wizard)
    for module in (doctor, fix, setup, secrets, up, lifecycle, dashboard, ops, config):  # `--help` order
        module.register(sub, [common])
    parser.set_defaults(func=_run_wizard)
    return parser


def _run_wizard(args: argparse.Namespace) -> int:
    from toolbox_tui.screens.wizard.launch import run_wizard  # Textual only for the interactive face

    return run_wizard(args)


INTERRUPT_HINTS = {
    "up": "the containers started so far keep running and the secret files written for them stay; "
          "`toolbox-tui down` stops them and removes the files, `toolbox-tui up` starts again",
}
"""What an interrupted command leaves behind and what to do, by command (the others roll back
or leave nothing: fix, secrets materialize/rotate)."""


def _interrupt_on_term_and_hup() -> dict:
    """Headless commands: SIGTERM and SIGHUP (an SSH drop) unwind like Ctrl-C, so the rollback
    and clean-up paths run (fix, materialize, up) instead of the process dying mid-write; none of
    the three is raised inside an import (`entry.raise_interrupt`). Returns the previous handlers
    (restored when `main` returns, for in-process callers)."""
    return route_interrupts()


def _restore(saved: dict) -> None:
    for sig, previous in saved.items():
        signal.signal(sig, previous)


def _interrupted(command: str | None) -> int:
    error("interrupted", INTERRUPT_HINTS.get(command or "", ""), kind="")
    return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None, *, standalone: bool = False) -> int:
    """Run one command; returns the exit code. `standalone` (the installed command): the process
    ends right after, so the signal handlers are not restored at the end: SIGINT/SIGTERM/SIGHUP
    are ignored instead, as the command's work is complete (a signal in that last moment made the
    exit code -1/-2/-15 after a finished `fix --apply`)."""
    # From the start: a busy machine takes a moment to build the parser, and SIGTERM/SIGHUP
    # there killed the process silently (exit -15/-1).
    saved = _interrupt_on_term_and_hup()
    try:  # Ctrl-C while the parser is built is no traceback either
        parser = build_parser()
        args = parser.parse_args(argv)
    except BaseException as exc:  # SystemExit from --help or a usage error, or an interrupt
        _restore(saved)
        if caused_by_interrupt(exc):
            return _interrupted(None)
        raise
    debug = bool(getattr(args, "debug", False)) or os.environ.get("TOOLBOX_TUI_DEBUG") == "1"

    if args.command in (None, "wizard", "dashboard"):  # the faces handle signals themselves
        _restore(saved)
        saved = {}

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return _interrupted(args.command)
    except ToolboxError as exc:  # every user-facing error: one rendering, its own exit code
        error(str(exc), exc.hint, where=exc.where)
        if debug:
            traceback.print_exc()
        return exc.exit_code
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # a file or directory we were pointed at cannot be used
        what = f" {exc.filename}" if exc.filename else ""
        error(f"cannot access{what}: {(exc.strerror or str(exc)).lower()}",
              "run as a user who can read it, or fix its permissions" if isinstance(exc, PermissionError)
              else "check the path and try again")
        if debug:
            traceback.print_exc()
        return EXIT_EVAL
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        if caused_by_interrupt(exc):
            return _interrupted(args.command)
        error(f"{type(exc).__name__}: {exc}", "re-run with --debug and report the output.",
              kind="internal error")
        if debug:
            traceback.print_exc()
        return EXIT_EVAL
    finally:
        if standalone:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
        else:
            _restore(saved)
        cancel_deferred()


if __name__ == "__main__":
    from toolbox_tui.cli.entry import entry

    entry()
