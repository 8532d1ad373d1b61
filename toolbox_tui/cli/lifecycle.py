"""`toolbox-tui up | down | restart | logs | verify`: the stack's lifecycle, headless.

`up` refuses to start while the doctor has failing path or secret checks (`--force` to try
anyway), materializes secrets when the stack needs them, starts with per-service progress, waits
for health from engine events, and either prints the access URLs or a diagnosis per service.
Exit codes: 0 ok, 1 refused/failed (diagnosis printed), 2 usage, 3 could not evaluate (also:
the engine went away during `up`; the message says so and to re-run `up` once it is back).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from typing import Any, Callable

from toolbox_tui.findings import FAIL, PASS, WARN, Check, exit_code


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    store_opts = argparse.ArgumentParser(add_help=False)
    g = store_opts.add_argument_group("secret store")
    g.add_argument("--store", choices=("keyring", "session"), default=None,
                   help="where secret values are read from (default: the OS keyring)")
    g.add_argument("--keyring-backend", metavar="MODULE.CLASS", default=None,
                   help="use this keyring backend explicitly")

    up = subparsers.add_parser(
        "up", parents=[*parents, store_opts], help="start the stack and wait until it is healthy",
        description="Check, materialize secrets, `docker compose up -d` with per-service progress, "
                    "wait for health from engine events, print the access URLs or a diagnosis. "
                    "Exit 0 healthy; 1 refused or not healthy in time.")
    up.add_argument("--timeout", type=float, default=120, metavar="SECONDS",
                    help="how long to wait for every service to be healthy (default 120)")
    up.add_argument("--force", action="store_true",
                    help="start even when the doctor or the production checklist has failures")
    up.add_argument("services", nargs="*", metavar="SERVICE", help="only these services (and deps)")
    up.set_defaults(func=cmd_up)

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
    from toolbox_tui.cli.main import project_options_parser

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
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def _note(text: str) -> None:
    sys.stderr.write(f"toolbox-tui: {text}\n")


def _stack(args: argparse.Namespace) -> Any:
    from toolbox_tui.compose.project import load_stack, options_from_args

    return load_stack(options_from_args(args))


def _client() -> Any:
    from toolbox_tui.cli.main import EvalError
    from toolbox_tui.engine.client import EngineUnavailable, connect

    try:
        return connect(timeout=60)
    except EngineUnavailable as exc:
        raise EvalError(str(exc), exc.hint) from None


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def _project_json(stack: Any) -> dict[str, Any]:
    try:
        from toolbox_tui.cli.report import project_json

        return project_json(stack)
    except Exception:  # noqa: BLE001 - a ProjectRef or a half-built stack
        return {"name": stack.name, "services": sorted(getattr(stack, "services", {}) or {})}


def _check_line(c: Check) -> str:
    mark = {PASS: "ok  ", FAIL: "FAIL", WARN: "warn"}.get(c.status, c.status)
    where = f" ({c.where})" if c.where else ""
    return f"  {mark} {c.title}{where}"


# --- up ---------------------------------------------------------------------------------------

class _Printer:
    """Per-service progress lines for humans; the same events are collected for --json."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.last: dict[str | None, str] = {}
        self.events: list[dict[str, Any]] = []
        self.t0 = time.monotonic()

    def progress(self, ev: Any) -> None:
        self.events.append({"t": round(time.monotonic() - self.t0, 3), "service": ev.service,
                            "phase": ev.phase, "status": ev.status, "detail": ev.detail})
        if ev.phase == "warning":
            if not self.args.json:
                _note(f"warning: {ev.detail}")
            return
        key = ev.service if ev.service else ev.detail
        if self.last.get(key) == ev.status or ev.phase == "log" and not ev.detail:
            return
        self.last[key] = ev.status
        name = ev.service or ev.detail
        text = ev.detail if ev.phase in ("error", "log") else ev.status
        _out(self.args, f"  {name:<24} {text}")

    def state(self, st: Any) -> None:
        self.events.append({"t": round(time.monotonic() - self.t0, 3), "service": st.service,
                            "phase": "health", "status": st.verdict, "detail": st.reason})
        mark = {"done": "ready", "failed": "FAILED"}.get(st.verdict, "...")
        _out(self.args, f"  {st.service:<24} {mark:<7} {st.reason}")


def _materialize(args: argparse.Namespace, stack: Any, mode: str) -> tuple[Any, list[str], str | None]:
    """(stack to start, notes, blocking problem or None)."""
    external = [s for s in (getattr(stack, "secrets", {}) or {}).values()
                if getattr(s, "kind", None) == "external" and getattr(s, "used_by", ())]
    # Once our override is loaded those secrets read as `file:`; their files may be gone since
    # (a reboot empties the runtime dir), so a stack with our override is always refreshed.
    if not external and getattr(stack, "secrets_override", None) is None:
        return stack, [], None
    try:
        from toolbox_tui.secrets import materialize as sm
    except ImportError:
        return stack, [], ("the stack uses external secrets, which need swarm mode, and this "
                           "toolbox-tui has no secret materializer; run `docker swarm init` and "
                           "create them")
    # Compose refuses `external: true` secrets at container create whether or not the engine is
    # a swarm manager (verified with Compose 2.40), so they always become file secrets for `up`.
    try:
        from toolbox_tui.secrets.store import open_store

        store = open_store(stack.name, store=getattr(args, "store", None),
                           backend=getattr(args, "keyring_backend", None))
        report = sm.materialize_report(stack, store, mode=mode)
    except Exception as exc:  # noqa: BLE001 - SecretsIncomplete, NoSecureKeyring, SecretsRefused...
        hint = getattr(exc, "hint", "")
        names = ", ".join(s.name for s in external)
        if getattr(stack, "secrets_override", None) is not None and type(exc).__name__ != "SecretsIncomplete":
            return stack, [f"could not refresh secret files ({exc}); using the existing override"], None
        return stack, [], (f"secrets: {exc}" + (f" — hint: {hint}" if hint else "")
                           + f" (external secrets used: {names})")
    notes = [f"secrets: {len(report.files)} file(s) written for Compose (override "
             f"{report.override})" if report.override else "secrets: nothing to materialize"]
    if report.placeholders:
        notes.append("secrets: PLACEHOLDER values (features that need them will not work): "
                     + ", ".join(report.placeholders))
    return report.stack, notes, None


def cmd_up(args: argparse.Namespace) -> int:
    from toolbox_tui.lifecycle import diagnosis
    from toolbox_tui.lifecycle import health as health_wait
    from toolbox_tui.lifecycle import startup

    t0 = time.monotonic()
    # Connect to the engine while the stack loads and the pre-flight checks run.
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix="tbx-connect")
    client_future = pool.submit(_client)
    pool.shutdown(wait=False)
    stack = _stack(args)
    mode = args.mode or getattr(stack, "mode", None) or "dev"
    payload: dict[str, Any] = {"version": 1, "command": "up", "project": _project_json(stack),
                               "mode": mode, "ok": False}
    notes: list[str] = []

    def refuse(reason: str, checks: list[Check], hint: str) -> int:
        payload.update({"refused": reason, "blocking": [c.to_json() for c in checks],
                        "elapsed": round(time.monotonic() - t0, 3)})
        if args.json:
            _emit(payload)
        else:
            sys.stderr.write(f"toolbox-tui: refusing to start: {reason}\n")
            for c in checks:
                sys.stderr.write(_check_line(c) + "\n")
                if c.hint:
                    sys.stderr.write(f"       hint: {c.hint}\n")
            sys.stderr.write(f"  hint: {hint}\n")
        return 1

    # 1. production checklist
    if mode == "prod":
        from toolbox_tui.checks.prod_checklist import prod_checklist

        checklist = prod_checklist(stack, client=client_future.result())
        failing = [c for c in checklist if c.status == FAIL]
        payload["prod_checklist"] = [c.to_json() for c in checklist]
        if failing and not args.force:
            return refuse(f"the production checklist has {len(failing)} failure(s)", failing,
                          "fix them, or pass --force to start anyway")
        _out(args, f"production checklist: {sum(c.status == PASS for c in checklist)} ok, "
                   f"{sum(c.status == WARN for c in checklist)} warnings, {len(failing)} failures"
                   + (" (--force)" if failing else ""))

    # 2. secrets
    stack, secret_notes, secret_problem = _materialize(args, stack, mode)
    notes += secret_notes
    for n in secret_notes:
        _out(args, n)

    # 3. doctor
    try:
        from toolbox_tui.checks import doctor
    except ImportError:
        doctor = None  # type: ignore[assignment]
        notes.append("doctor not available: starting without pre-flight checks")
    blocking: list[Check] = []
    if doctor is not None:
        # Only paths and secrets can block, and neither needs the engine probes, the docs scan or
        # `docker compose config` (which `up` itself runs): ~0.6 s saved on every `up`.
        checks = doctor.run_doctor(stack, engine=False, compose=False, docs=False)
        blocking = doctor.blocking(checks)
    if secret_problem:
        blocking.append(Check(id="secrets.materialize", area="secrets", severity="error", status=FAIL,
                              title=secret_problem))
    if blocking and not args.force:
        areas = sorted({c.area for c in blocking})
        return refuse(f"{len(blocking)} failing {' and '.join(areas)} check(s)", blocking,
                      "fix them (`toolbox-tui fix --apply`, `toolbox-tui secrets generate`), "
                      "or pass --force to try anyway")
    if blocking:
        payload["forced_past"] = [c.id for c in blocking]
        _out(args, f"--force: starting despite {len(blocking)} failing check(s)")

    # 4. start
    client = client_future.result()
    printer = _Printer(args)
    _out(args, f"starting {stack.name} ({mode}) ...")
    up = startup.compose_up(stack, on_event=printer.progress, services=args.services or None)
    payload["compose_up"] = {"returncode": up.returncode, "error": up.error,
                             "elapsed": round(up.elapsed, 3), "warnings": list(up.warnings)}
    wanted = list(args.services) if args.services else list(getattr(stack, "services", {}) or {})
    if args.services:
        wanted = _with_deps(stack, wanted)
    states = None
    if up.ok:
        _out(args, "waiting for health ...")
        result = health_wait.wait_healthy(stack, client, timeout=args.timeout, on_change=printer.state,
                                          services=wanted)
        states = result.states
        payload["wait"] = {"ok": result.ok, "elapsed": round(result.elapsed, 3),
                           "timed_out": result.timed_out, "stopped_early": result.stopped_early,
                           "engine_lost": result.engine_lost}
        bad = result.not_ready
        if result.engine_lost:
            return _engine_lost(args, stack, payload, printer, "waiting for health",
                                result.engine_lost, states)
    else:
        # Compose failing because dockerd stopped under it is not the project's fault.
        gone = health_wait.engine_gone(client)
        if gone is None:
            try:
                states = health_wait.snapshot(stack, client)
            except Exception as exc:  # noqa: BLE001 - requests/docker errors: it went away now
                gone = f"the engine stopped answering: {type(exc).__name__}"
        if gone is not None:
            return _engine_lost(args, stack, payload, printer, "starting the containers", gone, None,
                                compose_error=up.error)
        bad = [s for s in wanted if not states.get(s) or not states[s].done]
    payload["services"] = [st.to_json() for st in (states or {}).values()]
    payload["events"] = printer.events
    payload["elapsed"] = round(time.monotonic() - t0, 3)
    if up.ok and not bad:
        from toolbox_tui.lifecycle.verify import access_urls

        urls = [u.to_json() for u in access_urls(stack)]
        payload.update({"ok": True, "urls": urls, "notes": notes})
        if args.json:
            _emit(payload)
        else:
            _out(args, f"{stack.name} is healthy ({len(wanted)} services, {payload['elapsed']:.1f} s)")
            if urls:
                _out(args, "access:")
                for u in urls:
                    extra = f"  (health: {u['health']})" if u.get("health") else ""
                    _out(args, f"  {u['label']:<24} {u['url']}{extra}")
        return 0
    try:
        diags = diagnosis.diagnose(stack, client, bad, states=states, up_error=up.error,
                                   failed_service=up.failed_service)
    except Exception:  # noqa: BLE001 - the diagnosis reads logs/inspect: the engine went away
        gone = health_wait.engine_gone(client)
        if gone is None:
            raise
        return _engine_lost(args, stack, payload, printer, "diagnosing", gone, states)
    payload["diagnoses"] = [d.to_json() for d in diags]
    payload["notes"] = notes
    if args.json:
        _emit(payload)
    else:
        what = "docker compose up failed" if not up.ok else (
            f"not healthy after {args.timeout:.0f} s" if payload.get("wait", {}).get("timed_out")
            else "a service failed")
        sys.stderr.write(f"\ntoolbox-tui: {stack.name}: {what}. Diagnosis:\n")
        for d in diags:
            sys.stderr.write("\n".join(d.lines()) + "\n\n")
    return 1


def _engine_lost(args: argparse.Namespace, stack: Any, payload: dict[str, Any], printer: _Printer,
                 phase: str, why: str, states: Any, compose_error: str = "") -> int:
    """dockerd stopped (or restarted) during `up`: say so and what to do, exit 3. Nothing here
    talks to the engine. The secret files `up` wrote stay (the re-run needs them); named here,
    `toolbox-tui down` removes them, as after any `up`."""
    from toolbox_tui.cli.main import EXIT_EVAL

    pending = [st for st in (states or {}).values() if not st.done]
    secret_files: list[str] = []
    secret_dir = ""
    try:
        from toolbox_tui.secrets.materialize import read_journal

        journal = read_journal(stack)
        secret_files = sorted(str(p) for p in (journal.get("files") or {}).values())
        secret_dir = str(journal.get("dir") or "")
    except Exception:  # noqa: BLE001 - no materializer, unreadable journal: nothing to report
        pass
    hint = "start the Docker engine again (until `docker info` answers), then re-run `toolbox-tui up`"
    payload.update({"engine_lost": {"phase": phase, "reason": why, "compose_error": compose_error,
                                    "secret_files_kept": secret_files, "hint": hint},
                    "services": [st.to_json() for st in (states or {}).values()],
                    "events": printer.events, "ok": False})
    if args.json:
        _emit(payload)
        return EXIT_EVAL
    sys.stderr.write(f"\ntoolbox-tui: error: {stack.name}: the Docker engine went away while {phase} "
                     f"({why}).\n")
    if compose_error:
        sys.stderr.write(f"  docker compose said: {compose_error}\n")
    if pending:
        sys.stderr.write("  not ready when it went: " + ", ".join(
            f"{st.service} ({st.reason or st.state})" for st in pending) + "\n")
    if secret_files:
        sys.stderr.write(f"  {len(secret_files)} secret file(s) written for Compose stay in "
                         f"{secret_dir or 'the secrets directory'} for the re-run; "
                         "`toolbox-tui down` removes them.\n")
    sys.stderr.write(f"  hint: {hint}\n")
    return EXIT_EVAL


def _with_deps(stack: Any, names: list[str]) -> list[str]:
    services = getattr(stack, "services", {}) or {}
    out: list[str] = []
    todo = list(names)
    while todo:
        n = todo.pop()
        if n in out or n not in services:
            continue
        out.append(n)
        todo.extend((getattr(services[n], "depends_on", None) or {}).keys())
    return out


# --- down / restart / logs --------------------------------------------------------------------

def cmd_down(args: argparse.Namespace) -> int:
    from toolbox_tui.engine import compose_cli

    t0 = time.monotonic()
    stack = _stack(args)
    argv = [*stack.compose_args(), "down", "--remove-orphans", "--timeout", str(args.timeout)]
    if args.volumes:
        argv.append("--volumes")
    proc = compose_cli.run(argv, timeout=max(120, args.timeout * 4))
    removed: list[str] = []
    note = ""
    try:
        from toolbox_tui.secrets.materialize import remove_materialized

        removed = remove_materialized(stack)
    except ImportError:
        note = "no secret materializer: nothing to remove"
    payload = {"version": 1, "command": "down", "project": _project_json(stack),
               "ok": proc.returncode == 0, "volumes_removed": bool(args.volumes),
               "secret_files_removed": len(removed), "elapsed": round(time.monotonic() - t0, 3)}
    if proc.returncode != 0:
        payload["error"] = compose_cli.clean_error(proc.stderr)
    if args.json:
        _emit(payload)
    elif proc.returncode != 0:
        sys.stderr.write(f"toolbox-tui: error: docker compose down failed: {payload['error']}\n")
    else:
        _out(args, f"{stack.name} is down ({payload['elapsed']:.1f} s); named volumes "
                   + ("removed" if args.volumes else "kept (--volumes to remove)")
                   + (f"; {len(removed)} secret file(s) removed" if removed else ""))
        if note:
            _note(note)
    return 0 if proc.returncode == 0 else 1


def cmd_restart(args: argparse.Namespace) -> int:
    from toolbox_tui.engine import compose_cli
    from toolbox_tui.lifecycle import diagnosis
    from toolbox_tui.lifecycle import health as health_wait
    from toolbox_tui.cli.main import UsageError

    stack = _stack(args)
    services = getattr(stack, "services", {}) or {}
    if args.service not in services:
        raise UsageError(f"no service {args.service!r} in {stack.name} "
                         f"(services: {', '.join(sorted(services))})")
    client = _client()
    t0 = time.monotonic()
    proc = compose_cli.run([*stack.compose_args(), "restart", args.service], timeout=300)
    payload: dict[str, Any] = {"version": 1, "command": "restart", "service": args.service,
                               "project": _project_json(stack)}
    if proc.returncode != 0:
        payload.update({"ok": False, "error": compose_cli.clean_error(proc.stderr)})
        if args.json:
            _emit(payload)
        else:
            sys.stderr.write(f"toolbox-tui: error: restart failed: {payload['error']}\n")
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
                sys.stderr.write("\n".join(d.lines()) + "\n")
    if args.json:
        _emit(payload)
    elif result.ok:
        _out(args, f"{args.service} restarted and ready ({payload['elapsed']:.1f} s)")
    return 0 if result.ok else 1


_PREFIX = re.compile(r"^(?P<name>[\w.-]+)\s+\|\s?(?P<line>.*)$")


def cmd_logs(args: argparse.Namespace) -> int:
    from toolbox_tui.engine import compose_cli
    from toolbox_tui.cli.main import UsageError
    from toolbox_tui.sanitize import sanitize_line

    stack = _stack(args)
    services = getattr(stack, "services", {}) or {}
    unknown = [s for s in args.services if s not in services]
    if unknown:
        raise UsageError(f"no service {', '.join(map(repr, unknown))} in {stack.name} "
                         f"(services: {', '.join(sorted(services))})")
    info = compose_cli.compose_info()
    if info is None:
        from toolbox_tui.cli.main import EvalError

        raise EvalError("Docker Compose v2 is not installed", "install the compose plugin")
    argv = [info.docker, "compose", *stack.compose_args(), "logs", "--no-color"]
    if args.follow:
        argv.append("--follow")
    if args.since:
        argv += ["--since", args.since]
    if args.tail is not None:
        argv += ["--tail", str(args.tail)]
    argv += list(args.services)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=compose_cli.compose_env())
    assert proc.stdout is not None
    try:
        for raw in iter(proc.stdout.readline, b""):
            line = sanitize_line(raw.rstrip(b"\r\n"), keep_sgr=False)
            if args.json:
                m = _PREFIX.match(line)
                rec = {"container": m.group("name"), "line": m.group("line")} if m else {"line": line}
                sys.stdout.write(json.dumps(rec) + "\n")
            else:
                sys.stdout.write(line + "\n")
            sys.stdout.flush()
        rc = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        return 130
    if rc != 0:
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        sys.stderr.write(f"toolbox-tui: error: docker compose logs failed: "
                         f"{compose_cli.clean_error(err)}\n")
        return 1
    return 0


# --- verify -----------------------------------------------------------------------------------

def cmd_verify(args: argparse.Namespace) -> int:
    from toolbox_tui.lifecycle.verify import verify

    stack = _stack(args)
    client = _client()
    t0 = time.monotonic()
    printer: Callable[[Check], None] | None = None
    if not args.json:
        _out(args, f"verifying {stack.name} ...")

        def printer(c: Check) -> None:
            _out(args, _check_line(c))
            if c.status == FAIL and c.detail:
                _out(args, f"       {c.detail}")
            if c.status == FAIL and c.hint:
                _out(args, f"       hint: {c.hint}")

    checks = verify(stack, client, persistence=args.persistence, on_check=printer)
    code = exit_code(checks)
    elapsed = round(time.monotonic() - t0, 3)
    if args.json:
        from toolbox_tui.findings import summarize

        _emit({"version": 1, "command": "verify", "project": _project_json(stack), "ok": code == 0,
               "checks": [c.to_json() for c in checks], "summary": summarize(checks),
               "elapsed": elapsed})
    else:
        fails = sum(c.status == FAIL for c in checks)
        _out(args, f"{'all checks passed' if not fails else f'{fails} check(s) failed'} "
                   f"({len(checks)} checks, {elapsed:.1f} s)")
    return code
