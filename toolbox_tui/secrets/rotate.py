"""Rotate one secret: new value, rewrite its file, recreate only the services that use it.

Order of events (Compose target):
1. the current value is kept in the keyring as `<name>@previous`, the new one becomes `<name>`;
2. the files are rewritten (`materialize`), including derived secrets built from this one;
3. each dependent *running* service is recreated alone (`up -d --no-deps --force-recreate --wait`),
   in dependency order (dependencies first);
4. healthy: `<name>@previous` is deleted. Failure: the old value is restored, the files rewritten
   and the same services recreated again (rolled back).

Swarm target (`rotate_swarm`): a new versioned engine secret (`<name>_v2`...) is created through
the API, then each swarm service of the stack (label `com.docker.stack.namespace=<project>`) that
mounts the secret gets its secret reference swapped (the equivalent of `service update --secret-rm
--secret-add`, same target file), in dependency order, waiting for the update to complete; on
failure the services get their previous references back and the keyring its previous value.

A journal of the steps (names only, never values) goes to `state_dir/runs/<timestamp>/rotate.json`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from toolbox_tui.atomic_files import atomic_write
from toolbox_tui.secrets import kinds as sk
from toolbox_tui.state_dir import UnsafeStateDir, ensure_state_dir
from toolbox_tui.secrets.inventory import SecretEntry, build_inventory, find
from toolbox_tui.secrets.store import PREVIOUS_SUFFIX
from toolbox_tui.secrets.files import UnsafeSecretsDir
from toolbox_tui.secrets.swarm import LABEL_SECRET, ensure_swarm_secret

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack


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


def dependency_order(stack: Stack, services: set[str]) -> list[str]:
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


def running_services(stack: Stack) -> set[str]:
    from toolbox_tui.engine.compose_cli import parse_ndjson, run

    proc = run([*stack.compose_args(), "ps", "--format", "json"], timeout=60)
    if proc.returncode != 0:
        return set()
    return {str(c.get("Service")) for c in parse_ndjson(proc.stdout)
            if str(c.get("State", "")).lower() in ("running", "restarting")}


def _recreate(stack: Stack, service: str, timeout: float) -> str | None:
    """Recreate one service and wait for it; returns an error sentence or None."""
    from toolbox_tui.engine.compose_cli import clean_error, run

    proc = run([*stack.compose_args(), "up", "-d", "--no-deps", "--force-recreate", "--wait",
                "--wait-timeout", str(int(timeout)), service], timeout=timeout + 60,
               finish_on_interrupt=True)  # a recreate killed half-way leaves no container
    if proc.returncode != 0:
        return f"{service}: {clean_error(proc.stderr).splitlines()[-1]}"
    return None


def _journal(stack: Stack, report: RotateReport) -> str | None:

    try:
        d = ensure_state_dir(stack.state_dir) / "runs" / time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = d / "rotate.json"
        atomic_write(path, (json.dumps(report.to_json(), indent=2) + "\n").encode(), mode=0o600)
        return str(path)
    except (OSError, UnsafeStateDir):
        return None


def _rollback_uninterrupted(restore: Callable[[str], Any], reason: str) -> None:
    """Run `restore(reason)` with SIGINT/SIGTERM/SIGHUP held (delivered when it returns), so a
    second Ctrl-C cannot leave the keyring, the files and the containers disagreeing."""
    import signal

    # SIGALRM too: it raises a deferred interrupt (cli.entry.raise_interrupt); raised right after
    # the mask is set, before the `try`, it would leave the other three blocked for good
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, OSError, ValueError):  # no sigmask on this platform
        previous = None
    try:
        restore(reason)
    finally:
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _store_new(store: Any, name: str, old: str | None, new_value: str) -> None:
    """Keep the current value as NAME@previous (if there is one) and store the new one."""
    if old is not None:
        store.set(name + PREVIOUS_SUFFIX, old)
    store.set(name, new_value)


def _restore_value(store: Any, name: str, old: str | None) -> None:
    """Put the value from before the rotation back in the keyring (none: remove the new one)."""
    if old is None:
        store.delete(name)
    else:
        store.set(name, old)


def _succeeded(stack: Stack, store: Any, name: str, report: "RotateReport") -> "RotateReport":
    """The new value is everywhere: drop the kept previous value and journal the run."""
    store.delete(name + PREVIOUS_SUFFIX)
    report.ok = True
    report.steps.append("previous value deleted")
    report.journal = _journal(stack, report)
    return report


def _on_interrupt(report: "RotateReport", name: str, restore: Callable[[str], Any],
                  say: Callable[[str], None]) -> None:
    """Ctrl-C, or SIGTERM/SIGHUP (the CLI turns them into KeyboardInterrupt): put the previous
    value back everywhere before leaving, with further signals held until that is done. The
    caller re-raises."""
    if report.ok:  # done already: the new value is everywhere, nothing to undo
        return
    _rollback_uninterrupted(restore, "interrupted")
    say(f"{name}: rolled back to the previous value" if report.rolled_back else
        f"{name}: the rollback did not complete ({'; '.join(report.steps[-1:])}); run "
        f"`toolbox-tui secrets rotate {name}` again")


def _begin(stack: Stack, name: str) -> tuple["RotateReport", list, list]:
    """The report, the inventory and the secrets that change with `name` (it and those derived
    from it); the report carries an error when `name` is not a secret of the stack."""
    report = RotateReport(name)
    entries = build_inventory(stack)
    entry = find(entries, name)
    if entry is None:
        report.error = f"{name!r} is not a secret of this stack"
        return report, entries, []
    report.name = entry.name
    chain = affected(entries, entry.name)
    report.affected_secrets = [e.name for e in chain]
    return report, entries, chain


def rotate(stack: Stack, store: Any, name: str, new_value: str, *, mode: str = "dev", timeout: float = 120,
           progress: Callable[[str], None] | None = None,
           recreate: Callable[[Any, str, float], str | None] = _recreate) -> RotateReport:
    """Rotate secret `name` to `new_value` (already validated). Never raises for engine failures."""
    from toolbox_tui.secrets import materialize as sm

    say = progress or (lambda _m: None)
    report, entries, chain = _begin(stack, name)
    if report.error:
        return report
    name = report.name
    users = {s for e in chain for s in e.used_by}
    materialized = bool(sm.read_journal(stack).get("files")) or stack.secrets_override is not None
    old = store.get(name)
    planned: list[str] = []
    """The running services that mount the secret, in recreate order (set once known)."""

    def rematerialize() -> Any:
        result = sm.materialize_report(stack, store, mode=mode)
        report.steps.append(f"rewrote {len(result.files)} secret file(s)")
        return result.stack

    def restore(reason: str) -> RotateReport:
        report.error = reason
        say(f"rotation of {name} failed ({reason}); restoring the previous value")
        _restore_value(store, name, old)
        try:
            restored = rematerialize() if materialized else stack
            # once one was recreated, every running user of the secret is: a container Compose
            # touched beside the one asked for (or that restarted meanwhile) mounts the file as
            # it was then, so only a recreate now makes it hold the restored value
            again = list(planned) if report.services else []
            failed = [e for e in (recreate(restored, svc, timeout) for svc in again) if e]
            if failed:  # the previous value is back in the keyring and files, not in a container
                report.steps.append(f"rollback incomplete: {'; '.join(failed)}")
            else:
                report.rolled_back = True
                report.steps.append("rolled back")
                store.delete(name + PREVIOUS_SUFFIX)
        except Exception as exc:  # noqa: BLE001 - report, never leak
            report.steps.append(f"rollback incomplete: {type(exc).__name__}")
        report.journal = _journal(stack, report)
        return report

    try:
        _store_new(store, name, old, new_value)
        report.steps.append("stored new value; previous kept as " + name + PREVIOUS_SUFFIX)
        try:
            current = rematerialize() if materialized else stack
        except (sm.SecretsIncomplete, sm.SecretsRefused, UnsafeSecretsDir) as exc:
            return restore(str(exc))
        running = running_services(current) if users else set()
        targets = dependency_order(current, users & running)
        planned[:] = targets
        for svc in targets:
            say(f"recreating {svc}")
            report.services.append(svc)
            err = recreate(current, svc, timeout)
            if err:
                return restore(err)
            report.steps.append(f"recreated {svc}: healthy")
        return _succeeded(stack, store, name, report)
    except KeyboardInterrupt:
        _on_interrupt(report, name, restore, say)
        raise


# --- swarm ------------------------------------------------------------------------------------

def _stack_services(client: Any, project: str) -> dict[str, Any]:
    """Compose service name -> swarm service of `docker stack deploy` namespace `project`."""
    out = {}
    for svc in client.services.list(filters={"label": f"com.docker.stack.namespace={project}"}):
        short = svc.name[len(project) + 1:] if svc.name.startswith(project + "_") else svc.name
        out[short] = svc
    return out


def _wait_update(client: Any, service_id: str, secret_ids: set[str], timeout: float) -> str | None:
    """Wait until the service's update completed with tasks running the new secrets; error or None."""
    end = time.monotonic() + timeout
    last = "no update status"
    while time.monotonic() < end:
        info = client.api.inspect_service(service_id)
        state = (info.get("UpdateStatus") or {}).get("State")
        if state in ("paused", "rollback_started", "rollback_paused", "rollback_completed"):
            return f"update {state}: {(info.get('UpdateStatus') or {}).get('Message', '')}".strip()
        tasks = client.api.tasks(filters={"service": service_id, "desired-state": "running"})
        current = [t for t in tasks if secret_ids <= {r.get("SecretID") for r in
                   ((t.get("Spec") or {}).get("ContainerSpec") or {}).get("Secrets") or []}]
        if current and all((t.get("Status") or {}).get("State") == "running" for t in current) \
                and state in (None, "completed"):
            return None
        last = f"update {state or 'pending'}"
        time.sleep(0.5)
    return f"did not converge within {timeout:.0f} s ({last})"


def rotate_swarm(stack: Stack, store: Any, name: str, new_value: str, *, client: Any, mode: str = "dev",
                 timeout: float = 120, progress: Callable[[str], None] | None = None) -> RotateReport:
    """Rotate `name` on a swarm: versioned engine secret(s), then swap references service by service."""
    from toolbox_tui.secrets.inventory import resolve

    say = progress or (lambda _m: None)
    report, entries, chain = _begin(stack, name)
    if report.error:
        return report
    name = report.name
    old = store.get(name)
    services: dict[str, Any] = {}
    plan: dict[str, tuple[list[dict], list[dict]]] = {}
    swapped: list[str] = []
    """Services whose update was sent (or being sent when interrupted): the ones to swap back."""

    def swap(short: str, refs: list[dict]) -> None:
        svc = services[short]
        svc.reload()
        client.api.update_service(svc.id, svc.version, task_template={"ContainerSpec": {"Secrets": refs}},
                                  fetch_current_spec=True)

    def restore(reason: str) -> RotateReport:
        report.error = reason
        say(f"rotation of {name} failed ({reason}); restoring the previous secrets")
        failed = []
        for back in swapped:
            try:
                swap(back, plan[back][0])
            except Exception:  # noqa: BLE001 - engine refused or gone: say so below
                failed.append(back)
        _restore_value(store, name, old)
        store.delete(name + PREVIOUS_SUFFIX)
        if failed:
            report.steps.append(f"rollback incomplete: {', '.join(failed)} still use the new secret")
        else:
            report.rolled_back = True
            report.steps.append("rolled back")
        report.journal = _journal(stack, report)
        return report

    try:
        _store_new(store, name, old, new_value)
        values, _status = resolve(stack, entries, store, mode=mode)
        new_ids: dict[str, tuple[str, str]] = {}  # secret -> (engine id, engine name)
        for e in chain:
            if e.name not in values:
                continue
            engine_name, _what = ensure_swarm_secret(client, store, stack.name, e.name,
                                                        values[e.name], e.external_name or e.name)
            new_ids[e.name] = (client.secrets.get(engine_name).id, engine_name)
        report.steps.append("created " + ", ".join(n for _, n in new_ids.values()))
        services.update(_stack_services(client, stack.name))

        def owner(secret_id: str) -> str | None:
            try:
                labels = client.secrets.get(secret_id).attrs["Spec"].get("Labels") or {}
            except Exception:  # noqa: BLE001
                return None
            return labels.get(LABEL_SECRET)

        for short, svc in services.items():
            spec = svc.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
            refs = spec.get("Secrets") or []
            new_refs, changed = [], False
            for r in refs:
                secret = owner(r["SecretID"]) or next(
                    (e.name for e in chain
                     if r.get("SecretName") in ((e.external_name or e.name), e.name)), None)
                if secret in new_ids and r["SecretID"] != new_ids[secret][0]:
                    new_refs.append({**r, "SecretID": new_ids[secret][0],
                                     "SecretName": new_ids[secret][1]})
                    changed = True
                else:
                    new_refs.append(r)
            if changed:
                plan[short] = (refs, new_refs)

        for short in dependency_order(stack, set(plan)) + sorted(set(plan) - set(stack.services)):
            say(f"updating swarm service {services[short].name}")
            report.services.append(short)
            swapped.append(short)
            swap(short, plan[short][1])
            err = _wait_update(client, services[short].id, {i for i, _ in new_ids.values()}, timeout)
            if err:
                return restore(f"{short}: {err}")
            report.steps.append(f"updated {short}")
        return _succeeded(stack, store, name, report)
    except KeyboardInterrupt:
        _on_interrupt(report, name, restore, say)
        raise
