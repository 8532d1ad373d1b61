"""`toolbox-tui dashboard`: the live stack-health screen (or a one-shot JSON snapshot).

With the project's files (found like `docker compose` finds them, or given with -f/--project-dir)
the dashboard knows every declared service and can run `up`. With only `-p NAME` it attaches to
a running project by its containers' labels, without needing the files.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from toolbox_tui.cli.options import engine_client, load_project
from toolbox_tui.cli.output import emit, note
from toolbox_tui.errors import EXIT_INTERRUPTED, EvalError, UsageError

DETAILS_WAIT = 5.0
"""`--json`: how long to wait for the engine to answer `docker inspect` of each container (a
container whose health-check exec hangs holds its lock; it is then shown from the list)."""


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "dashboard", parents=parents, help="live services, health, logs and events of the stack",
        description="Live dashboard of a Compose project: services (state, health, restarts, "
                    "uptime, ports, CPU, memory), health-check history, multiplexed logs and "
                    "engine events; restart/stop/start a service, up/down the stack. "
                    "`-p NAME` alone attaches to a running project without its files. "
                    "With --json, print one snapshot of the services and exit.")
    p.add_argument("--ring", type=int, default=5000, metavar="N",
                   help="log lines kept per service (default 5000)")
    p.add_argument("--tail", type=int, default=200, metavar="N",
                   help="log lines of history read per service on attach (default 200)")
    p.set_defaults(func=run_dashboard)


def _attach_by_name(args: argparse.Namespace) -> bool:
    return bool(args.project_name) and not args.files and not args.project_dir


def resolve_project(args: argparse.Namespace) -> tuple[str, list[str] | None, tuple[str, ...],
                                                     dict[str, dict[str, str]]]:
    """(project name, compose args or None, declared services, the variables per service that
    carry a secret of the stack) for the dashboard and the commands that act on a service."""
    if _attach_by_name(args):
        return args.project_name, None, (), {}
    stack = load_project(args)  # LoadError is reported by cli.main
    from toolbox_tui.live.inspect import secret_vars_of

    return stack.name, list(stack.compose_args()), tuple(stack.services), secret_vars_of(stack)


def run_dashboard(args: argparse.Namespace) -> int:
    if args.ring < 10 or args.tail < 0:
        raise UsageError("--ring must be >= 10 and --tail >= 0")
    project, compose_args, services, secret_vars = resolve_project(args)
    client = engine_client(timeout=30)
    from toolbox_tui.live.events import StackWatcher

    watcher = StackWatcher(client, project, on_state=lambda s: None, services=services)
    try:
        watcher.snapshot()
    except Exception as exc:  # noqa: BLE001
        raise EvalError(f"could not list the containers of project {project}: {exc}",
                        "check the engine with `docker ps`") from None
    if not services and all(s.state == "missing" for s in watcher.states.values()):
        raise EvalError(f"project {project} has no containers on this engine",
                        "check the name with `docker compose ls -a`, or give the project files "
                        "(-f / --project-dir) so the dashboard can bring it up")
    if args.json and not watcher.wait_details(DETAILS_WAIT):
        slow = sorted(f"{s.service} ({s.container_name})" for s in watcher.states.values()
                      if not s.details and s.state != "missing")
        note(f"the engine did not answer `docker inspect` within {DETAILS_WAIT:.0f} s "
             f"for {', '.join(slow)}: shown from the container list (\"details\": false, no "
             f"restarts/health log). A health-check exec that hangs holds the container's lock; "
             f"check with `docker inspect CONTAINER` and the container's health check")
    watcher.stop()  # the snapshot is taken; inspects still pending are not waited for
    if args.json:
        emit({"project": project, "services": [asdict(s) for s in watcher.states.values()]})
        return 0 if all(s.state == "running" and s.health in ("", "healthy")
                        for s in watcher.states.values()) else 1

    from toolbox_tui.screens.dashboard.app import DashboardApp
    from toolbox_tui.screens.terminal import use_real_terminal_size
    from toolbox_tui.live.stack import LiveStack

    use_real_terminal_size()

    source = LiveStack(project, compose_args=compose_args, services=services, client=client,
                       initial_tail=args.tail, secret_vars=secret_vars)
    app = DashboardApp(project, source, services=services, ring_size=args.ring, handle_signals=True)
    try:
        code = app.run()
    except KeyboardInterrupt:  # a signal before the event loop took them over
        return EXIT_INTERRUPTED
    return int(code or 0)
