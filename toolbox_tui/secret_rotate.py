"""Rotate one secret: new value, rewrite its file, recreate only the services that use it.

Order of events (Compose target):
1. the current value is kept in the keyring as `<name>@previous`, the new one becomes `<name>`;
2. the files are rewritten (`materialize`), including derived secrets built from this one;
3. each dependent *running* service is recreated alone (`up -d --no-deps --force-recreate --wait`),
   in dependency order (dependencies first);
4. healthy: `<name>@previous` is deleted. Failure: the old value is restored, the files rewritten
   and the same services recreated again (rolled back).

A journal of the steps (names only, never values) goes to `state_dir/runs/<timestamp>/rotate.json`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from toolbox_tui import secret_kinds as sk
from toolbox_tui.secret_inventory import SecretEntry, build_inventory, find
from toolbox_tui.secret_store import PREVIOUS_SUFFIX


@dataclass
class RotateReport:
    name: str
    affected_secrets: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    """Services recreated, in the order they were recreated."""
    steps: list[str] = field(default_factory=list)
    ok: bool = False
    rolled_back: bool = False
    error: str = ""
    journal: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "affected_secrets": self.affected_secrets, "services": self.services,
                "steps": self.steps, "ok": self.ok, "rolled_back": self.rolled_back,
                "error": self.error, "journal": self.journal}

    def summary(self) -> str:
        if self.ok:
            svc = ", ".join(self.services) or "no running service"
            return f"{self.name}: rotated; recreated {svc}"
        state = "rolled back to the previous value" if self.rolled_back else "NOT rolled back"
        return f"{self.name}: rotation failed ({self.error}); {state}"


def affected(entries: list[SecretEntry], name: str) -> list[SecretEntry]:
    """`name` and every derived secret built from it (transitively)."""
    out = [e for e in entries if e.name == name]
    names = {name.lower()}
    changed = True
    while changed:
        changed = False
        for e in entries:
            if e.derive and e.name.lower() not in names and \
                    names & {p.lower() for p in sk.template_parts(e.derive)}:
                names.add(e.name.lower())
                out.append(e)
                changed = True
    return out


def dependency_order(stack: Any, services: set[str]) -> list[str]:
    """`services` sorted so that each comes after the services it depends on (ties by name)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...] = ()) -> None:
        if name in seen or name in path:
            return
        svc = stack.services.get(name)
        for dep in sorted((svc.depends_on if svc else {}) or {}):
            visit(dep, (*path, name))
        seen.add(name)
        order.append(name)

    for s in sorted(services):
        visit(s)
    return [s for s in order if s in services]


def running_services(stack: Any) -> set[str]:
    from toolbox_tui.compose_cli import parse_ndjson, run

    proc = run([*stack.compose_args(), "ps", "--format", "json"], timeout=60)
    if proc.returncode != 0:
        return set()
    return {str(c.get("Service")) for c in parse_ndjson(proc.stdout)
            if str(c.get("State", "")).lower() in ("running", "restarting")}


def _recreate(stack: Any, service: str, timeout: float) -> str | None:
    """Recreate one service and wait for it; returns an error sentence or None."""
    from toolbox_tui.compose_cli import clean_error, run

    proc = run([*stack.compose_args(), "up", "-d", "--no-deps", "--force-recreate", "--wait",
                "--wait-timeout", str(int(timeout)), service], timeout=timeout + 60)
    if proc.returncode != 0:
        return f"{service}: {clean_error(proc.stderr).splitlines()[-1]}"
    return None


def _journal(stack: Any, report: RotateReport) -> str | None:
    from toolbox_tui.project import state_dir

    try:
        d = state_dir(stack) / "runs" / time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        d.mkdir(parents=True, exist_ok=True)
        path = d / "rotate.json"
        path.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
        return str(path)
    except OSError:
        return None


def rotate(stack: Any, store: Any, name: str, new_value: str, *, mode: str = "dev", timeout: float = 120,
           progress: Callable[[str], None] | None = None,
           recreate: Callable[[Any, str, float], str | None] = _recreate) -> RotateReport:
    """Rotate secret `name` to `new_value` (already validated). Never raises for engine failures."""
    from toolbox_tui import secret_materialize as sm

    say = progress or (lambda _m: None)
    report = RotateReport(name)
    entries = build_inventory(stack)
    entry = find(entries, name)
    if entry is None:
        report.error = f"{name!r} is not a secret of this stack"
        return report
    name = report.name = entry.name
    chain = affected(entries, name)
    report.affected_secrets = [e.name for e in chain]
    users = {s for e in chain for s in e.used_by}
    materialized = bool(sm.read_journal(stack).get("files")) or stack.secrets_override is not None
    old = store.get(name)
    if old is not None:
        store.set(name + PREVIOUS_SUFFIX, old)
    store.set(name, new_value)
    report.steps.append("stored new value; previous kept as " + name + PREVIOUS_SUFFIX)

    def rematerialize() -> Any:
        result = sm.materialize_report(stack, store, mode=mode)
        report.steps.append(f"rewrote {len(result.files)} secret file(s)")
        return result.stack

    def restore(reason: str) -> RotateReport:
        report.error = reason
        say(f"rotation of {name} failed ({reason}); restoring the previous value")
        if old is None:
            store.delete(name)
        else:
            store.set(name, old)
        try:
            restored = rematerialize() if materialized else stack
            for svc in report.services:
                recreate(restored, svc, timeout)
            report.rolled_back = True
            report.steps.append("rolled back")
            store.delete(name + PREVIOUS_SUFFIX)
        except Exception as exc:  # noqa: BLE001 - report, never leak
            report.steps.append(f"rollback incomplete: {type(exc).__name__}")
        report.journal = _journal(stack, report)
        return report

    try:
        current = rematerialize() if materialized else stack
    except (sm.SecretsIncomplete, sm.SecretsRefused, sm.UnsafeSecretsDir) as exc:
        return restore(str(exc))
    running = running_services(current) if users else set()
    targets = dependency_order(current, users & running)
    for svc in targets:
        say(f"recreating {svc}")
        report.services.append(svc)
        err = recreate(current, svc, timeout)
        if err:
            return restore(err)
        report.steps.append(f"recreated {svc}: healthy")
    store.delete(name + PREVIOUS_SUFFIX)
    report.ok = True
    report.steps.append("previous value deleted")
    report.journal = _journal(stack, report)
    return report
