"""`toolbox-tui up`: check, write the secret files, start, wait until healthy, explain failures.

`up` refuses to start while the doctor has failing path or secret checks, or (`--mode prod`)
the production checklist fails (`--force` to try anyway); then `lifecycle.up.start_stack` does
the start, as the wizard's does. Exit codes: 0 healthy, 1 refused or failed (diagnosis printed),
2 usage, 3 could not evaluate (also: the engine went away during `up`; the message says so and to
re-run `up` once it is back).
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from toolbox_tui import background
from toolbox_tui.cli.options import engine_client, load_project, store_options_parser
from toolbox_tui.cli.output import emit, error, note, out, project_json
from toolbox_tui.errors import EXIT_EVAL, EXIT_FAIL, EXIT_OK, ToolboxError
from toolbox_tui.findings import FAIL, PASS, WARN, Check

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    up = subparsers.add_parser(
        "up", parents=[*parents, store_options_parser()], help="start the stack and wait until it is healthy",
        description="Check, materialize secrets, `docker compose up -d` with per-service progress, "
                    "wait for health from engine events, print the access URLs or a diagnosis. "
                    "Exit 0 healthy; 1 refused or not healthy in time.")
    up.add_argument("--timeout", type=float, default=120, metavar="SECONDS",
                    help="how long to wait for every service to be healthy (default 120)")
    up.add_argument("--force", action="store_true",
                    help="start even when the doctor or the production checklist has failures")
    up.add_argument("services", nargs="*", metavar="SERVICE", help="only these services (and deps)")
    up.set_defaults(func=cmd_up)


def check_line(c: Check) -> str:
    """One check as a line of `up`'s and `verify`'s reports."""
    mark = {PASS: "ok  ", FAIL: "FAIL", WARN: "warn"}.get(c.status, c.status)
    where = f" ({c.where})" if c.where else ""
    return f"  {mark} {c.title}{where}"


class _Printer:
    """Per-service progress lines for humans; the same events are collected for --json."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.last: dict[str | None, str] = {}
        self.events: list[dict[str, Any]] = []
        self.t0 = time.monotonic()

    def say(self, text: str) -> None:
        if not self.args.json:
            out(text)

    def progress(self, ev: Any) -> None:
        self.events.append({"t": round(time.monotonic() - self.t0, 3), "service": ev.service,
                            "phase": ev.phase, "status": ev.status, "detail": ev.detail})
        if ev.phase == "warning":
            if not self.args.json:
                note(f"warning: {ev.detail}")
            return
        key = ev.service if ev.service else ev.detail
        if self.last.get(key) == ev.status or ev.phase == "log" and not ev.detail:
            return
        self.last[key] = ev.status
        name = ev.service or ev.detail
        text = ev.detail if ev.phase in ("error", "log") else ev.status
        self.say(f"  {name:<24} {text}")

    def state(self, st: Any) -> None:
        self.events.append({"t": round(time.monotonic() - self.t0, 3), "service": st.service,
                            "phase": "health", "status": st.verdict, "detail": st.reason})
        mark = {"done": "ready", "failed": "FAILED"}.get(st.verdict, "...")
        self.say(f"  {st.service:<24} {mark:<7} {st.reason}")


def _secrets(args: argparse.Namespace, stack: Stack, mode: str) -> tuple[Any, list[str], str | None]:
    """(stack to start, notes, blocking problem or None)."""
    from toolbox_tui.lifecycle.up import needs_secret_files, prepare_secrets
    from toolbox_tui.secrets.materialize import SecretsIncomplete
    from toolbox_tui.cli.options import open_secret_store

    if not needs_secret_files(stack):
        return stack, [], None
    try:
        store = open_secret_store(args, stack.name)
        stack, notes = prepare_secrets(stack, store, mode)
    except ToolboxError as exc:  # SecretsIncomplete, NoSecureKeyring, SecretsRefused...
        if stack.secrets_override is not None and not isinstance(exc, SecretsIncomplete):
            return stack, [f"could not refresh secret files ({exc}); using the existing override"], None
        names = ", ".join(s.name for s in stack.secrets.values() if s.kind == "external" and s.used_by)
        return stack, [], (f"secrets: {exc}" + (f" — hint: {exc.hint}" if exc.hint else "")
                           + (f" (external secrets used: {names})" if names else ""))
    return stack, notes, None


class _Refused(Exception):
    """`up` will not start: the reason, the checks that block, and what to do."""

    def __init__(self, reason: str, checks: list[Check], hint: str) -> None:
        super().__init__(reason)
        self.checks = checks
        self.hint = hint


def _preflight(args: argparse.Namespace, stack: Stack, mode: str, client_future: Any,
               printer: _Printer, payload: dict[str, Any]) -> tuple[Any, list[str]]:
    """The production checklist, the secret files and the doctor's blocking checks; raises
    `_Refused`. Returns the stack to start and the notes for the report."""
    from toolbox_tui.checks import doctor

    if mode == "prod":
        from toolbox_tui.checks.prod_checklist import prod_checklist

        checklist = prod_checklist(stack, client=client_future.result())
        failing = [c for c in checklist if c.status == FAIL]
        payload["prod_checklist"] = [c.to_json() for c in checklist]
        if failing and not args.force:
            raise _Refused(f"the production checklist has {len(failing)} failure(s)", failing,
                           "fix them, or pass --force to start anyway")
        printer.say(f"production checklist: {sum(c.status == PASS for c in checklist)} ok, "
                    f"{sum(c.status == WARN for c in checklist)} warnings, {len(failing)} failures"
                    + (" (--force)" if failing else ""))
    stack, notes, secret_problem = _secrets(args, stack, mode)
    for n in notes:
        printer.say(n)
    # Only paths and secrets can block, and neither needs the engine probes, the docs scan or
    # `docker compose config` (which `up` itself runs): ~0.6 s saved on every `up`.
    blocking = doctor.blocking(doctor.run_doctor(stack, engine=False, compose=False, docs=False))
    if secret_problem:
        blocking.append(Check(id="secrets.materialize", area="secrets", severity="error", status=FAIL,
                              title=secret_problem))
    if blocking and not args.force:
        areas = sorted({c.area for c in blocking})
        raise _Refused(f"{len(blocking)} failing {' and '.join(areas)} check(s)", blocking,
                       "fix them (`toolbox-tui fix --apply`, `toolbox-tui secrets generate`), "
                       "or pass --force to try anyway")
    if blocking:
        payload["forced_past"] = [c.id for c in blocking]
        printer.say(f"--force: starting despite {len(blocking)} failing check(s)")
    return stack, notes


def cmd_up(args: argparse.Namespace) -> int:
    from toolbox_tui.lifecycle.access import access_urls
    from toolbox_tui.lifecycle.up import start_stack

    t0 = time.monotonic()
    # Connect to the engine while the stack loads and the pre-flight checks run.
    client_future = background.start(engine_client, name="tbx-connect")
    stack = load_project(args)
    mode = args.mode or stack.mode or "dev"
    payload: dict[str, Any] = {"version": 1, "command": "up", "project": project_json(stack),
                               "mode": mode, "ok": False}
    printer = _Printer(args)
    try:
        stack, notes = _preflight(args, stack, mode, client_future, printer, payload)
    except _Refused as refused:
        payload.update({"refused": str(refused), "blocking": [c.to_json() for c in refused.checks],
                        "elapsed": round(time.monotonic() - t0, 3)})
        if args.json:
            emit(payload)
        else:
            out(f"toolbox-tui: refusing to start: {refused}", stderr=True)
            for c in refused.checks:
                out(check_line(c), stderr=True)
                if c.hint:
                    out(f"       hint: {c.hint}", stderr=True)
            out(f"  hint: {refused.hint}", stderr=True)
        return EXIT_FAIL

    client = client_future.result()
    printer.say(f"starting {stack.name} ({mode}) ...")
    outcome = start_stack(stack, client, timeout=args.timeout, services=args.services or None,
                          on_progress=printer.progress, on_state=printer.state,
                          on_phase=lambda phase: printer.say(f"{phase} ..."))
    up = outcome.compose
    payload["compose_up"] = {"returncode": up.returncode, "error": up.error,
                             "elapsed": round(up.elapsed, 3), "warnings": list(up.warnings)}
    if outcome.wait is not None:
        w = outcome.wait
        payload["wait"] = {"ok": w.ok, "elapsed": round(w.elapsed, 3), "timed_out": w.timed_out,
                           "stopped_early": w.stopped_early, "engine_lost": w.engine_lost}
    if outcome.engine_lost is not None:
        return _engine_lost(args, stack, payload, printer, outcome)
    payload["services"] = [st.to_json() for st in (outcome.states or {}).values()]
    payload["events"] = printer.events
    payload["elapsed"] = round(time.monotonic() - t0, 3)
    if outcome.ok:
        urls = [u.to_json() for u in access_urls(stack)]
        payload.update({"ok": True, "urls": urls, "notes": notes})
        if args.json:
            emit(payload)
        else:
            n = len(outcome.states or {})
            printer.say(f"{stack.name} is healthy ({n} services, {payload['elapsed']:.1f} s)")
            if urls:
                printer.say("access:")
                for u in urls:
                    extra = f"  (health: {u['health']})" if u.get("health") else ""
                    printer.say(f"  {u['label']:<24} {u['url']}{extra}")
        return EXIT_OK
    payload["diagnoses"] = [d.to_json() for d in outcome.diagnoses]
    payload["notes"] = notes
    if args.json:
        emit(payload)
    else:
        what = "docker compose up failed" if not up.ok else (
            f"not healthy after {args.timeout:.0f} s" if payload.get("wait", {}).get("timed_out")
            else "a service failed")
        out(f"\ntoolbox-tui: {stack.name}: {what}. Diagnosis:", stderr=True)
        for d in outcome.diagnoses:
            out("\n".join(d.lines()), stderr=True)
            out("", stderr=True)
    return EXIT_FAIL


def _engine_lost(args: argparse.Namespace, stack: Stack, payload: dict[str, Any], printer: _Printer,
                 outcome: Any) -> int:
    """dockerd stopped (or restarted) during `up`: say so and what to do, exit 3. Nothing here
    talks to the engine. The secret files `up` wrote stay (the re-run needs them); named here,
    `toolbox-tui down` removes them, as after any `up`."""
    from toolbox_tui.secrets.materialize import read_journal

    lost = outcome.engine_lost
    states = outcome.states or {}
    pending = [st for st in states.values() if not st.done]
    secret_files: list[str] = []
    secret_dir = ""
    try:
        journal = read_journal(stack)
        secret_files = sorted(str(p) for p in (journal.get("files") or {}).values())
        secret_dir = str(journal.get("dir") or "")
    except Exception:  # noqa: BLE001 - an unreadable journal: nothing to report
        pass
    hint = "start the Docker engine again (until `docker info` answers), then re-run `toolbox-tui up`"
    payload.update({"engine_lost": {"phase": lost.phase, "reason": lost.reason,
                                    "compose_error": lost.compose_error,
                                    "secret_files_kept": secret_files, "hint": hint},
                    "services": [st.to_json() for st in states.values()],
                    "events": printer.events, "ok": False})
    if args.json:
        emit(payload)
        return EXIT_EVAL
    out("", stderr=True)
    error(f"{stack.name}: the Docker engine went away while {lost.phase} ({lost.reason}).")
    if lost.compose_error:
        out(f"  docker compose said: {lost.compose_error}", stderr=True)
    if pending:
        out("  not ready when it went: " + ", ".join(
            f"{st.service} ({st.reason or st.state})" for st in pending), stderr=True)
    if secret_files:
        out(f"  {len(secret_files)} secret file(s) written for Compose stay in "
            f"{secret_dir or 'the secrets directory'} for the re-run; "
            "`toolbox-tui down` removes them.", stderr=True)
    out(f"  hint: {hint}", stderr=True)
    return EXIT_EVAL
