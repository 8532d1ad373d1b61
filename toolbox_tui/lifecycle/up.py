"""The one way a stack is started, for the CLI's `up` and the wizard's Startup step alike.

`prepare_secrets` writes the secret files Compose needs (and says what it did); `start_stack`
runs `docker compose up -d` with per-service progress, waits until every service is healthy from
the engine's events, and when something does not come up, diagnoses it per service. Throughout,
an engine that went away (dockerd stopped or restarted) is told apart from a service that failed:
that is `UpOutcome.engine_lost`, and nothing is diagnosed then (a diagnosis without an engine
would blame the services: "no container was created").

Nothing here prints; the faces show `UpOutcome` and the progress callbacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from toolbox_tui.lifecycle import diagnosis, health, startup

if TYPE_CHECKING:
    from toolbox_tui.compose.model import ComposeProject
    from toolbox_tui.compose.model import Stack
    from toolbox_tui.engine.containers import ServiceState
    from toolbox_tui.lifecycle.diagnosis import Diagnosis
    from toolbox_tui.lifecycle.startup import ServiceProgress, UpResult


@dataclass(frozen=True)
class EngineLost:
    """The engine went away while the stack was being started (not the project's fault)."""

    phase: str
    """What was going on: `starting the containers`, `waiting for health`, `diagnosing`."""
    reason: str
    """Why the engine counts as gone, in one sanitized line."""
    compose_error: str = ""
    """What `docker compose up` said, when it failed because of it."""


@dataclass(frozen=True)
class UpOutcome:
    """How a start ended: healthy, not healthy (with diagnoses), cancelled, or the engine lost."""

    stack: ComposeProject
    """The stack that was started."""
    compose: UpResult | None
    """How `docker compose up -d` ended (None when cancelled before it ran)."""
    wait: health.WaitResult | None = None
    """The health wait, when Compose started the containers."""
    states: Mapping[str, ServiceState] | None = None
    """The last state of each service."""
    not_ready: tuple[str, ...] = ()
    """Services that did not become ready."""
    diagnoses: tuple[Diagnosis, ...] = ()
    engine_lost: EngineLost | None = None
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return (self.compose is not None and self.compose.ok and not self.not_ready
                and self.engine_lost is None and not self.cancelled)


def wanted_services(stack: ComposeProject, services: Sequence[str] | None) -> list[str]:
    """The services `up` waits for: all of the stack's, or `services` and what they depend on."""
    if not services:
        return list(stack.services)
    out: list[str] = []
    todo = list(services)
    while todo:
        n = todo.pop()
        if n in out or n not in stack.services:
            continue
        out.append(n)
        todo.extend(stack.services[n].depends_on.keys())
    return out


def needs_secret_files(stack: ComposeProject) -> bool:
    """Whether `up` must write secret files first: a service uses an `external: true` secret
    (Compose refuses those at container create, swarm or not: verified with Compose 2.40), or a
    `file:` secret whose file is missing (its value comes from the store, like an external one),
    or our override is loaded (its files may be gone since: a reboot empties the runtime dir)."""
    provided = any(s.used_by and (s.kind == "external" or s.file_missing)
                   for s in stack.secrets.values())
    return provided or stack.secrets_override is not None


def prepare_secrets(stack: "Stack", store: Any, mode: str) -> tuple["Stack", list[str]]:
    """The stack to start (with the secrets override applied) and notes for the user.

    Raises the materializer's errors (`SecretsIncomplete`, `SecretsRefused`, ...), which name
    what is missing and what to do; values never appear in them or in the notes."""
    if not needs_secret_files(stack):
        return stack, []
    from toolbox_tui.secrets.materialize import materialize_report

    report = materialize_report(stack, store, mode=mode)
    notes = [f"secrets: {len(report.files)} file(s) written for Compose (override "
             f"{report.override})" if report.override else "secrets: nothing to materialize"]
    if report.placeholders:
        notes.append("secrets: PLACEHOLDER values (features that need them will not work): "
                     + ", ".join(report.placeholders))
    return report.stack, notes


def start_stack(stack: ComposeProject, client: Any, *, timeout: float,
                services: Sequence[str] | None = None,
                on_progress: Callable[[ServiceProgress], None] | None = None,
                on_state: Callable[[ServiceState], None] | None = None,
                on_phase: Callable[[str], None] | None = None,
                cancelled: Callable[[], bool] = lambda: False) -> UpOutcome:
    """`docker compose up -d`, wait until healthy, diagnose what is not (see the module doc).

    `services` limits the start to those and their dependencies. `on_phase` hears
    `waiting for health` when the containers are up and the wait begins. `cancelled` is asked
    between the phases (a face that quits sets it, and ends the wait by closing `client`'s
    streams)."""
    wanted = wanted_services(stack, services)
    up = startup.compose_up(stack, on_event=on_progress, services=list(services) if services else None)
    if cancelled():
        return UpOutcome(stack, up, cancelled=True)
    if up.ok:
        if on_phase is not None:
            on_phase("waiting for health")
        result = health.wait_healthy(stack, client, timeout=timeout, on_change=on_state, services=wanted)
        if cancelled():
            return UpOutcome(stack, up, result, result.states, cancelled=True)
        if result.engine_lost:
            return UpOutcome(stack, up, result, result.states,
                             engine_lost=EngineLost("waiting for health", result.engine_lost))
        states: Mapping[str, ServiceState] = result.states
        bad = result.not_ready
        wait: health.WaitResult | None = result
    else:
        # Compose failing because dockerd stopped under it is not the project's fault.
        wait = None
        gone = health.engine_gone(client)
        if gone is None:
            try:
                states = health.snapshot(stack, client)
            except Exception as exc:  # noqa: BLE001 - requests/docker errors: it went away now
                gone = f"the engine stopped answering: {type(exc).__name__}"
        if gone is not None:
            return UpOutcome(stack, up, engine_lost=EngineLost("starting the containers", gone, up.error))
        bad = [s for s in wanted if not states.get(s) or not states[s].done]
    if up.ok and not bad:
        return UpOutcome(stack, up, wait, states)
    lost = _engine_lost_while_diagnosing(client)
    if lost is None:
        try:
            diags = diagnosis.diagnose(stack, client, bad, states=states, up_error=up.error,
                                       failed_service=up.failed_service)
        except Exception:  # noqa: BLE001 - the diagnosis reads logs/inspect: the engine went away
            lost = _engine_lost_while_diagnosing(client)
            if lost is None:
                raise
    if lost is not None:
        return UpOutcome(stack, up, wait, states, tuple(bad), engine_lost=lost)
    return UpOutcome(stack, up, wait, states, tuple(bad), tuple(diags))


def _engine_lost_while_diagnosing(client: Any) -> EngineLost | None:
    gone = health.engine_gone(client)
    return EngineLost("diagnosing", gone) if gone is not None else None
