"""What every command shares on the way in: the project options (named as in `docker compose`),
the project they select, and the engine.

Commands call `load_project(args)` and `engine_client()`; what goes wrong there is a
`ToolboxError` that `toolbox_tui.cli.main` renders (file:line, what is wrong, what to do).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from toolbox_tui.errors import EXIT_USAGE

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack


class Parser(argparse.ArgumentParser):
    """argparse with our usage-error message and exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        from toolbox_tui.cli.output import error

        self.print_usage(sys.stderr)
        error(message)
        raise SystemExit(EXIT_USAGE)


def project_options_parser(top: bool = False) -> argparse.ArgumentParser:
    """Options every project-aware command accepts, named as in `docker compose`.

    They may be given before or after the command. Only the top-level parser carries defaults;
    a subcommand's copy uses SUPPRESS so that leaving an option out there does not erase a value
    given before the command.
    """
    d = (lambda v: v) if top else (lambda v: argparse.SUPPRESS)
    p = Parser(add_help=False)
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


def store_options_parser() -> argparse.ArgumentParser:
    """`--store` and `--keyring-backend`, for the commands that read or write secret values."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("secret store")
    g.add_argument("--store", choices=("keyring", "file", "session"), default=None,
                   help="keyring (default: the Secret Service; must be a secure backend), file (an "
                        "encrypted file in ~/.local/share/toolbox-tui/, passphrase asked on the "
                        "terminal; for servers without a Secret Service) or session (memory of this "
                        "process only, gone when it exits). Default: $TOOLBOX_TUI_STORE, else keyring")
    g.add_argument("--keyring-backend", metavar="MODULE.CLASS", default=None,
                   help="use this keyring backend explicitly (e.g. keyrings.alt.file.EncryptedKeyring)")
    return p


def open_secret_store(args: argparse.Namespace, project: str) -> Any:
    """The store `--store`/`$TOOLBOX_TUI_STORE`/`--keyring-backend` name, for `project`; the
    encrypted file store's passphrase is asked on the terminal (`cli.passphrase`)."""
    from toolbox_tui.cli.passphrase import ask_on_tty
    from toolbox_tui.secrets.store import chosen_store, open_store

    return open_store(project, store=chosen_store(getattr(args, "store", None)),
                      backend=getattr(args, "keyring_backend", None), passphrase=ask_on_tty)


def load_project(args: argparse.Namespace, *, on_plan: Any = None) -> "Stack":
    """The project the options select (LoadError, with file:line, when it cannot be loaded).
    `on_plan`: `load_stack`'s (the Compose arguments, before the files are parsed)."""
    from toolbox_tui.cli.output import note
    from toolbox_tui.compose.project import load_stack, options_from_args
    from toolbox_tui.state_dir import legacy_notice_once

    stack = load_stack(options_from_args(args), on_plan=on_plan)
    notice = legacy_notice_once(stack.state_root)  # once per repository: an ignored .toolbox-tui/
    if notice:
        note(notice)
    return stack


def engine_client(timeout: float = 60) -> Any:
    """A docker SDK client for the engine the Docker CLI would use (EngineUnavailable, exit 3,
    saying why not and what to do, when none answers)."""
    from toolbox_tui.engine.client import connect

    return connect(timeout=timeout)
