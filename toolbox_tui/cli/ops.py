"""`toolbox-tui shell SVC` and `toolbox-tui inspect SVC`: the dashboard's `e` and `i` without it.

Both find the service's container the way the dashboard does (the project's files, or `-p NAME`
alone for a running project) and call the same engine functions (`live.shell`, `live.inspect`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from toolbox_tui.cli.options import engine_client
from toolbox_tui.cli.output import emit, out
from toolbox_tui.errors import EvalError, UsageError

DETAILS_WAIT = 10.0
"""How long to wait for the engine's `docker inspect` of the project's containers."""


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "shell", parents=parents, help="an interactive shell in a service's container",
        description="Open a shell in SERVICE's running container with `docker exec -it` (your "
                    "docker binary and context): bash if the image has it, else sh; or run "
                    "--cmd COMMAND instead. Needs a terminal.")
    p.add_argument("service", metavar="SERVICE")
    p.add_argument("--cmd", metavar="COMMAND", default="",
                   help="run this instead of a shell, split like a shell would (`--cmd 'ls -l /'`)")
    p.set_defaults(func=run_shell)
    p = subparsers.add_parser(
        "inspect", parents=parents, help="what a service's container is (image, env, mounts...)",
        description="Image and digest, command, environment (secret-like values masked; values "
                    "of variables that carry a secret of the stack never shown), mounts, "
                    "networks, ports, labels, restart policy, health check and limits of "
                    "SERVICE's container, from the engine, cleaned of terminal escapes.")
    p.add_argument("service", metavar="SERVICE")
    p.add_argument("--reveal", action="store_true",
                   help="show the masked secret-like values (never those that carry a stack secret)")
    p.set_defaults(func=run_inspect)


def _service_state(args: argparse.Namespace) -> tuple[Any, Any, dict[str, str]]:
    """(engine client, the service's ServiceState or None, its secret-carrying variables)."""
    from toolbox_tui.cli.dashboard import resolve_project
    from toolbox_tui.live.events import StackWatcher

    project, _compose_args, services, secret_vars = resolve_project(args)
    if services and args.service not in services:
        raise UsageError(f"project {project} has no service {args.service}",
                         f"services: {', '.join(sorted(services))}")
    client = engine_client(timeout=30)
    watcher = StackWatcher(client, project, on_state=lambda s: None, services=services)
    try:
        watcher.snapshot()
        watcher.wait_details(DETAILS_WAIT)
    except Exception as exc:  # noqa: BLE001
        raise EvalError(f"could not list the containers of project {project}: {exc}",
                        "check the engine with `docker ps`") from None
    finally:
        watcher.stop()
    state = watcher.state_of(args.service)
    if state is None and not services:
        raise EvalError(f"project {project} has no service {args.service} on this engine",
                        "check the names with `docker compose -p NAME ps -a`")
    raw = watcher.raw_names.get(args.service, args.service)
    return client, state, secret_vars.get(raw, {})


def run_shell(args: argparse.Namespace) -> int:
    from toolbox_tui.live.shell import plan_shell, run_interactive

    import shlex

    try:
        command = shlex.split(args.cmd) if args.cmd else []
    except ValueError as exc:
        raise UsageError(f"--cmd {args.cmd!r} cannot be split: {exc}",
                         "quote it like a shell command: --cmd 'ls -l /'") from None
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("toolbox-tui shell needs a terminal (stdin and stdout)",
                         "run it in a terminal; for a command without one use "
                         "`docker exec CONTAINER COMMAND`")
    _client, state, _secret = _service_state(args)
    plan = plan_shell(args.service, state, command=command)
    return run_interactive(plan)


def run_inspect(args: argparse.Namespace) -> int:
    from toolbox_tui.live.inspect import inspect_service, sections

    client, state, secret_vars = _service_state(args)
    info = inspect_service(client, args.service, state.container_id if state else "",
                           secret_vars=secret_vars)
    if args.json:
        emit({"service": info.to_json(reveal=args.reveal)})
        return 0
    out(f"{info.service}  {info.container_name}  {info.state}  {info.container_id[:12]}")
    for title, rows in sections(info, args.reveal):
        out("")
        out(title)
        for key, value, _hint in rows:
            out(f"  {key:<18} {value}" if key else f"  {value}")
    return 0
