"""`toolbox-tui down | restart | logs | verify`: the running stack's lifecycle, headless
(`up` is `toolbox_tui.cli.up`).

`down` also removes the secret files `up` wrote; `restart` waits until the service is healthy
again (diagnosis when it is not); `logs` is `docker compose logs` with control sequences removed;
`verify` proves the running stack works. Exit codes: 0 ok, 1 failed, 2 usage, 3 could not
evaluate.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import time
from typing import Any, Callable

from toolbox_tui.cli.options import engine_client, load_project, project_options_parser
from toolbox_tui.cli.output import emit, emit_record, error, note, out, project_json
from toolbox_tui.cli.up import _Printer, check_line
from toolbox_tui.errors import EvalError, UsageError
from toolbox_tui.findings import FAIL, Check, exit_code


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    down = subparsers.add_parser("down", parents=parents, help="stop and remove the stack's containers",
                                 description="Graceful `docker compose down`; named volumes are kept "
                                             "unless --volumes. Materialized secret files are removed.")
    down.add_argument("--volumes", action="store_true", help="also remove named volumes (data!)")
    down.add_argument("--timeout", type=int, default=10, metavar="SECONDS",
                      help="grace period before containers are killed (default 10)")
    down.set_defaults(func=cmd_down)

    rs = subparsers.add_parser("restart", parents=parents, help="restart one service and wait for it",
                               description="`docker compose restart SERVICE`, then wait until it is "
                                           "healthy again (diagnosis when it is not).")
    rs.add_argument("service", metavar="SERVICE")
    rs.add_argument("--timeout", type=float, default=120, metavar="SECONDS")
    rs.set_defaults(func=cmd_restart)

    # `-f` means --follow here, as in `docker compose logs -f`; files stay reachable as --file.
    # A fresh copy of the project options is used so the shared parent keeps its `-f`.
    lg = subparsers.add_parser("logs", parents=[project_options_parser()], conflict_handler="resolve",
                               help="show (or follow) service logs",
                               description="`docker compose logs`, with control sequences removed. "
                                           "`-f` is --follow; compose files are given with --file.")
    lg.add_argument("services", nargs="*", metavar="SERVICE")
    lg.add_argument("-f", "--follow", action="store_true")
    lg.add_argument("--since", metavar="WHEN", help="e.g. 10m, 2h, or an RFC 3339 timestamp")
    lg.add_argument("-n", "--tail", metavar="N", default=None, help="lines from the end of each log")
    lg.set_defaults(func=cmd_logs)

    vf = subparsers.add_parser("verify", parents=parents, help="prove the running stack works",
                               description="Files, secrets, running, healthy, HTTP endpoints through "
                                           "published ports, reachability between services; "
                                           "--persistence: named volumes survive a restart. "
                                           "Exit 0 only when every check passes.")
    vf.add_argument("--persistence", action="store_true",
                    help="write a marker in each named volume, restart, check it survived")
    vf.add_argument("-v", "--verbose", action="store_true", help="(accepted; every check is listed)")
    vf.set_defaults(func=cmd_verify)


# --- shared -----------------------------------------------------------------------------------

def _out(args: argparse.Namespace, text: str = "") -> None:
    """Human output (stdout), silent under --json."""
    if not getattr(args, "json", False):
        out(text)


# --- down / restart / logs --------------------------------------------------------------------

def cmd_down(args: argparse.Namespace) -> int:
    from toolbox_tui.engine import compose_cli

    t0 = time.monotonic()
    stack = load_project(args)
    argv = [*stack.compose_args(), "down", "--remove-orphans", "--timeout", str(args.timeout)]
    if args.volumes:
        argv.append("--volumes")
    proc = compose_cli.run(argv, timeout=max(120, args.timeout * 4))
    from toolbox_tui.secrets.materialize import remove_recorded

    removal = remove_recorded(stack)
    removed = list(removal.removed)
    for p, why in removal.kept:
        note(f"kept {p} ({why}; toolbox-tui removes only what it recorded writing)")
    payload = {"version": 1, "command": "down", "project": project_json(stack),
               "ok": proc.returncode == 0, "volumes_removed": bool(args.volumes),
               "secret_files_removed": len(removed), "elapsed": round(time.monotonic() - t0, 3)}
    if proc.returncode != 0:
        payload["error"] = compose_cli.clean_error(proc.stderr)
    if args.json:
        emit(payload)
    elif proc.returncode != 0:
        error(f"docker compose down failed: {payload['error']}")
    else:
        _out(args, f"{stack.name} is down ({payload['elapsed']:.1f} s); named volumes "
                   + ("removed" if args.volumes else "kept (--volumes to remove)")
                   + (f"; {len(removed)} secret file(s) removed" if removed else ""))
    return 0 if proc.returncode == 0 else 1


def cmd_restart(args: argparse.Namespace) -> int:
    from toolbox_tui.engine import compose_cli
    from toolbox_tui.lifecycle import diagnosis
    from toolbox_tui.lifecycle import health as health_wait

    stack = load_project(args)
    services = stack.services
    if args.service not in services:
        raise UsageError(f"no service {args.service!r} in {stack.name} "
                         f"(services: {', '.join(sorted(services))})")
    client = engine_client()
    t0 = time.monotonic()
    proc = compose_cli.run([*stack.compose_args(), "restart", args.service], timeout=300)
    payload: dict[str, Any] = {"version": 1, "command": "restart", "service": args.service,
                               "project": project_json(stack)}
    if proc.returncode != 0:
        payload.update({"ok": False, "error": compose_cli.clean_error(proc.stderr)})
        if args.json:
            emit(payload)
        else:
            error(f"restart failed: {payload['error']}")
        return 1
    printer = _Printer(args)
    result = health_wait.wait_healthy(stack, client, timeout=args.timeout, on_change=printer.state,
                                      services=[args.service])
    payload.update({"ok": result.ok, "elapsed": round(time.monotonic() - t0, 3),
                    "state": result.states[args.service].to_json()})
    if not result.ok:
        diags = diagnosis.diagnose(stack, client, [args.service], states=result.states)
        payload["diagnoses"] = [d.to_json() for d in diags]
        if not args.json:
            for d in diags:
                out("\n".join(d.lines()), stderr=True)
    if args.json:
        emit(payload)
    elif result.ok:
        _out(args, f"{args.service} restarted and ready ({payload['elapsed']:.1f} s)")
    return 0 if result.ok else 1


_PREFIX = re.compile(r"^(?P<name>[\w.-]+)\s+\|\s?(?P<line>.*)$")


def cmd_logs(args: argparse.Namespace) -> int:
    from toolbox_tui.engine import compose_cli
    from toolbox_tui.sanitize import sanitize_line

    stack = load_project(args)
    services = stack.services
    unknown = [s for s in args.services if s not in services]
    if unknown:
        raise UsageError(f"no service {', '.join(map(repr, unknown))} in {stack.name} "
                         f"(services: {', '.join(sorted(services))})")
    info = compose_cli.compose_info()
    if info is None:

        raise EvalError("Docker Compose v2 is not installed", "install the compose plugin")
    argv = [info.docker, "compose", *stack.compose_args(), "logs", "--no-color"]
    if args.follow:
        argv.append("--follow")
    if args.since:
        argv += ["--since", args.since]
    if args.tail is not None:
        argv += ["--tail", str(args.tail)]
    argv += list(args.services)
    proc = compose_cli.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=compose_cli.compose_env())
    assert proc.stdout is not None
    try:
        for raw in iter(proc.stdout.readline, b""):
            line = sanitize_line(raw.rstrip(b"\r\n"), keep_sgr=False)
            if args.json:
                m = _PREFIX.match(line)
                rec = {"container": m.group("name"), "line": m.group("line")} if m else {"line": line}
                emit_record(rec)
            else:
                out(line)
        rc = proc.wait()
    except KeyboardInterrupt:
        compose_cli.stop(proc, signal.SIGTERM)
        proc.wait()
        return 130
    if rc != 0:
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        error(f"docker compose logs failed: {compose_cli.clean_error(err)}")
        return 1
    return 0


# --- verify -----------------------------------------------------------------------------------

def cmd_verify(args: argparse.Namespace) -> int:
    from toolbox_tui.lifecycle.verify import verify

    stack = load_project(args)
    client = engine_client()
    t0 = time.monotonic()
    show: Callable[[Check], None] | None = None
    if not args.json:
        _out(args, f"verifying {stack.name} ...")

        def show_check(c: Check) -> None:
            _out(args, check_line(c))
            if c.status == FAIL and c.detail:
                _out(args, f"       {c.detail}")
            if c.status == FAIL and c.hint:
                _out(args, f"       hint: {c.hint}")

        show = show_check

    checks = verify(stack, client, persistence=args.persistence, on_check=show)
    code = exit_code(checks)
    elapsed = round(time.monotonic() - t0, 3)
    if args.json:
        from toolbox_tui.findings import summarize

        emit({"version": 1, "command": "verify", "project": project_json(stack), "ok": code == 0,
               "checks": [c.to_json() for c in checks], "summary": summarize(checks),
               "elapsed": elapsed})
    else:
        fails = sum(c.status == FAIL for c in checks)
        _out(args, f"{'all checks passed' if not fails else f'{fails} check(s) failed'} "
                   f"({len(checks)} checks, {elapsed:.1f} s)")
    return code
