"""The `toolbox-tui` command line: headless commands for CI, and the wizard when run bare.

Each command family lives in its own `cli_*.py` module with a `register(subparsers, parents)`
function; this module owns only the shared project options, error handling and exit codes:
0 ok, 1 checks/operation failed, 2 usage error, 3 could not evaluate, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import traceback
from typing import Sequence

from toolbox_tui import __version__

COMMAND_MODULES = (
    "toolbox_tui.cli.doctor",
    "toolbox_tui.cli.fix",
    "toolbox_tui.cli.secrets",
    "toolbox_tui.cli.lifecycle",
    "toolbox_tui.cli.dashboard",
)
"""Modules that add subcommands. A module that does not exist (yet) is skipped."""

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_EVAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UsageError(Exception):
    """Bad arguments that argparse could not catch; exit 2."""


class EvalError(Exception):
    """Something needed to evaluate could not be read or reached; exit 3. Message is user-facing."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"toolbox-tui: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def project_options_parser(top: bool = False) -> argparse.ArgumentParser:
    """Options every project-aware command accepts, named as in `docker compose`.

    They may be given before or after the command. Only the top-level parser carries defaults;
    a subcommand's copy uses SUPPRESS so that leaving an option out there does not erase a value
    given before the command.
    """
    d = (lambda v: v) if top else (lambda v: argparse.SUPPRESS)
    p = _Parser(add_help=False)
    g = p.add_argument_group("project")
    g.add_argument("--project-dir", "--project-directory", dest="project_dir", metavar="DIR",
                   default=d(None), help="project directory (default: the first compose file's directory)")
    g.add_argument("-f", "--file", dest="files", action="append", default=d([]), metavar="FILE",
                   help="compose file; repeat in order (default: COMPOSE_FILE, the manifest, or compose.yaml...)")
    g.add_argument("-p", "--project-name", dest="project_name", metavar="NAME", default=d(None))
    g.add_argument("--profile", dest="profiles", action="append", default=d([]), metavar="PROFILE")
    g.add_argument("--env-file", dest="env_files", action="append", default=d([]), metavar="FILE")
    g.add_argument("--mode", choices=("dev", "prod"), default=d(None),
                   help="file set from the manifest (default: the manifest's default_mode)")
    o = p.add_argument_group("output")
    o.add_argument("--json", action="store_true", default=d(False), help="machine-readable output on stdout")
    o.add_argument("--debug", action="store_true", default=d(False),
                   help="show internal details and tracebacks")
    return p


def build_parser() -> argparse.ArgumentParser:
    common = project_options_parser()
    parser = _Parser(prog="toolbox-tui", parents=[project_options_parser(top=True)],
                     description="From a fresh clone to a healthy Docker Compose stack. "
                                 "Run without a command to open the wizard.")
    parser.add_argument("--version", action="version", version=f"toolbox-tui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    wizard = sub.add_parser("wizard", parents=[common], help="open the onboarding wizard (default)")
    wizard.set_defaults(func=_run_wizard)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
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
    and clean-up paths run (fix, materialize, up) instead of the process dying mid-write.
    Returns the previous handlers (restored when `main` returns, for in-process callers)."""

    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    saved = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            saved[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread (in-process callers)
            pass
    return saved


def _restore(saved: dict) -> None:
    for sig, previous in saved.items():
        signal.signal(sig, previous)


def entry() -> None:
    """The installed command (and `python -m toolbox_tui`): `main`, then exit with its code."""
    raise SystemExit(main(standalone=True))


def main(argv: Sequence[str] | None = None, *, standalone: bool = False) -> int:
    """Run one command; returns the exit code. `standalone` (the installed command): the process
    ends right after, so the signal handlers are not restored at the end: SIGINT/SIGTERM/SIGHUP
    are ignored instead, as the command's work is complete (a signal in that last moment made the
    exit code -1/-2/-15 after a finished `fix --apply`)."""
    # From the start: building the parser imports every command module (a second or more on a
    # busy machine), and SIGTERM/SIGHUP there killed the process silently (exit -15/-1).
    saved = _interrupt_on_term_and_hup()
    try:  # Ctrl-C while the command modules import is no traceback either
        parser = build_parser()
        args = parser.parse_args(argv)
        from toolbox_tui.compose.yaml_source import LocatedError
    except KeyboardInterrupt:
        _restore(saved)
        sys.stderr.write("toolbox-tui: interrupted\n")
        return EXIT_INTERRUPTED
    except BaseException:  # SystemExit from --help or a usage error
        _restore(saved)
        raise
    debug = bool(getattr(args, "debug", False)) or os.environ.get("TOOLBOX_TUI_DEBUG") == "1"

    if args.command in (None, "wizard", "dashboard"):  # the faces handle signals themselves
        _restore(saved)
        saved = {}

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write("toolbox-tui: interrupted\n")
        if INTERRUPT_HINTS.get(args.command):
            sys.stderr.write(f"  hint: {INTERRUPT_HINTS[args.command]}\n")
        return EXIT_INTERRUPTED
    except UsageError as exc:
        sys.stderr.write(f"toolbox-tui: error: {exc}\n")
        return EXIT_USAGE
    except LocatedError as exc:  # LoadError, EditError: name the place, exit 3
        where = f"{exc.where}: " if exc.where and exc.where not in str(exc) else ""
        sys.stderr.write(f"toolbox-tui: error: {where}{exc}\n")
        if exc.hint:
            sys.stderr.write(f"  hint: {exc.hint}\n")
        if debug:
            traceback.print_exc()
        return EXIT_EVAL
    except EvalError as exc:
        sys.stderr.write(f"toolbox-tui: error: {exc}\n")
        if exc.hint:
            sys.stderr.write(f"  hint: {exc.hint}\n")
        if debug:
            traceback.print_exc()
        return EXIT_EVAL
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # a file or directory we were pointed at cannot be used
        what = f" {exc.filename}" if exc.filename else ""
        sys.stderr.write(f"toolbox-tui: error: cannot access{what}: {(exc.strerror or str(exc)).lower()}\n")
        hint = ("run as a user who can read it, or fix its permissions" if isinstance(exc, PermissionError)
                else "check the path and try again")
        sys.stderr.write(f"  hint: {hint}\n")
        if debug:
            traceback.print_exc()
        return EXIT_EVAL
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        sys.stderr.write(f"toolbox-tui: internal error: {type(exc).__name__}: {exc}\n"
                         "  hint: re-run with --debug and report the output.\n")
        if debug:
            traceback.print_exc()
        return EXIT_EVAL
    finally:
        if standalone:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
        else:
            _restore(saved)


if __name__ == "__main__":
    entry()
