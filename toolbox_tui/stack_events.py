"""The state of a Compose project's services, kept current from the engine's event stream.

One thread reads `/events` filtered to the project's label (`com.docker.compose.project=NAME`)
instead of polling each container. Health probes run as `exec_*` events on every interval; those
are noise and ignored. On a relevant event the container is inspected once and a fresh, frozen
`ServiceState` is emitted; die/oom/restart/health changes also become `StackEvent`s.

When the daemon goes away the watcher says so (`EngineStatus`), retries with backoff, and on
reconnect takes a new snapshot and replays the events it missed (`since=` the last one seen).
Names, labels and health output are untrusted: sanitized before they leave this module.
No Textual here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from toolbox_tui.log_pipeline import ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL, parse_ts
from toolbox_tui.sanitize import display_name, sanitize_oneline, strip_all

INTERESTING = {"create", "start", "restart", "die", "oom", "kill", "stop", "pause", "unpause",
               "destroy", "rename", "update"}
"""Container actions that change what the services panel shows."""

REPORTED = {"start", "restart", "die", "oom", "stop", "destroy", "create", "pause", "unpause"}
"""Actions shown in the events panel (plus every health change)."""


@dataclass(frozen=True)
class HealthProbe:
    """One health-check run, as the engine recorded it."""

    start: str
    """When it started (RFC 3339 as the engine wrote it)."""
    exit_code: int
    """0 healthy, 1 unhealthy, other values: the probe itself failed."""
    output: str
    """The probe's output folded into one sanitized line."""


@dataclass(frozen=True)
class ServiceState:
    """What the services panel shows for one service."""

    service: str
    """Compose service name (sanitized)."""
    container_id: str = ""
    """Full id of the service's current container; `""` when it has none."""
    container_name: str = ""
    state: str = "missing"
    """Engine state: running, exited, created, restarting, paused, dead; `missing` if none."""
    health: str = ""
    """healthy, unhealthy, starting; `""` when the service has no health check."""
    failing_streak: int = 0
    restarts: int = 0
    """Engine restart count of the current container (restart policy)."""
    started_at: float = 0.0
    """Epoch seconds when the container last started (0 when not running)."""
    exit_code: int | None = None
    oom_killed: bool = False
    ports: tuple[str, ...] = ()
    """Published ports, `127.0.0.1:8080->80/tcp`."""
    image: str = ""
    health_log: tuple[HealthProbe, ...] = ()
    """The engine's recent probe results (it keeps the last five)."""

    def uptime(self, now: float | None = None) -> float:
        if self.state != "running" or not self.started_at:
            return 0.0
        return max(0.0, (now if now is not None else time.time()) - self.started_at)


@dataclass(frozen=True)
class StackEvent:
    """A thing that happened to a service, for the events panel."""

    time: float
    """Epoch seconds."""
    service: str
    action: str
    """die, oom, restart, start, stop, destroy, create, health:healthy, health:unhealthy..."""
    detail: str = ""
    """E.g. `exit code 137`; sanitized."""
    container_id: str = ""


@dataclass(frozen=True)
class EngineStatus:
    """Whether the engine answers; shown in the status line."""

    connected: bool
    message: str = ""
    retry_in: float = 0.0


def format_uptime(seconds: float) -> str:
    s = int(seconds)
    if s <= 0:
        return "-"
    if s < 60:
        return "<1m"  # no per-second ticking: each changed cell re-renders the services table
    if s < 3600:
        return f"{s // 60}m"  # minute resolution: a cell that changes each second costs a repaint
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def _epoch(ts: str | None) -> float:
    if not ts or ts.startswith("0001-"):
        return 0.0
    return parse_ts(ts) / 1e9


def _ports(info: dict) -> tuple[str, ...]:
    out = []
    ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
    for target, binds in sorted(ports.items()):
        for b in binds or ():
            out.append(f"{b.get('HostIp') or '0.0.0.0'}:{b.get('HostPort')}->{target}")
    return tuple(strip_all(p, max_len=64) for p in dict.fromkeys(out))


def state_from_inspect(service: str, info: dict) -> ServiceState:
    """A `ServiceState` from `docker inspect` output."""
    st = info.get("State", {}) or {}
    health = st.get("Health") or {}
    probes = tuple(HealthProbe(str(p.get("Start", ""))[:35], int(p.get("ExitCode", -1)),
                               sanitize_oneline(p.get("Output", "") or "", max_len=400))
                   for p in (health.get("Log") or ()))
    status = st.get("Status", "unknown")
    return ServiceState(
        service=service,
        container_id=info.get("Id", ""),
        container_name=strip_all(str(info.get("Name", "")).lstrip("/"), max_len=128),
        state=strip_all(status, max_len=20),
        health=strip_all(health.get("Status", "") or "", max_len=20),
        failing_streak=int(health.get("FailingStreak", 0) or 0),
        restarts=int(info.get("RestartCount", 0) or 0),
        started_at=_epoch(st.get("StartedAt")) if status == "running" else 0.0,
        exit_code=None if status == "running" else st.get("ExitCode"),
        oom_killed=bool(st.get("OOMKilled")),
        ports=_ports(info),
        image=strip_all(str((info.get("Config") or {}).get("Image", "")), max_len=128),
        health_log=probes,
    )


class StackWatcher:
    """Keep `ServiceState`s of project `project` current; report changes through callbacks."""

    def __init__(self, client: Any, project: str, *,
                 on_state: Callable[[ServiceState], None],
                 on_event: Callable[[StackEvent], None] = lambda e: None,
                 on_engine: Callable[[EngineStatus], None] = lambda s: None,
                 services: Iterable[str] = (), max_backoff: float = 10.0) -> None:
        self.client = client
        """A `docker.DockerClient`."""
        self.project = project
        """Compose project name (the label value)."""
        self.on_state = on_state
        """Called from the watcher thread with each new `ServiceState`."""
        self.on_event = on_event
        """Called with each `StackEvent` worth showing."""
        self.on_engine = on_engine
        """Called when the engine goes away or comes back."""
        self.max_backoff = max_backoff
        """Longest wait between reconnection attempts (seconds)."""
        self.states: dict[str, ServiceState] = {s: ServiceState(display_name(s)) for s in services}
        """Latest state per service, keyed by the raw label (declared services start `missing`)."""
        self.raw_names: dict[str, str] = {display_name(s): s for s in services}
        """Shown name (`ServiceState.service`) → the raw service label it stands for."""
        self._stop = threading.Event()
        self._stream: Any = None
        self._thread: threading.Thread | None = None
        self._last_event = 0.0

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="stack-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._stream is not None:
            try:
                self._stream.close()
            except Exception:  # noqa: BLE001
                pass
        if self._thread:
            self._thread.join(timeout=2)

    # --- snapshot ------------------------------------------------------------------------------

    def _containers(self) -> list[dict]:
        found = self.client.api.containers(all=True, filters={"label": [f"{PROJECT_LABEL}={self.project}"]})
        return [c for c in found if (c.get("Labels") or {}).get(ONEOFF_LABEL, "False") != "True"]

    def refresh_service(self, service: str) -> ServiceState:
        """Inspect the service's current container (newest, a running one first) and emit it."""
        found = [c for c in self._containers() if (c.get("Labels") or {}).get(SERVICE_LABEL) == service]
        found.sort(key=lambda c: (c.get("State") == "running", c.get("Created", 0)), reverse=True)
        name = self._shown(service)
        if not found:
            state = ServiceState(name)
        else:
            try:
                state = state_from_inspect(name, self.client.api.inspect_container(found[0]["Id"]))
            except Exception as exc:  # noqa: BLE001 - removed between list and inspect
                if type(exc).__name__ != "NotFound":
                    raise
                state = ServiceState(name)
        self._emit(service, state)
        return state

    def _shown(self, service: str) -> str:
        name = display_name(service)
        self.raw_names[name] = service
        return name

    def state_of(self, shown: str) -> ServiceState | None:
        """The state of the service shown as `shown` (what the faces know it by)."""
        return self.states.get(self.raw_names.get(shown, shown))

    def snapshot(self) -> None:
        services = set(self.states)
        for c in self._containers():
            svc = (c.get("Labels") or {}).get(SERVICE_LABEL)
            if svc:
                services.add(svc)
        for svc in sorted(services):
            self.refresh_service(svc)

    def _emit(self, service: str, state: ServiceState) -> None:
        old = self.states.get(service)
        self.states[service] = state
        if old != state:
            self.on_state(state)

    # --- events ------------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.5
        connected: bool | None = None
        while not self._stop.is_set():
            try:
                self.client.ping()
                since = self._last_event or time.time()
                self.snapshot()
                if connected is not True:
                    self.on_engine(EngineStatus(True, "engine connected"))
                    connected = True
                backoff = 0.5
                self._stream = self.client.api.events(
                    since=since, decode=True,
                    filters={"type": "container", "label": [f"{PROJECT_LABEL}={self.project}"],
                             # server-side: no exec_* noise from every health probe
                             "event": sorted(INTERESTING | {"health_status"})})
                for ev in self._stream:
                    if self._stop.is_set():
                        break
                    self._handle(ev)
                if self._stop.is_set():
                    break
                raise ConnectionError("the engine closed the event stream")
            except Exception as exc:  # noqa: BLE001 - daemon gone or restarting
                if self._stop.is_set():
                    break
                connected = False
                self.on_engine(EngineStatus(False, _engine_error(exc), backoff))
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    def _handle(self, ev: dict) -> None:
        action = str(ev.get("Action") or ev.get("status") or "")
        if action.startswith("exec_"):
            return
        attrs = (ev.get("Actor") or {}).get("Attributes") or {}
        if attrs.get(ONEOFF_LABEL) == "True":
            return
        service = attrs.get(SERVICE_LABEL)
        if not service:
            return
        t = ev.get("timeNano")
        when = t / 1e9 if t else float(ev.get("time") or time.time())
        self._last_event = max(self._last_event, int(when))
        name = self._shown(service)
        cid = str((ev.get("Actor") or {}).get("ID") or ev.get("id") or "")
        if action.startswith("health_status"):
            status = action.split(":", 1)[1].strip() if ":" in action else ""
            old = self.states.get(service)
            if old is None or old.health != status:
                self.on_event(StackEvent(when, name, f"health:{strip_all(status, max_len=20)}",
                                         "", cid))
            self._refresh_quietly(service)
            return
        base = action.split(":", 1)[0]
        if base not in INTERESTING:
            return
        if base in REPORTED:
            detail = ""
            if base == "die":
                detail = f"exit code {strip_all(str(attrs.get('exitCode', '?')), max_len=8)}"
            self.on_event(StackEvent(when, name, base, detail, cid))
        self._refresh_quietly(service)

    def _refresh_quietly(self, service: str) -> None:
        try:
            self.refresh_service(service)
        except Exception:  # noqa: BLE001 - shown on the next snapshot
            pass


def _engine_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "Connection refused" in text or "FileNotFoundError" in text or "No such file" in text:
        return "the Docker engine does not answer (is dockerd running? is DOCKER_HOST right?)"
    return strip_all(f"lost the Docker engine: {text}", max_len=200)

