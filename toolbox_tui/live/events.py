"""The state of a Compose project's services, kept current from the engine's event stream.

One thread reads `/events` filtered to the project's label (`com.docker.compose.project=NAME`)
instead of polling each container. Health probes run as `exec_*` events on every interval; those
are noise and ignored. On a relevant event the project's containers are listed and a fresh, frozen
`ServiceState` is emitted from the list at once; the container is then inspected (for restarts,
start time, exit details, the health log) in that service's own thread, and a detailed state
follows. The engine answers the list from a snapshot but takes the container's lock to inspect it,
and a health-check exec that is slow to start holds that lock: one slow container must not stall
every other row. die/oom/restart/health changes also become `StackEvent`s.

When the daemon goes away the watcher says so (`EngineStatus`), retries with backoff, and on
reconnect takes a new snapshot and replays the events it missed (`since=` the last one seen).
Names, labels and health output are untrusted: sanitized before they leave this module.
No Textual here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable

from toolbox_tui.engine.containers import (
    SERVICE_LABEL, ServiceState, health_probes, is_oneoff, list_status, parse_ts, project_filter,
)
from toolbox_tui.sanitize import display_name, strip_all

INTERESTING = {"create", "start", "restart", "die", "oom", "kill", "stop", "pause", "unpause",
               "destroy", "rename", "update"}
"""Container actions that change what the services panel shows."""

REPORTED = {"start", "restart", "die", "oom", "stop", "destroy", "create", "pause", "unpause"}
"""Actions shown in the events panel (plus every health change)."""


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
        health_log=health_probes(info),
    )


def state_from_list(service: str, c: dict) -> ServiceState:
    """A `ServiceState` from one entry of the container list (`docker ps`): what the engine
    answers without taking the container's lock. `details` is False (see `ServiceState`)."""
    health, exit_code = list_status(c)
    state = str(c.get("State") or "unknown")
    ports = []
    for p in c.get("Ports") or ():
        if p.get("PublicPort"):
            ports.append(f"{p.get('IP') or '0.0.0.0'}:{p['PublicPort']}->{p.get('PrivatePort')}/"
                         f"{p.get('Type') or 'tcp'}")
    names = c.get("Names") or [""]
    return ServiceState(
        service=service,
        container_id=str(c.get("Id", "")),
        container_name=strip_all(str(names[0]).lstrip("/"), max_len=128),
        state=strip_all(state, max_len=20),
        health=health,
        exit_code=exit_code if state != "running" else None,
        ports=tuple(strip_all(p, max_len=64) for p in dict.fromkeys(ports)),
        image=strip_all(str(c.get("Image", "")), max_len=128),
        details=False,
    )


def _pick(service: str, containers: list[dict]) -> dict | None:
    """The service's current container: a running one first, then the newest."""
    found = [c for c in containers if (c.get("Labels") or {}).get(SERVICE_LABEL) == service]
    found.sort(key=lambda c: (c.get("State") == "running", c.get("Created", 0)), reverse=True)
    return found[0] if found else None


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
        self._lock = threading.RLock()
        """Guards `states` and the inspect bookkeeping; held while a state is emitted, so the
        callbacks see each service's states in order."""
        self._idle = threading.Condition(self._lock)
        self._want: dict[str, str] = {}
        """Service → the container id its inspector should inspect next."""
        self._inspecting: set[str] = set()
        """Services whose inspector thread is running."""

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
        with self._idle:
            self._idle.notify_all()

    # --- snapshot ------------------------------------------------------------------------------

    def _containers(self) -> list[dict]:
        found = self.client.api.containers(all=True, filters={"label": [project_filter(self.project)]})
        return [c for c in found if not is_oneoff(c.get("Labels"))]

    def refresh_service(self, service: str, containers: list[dict] | None = None) -> ServiceState:
        """Emit the service's state from the container list (listed now unless `containers` is
        given) and have its current container inspected for the details."""
        c = _pick(service, self._containers() if containers is None else containers)
        name = self._shown(service)
        with self._lock:
            old = self.states.get(service)
            if c is None:
                state = ServiceState(name)
            else:
                state = state_from_list(name, c)
                if old is not None and old.container_id == state.container_id:
                    if (old.state, old.health) == (state.state, state.health):
                        state = replace(old, ports=state.ports)  # keep what the inspect knew
                    else:  # changed: the list's word until the inspect answers, same counters
                        state = replace(state, restarts=old.restarts,
                                        failing_streak=old.failing_streak,
                                        health_log=old.health_log)
            self._emit(service, state)
            if c is not None and not self._stop.is_set():
                self._want[service] = state.container_id
                if service not in self._inspecting:
                    self._inspecting.add(service)
                    threading.Thread(target=self._inspector, args=(service,),
                                     name="inspect", daemon=True).start()
        return state

    def _inspector(self, service: str) -> None:
        """Inspect the service's current container until no newer request is waiting; emit the
        detailed state unless the service moved on meanwhile (a newer list state, another
        container). A stalled inspect holds up this service only."""
        while True:
            with self._lock:
                cid = self._want.pop(service, None)
                if cid is None or self._stop.is_set():
                    self._inspecting.discard(service)
                    self._idle.notify_all()
                    return
            try:
                info = self.client.api.inspect_container(cid)
            except Exception:  # noqa: BLE001 - removed meanwhile, engine gone, timed out: the
                continue       # list state stays; the next event or snapshot asks again
            with self._lock:
                current = self.states.get(service)
                if service in self._want or current is None or current.container_id != cid:
                    continue
                self._emit(service, state_from_inspect(self._shown(service), info))

    def wait_details(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for every pending inspect; False if some did not answer."""
        end = time.monotonic() + timeout
        with self._idle:
            while self._inspecting and not self._stop.is_set():
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _shown(self, service: str) -> str:
        name = display_name(service)
        self.raw_names[name] = service
        return name

    def state_of(self, shown: str) -> ServiceState | None:
        """The state of the service shown as `shown` (what the faces know it by)."""
        return self.states.get(self.raw_names.get(shown, shown))

    def snapshot(self) -> None:
        """One container list → a state for every service (declared or found); the inspects
        for the details follow in the background (`wait_details`)."""
        containers = self._containers()
        services = set(self.states)
        for c in containers:
            svc = (c.get("Labels") or {}).get(SERVICE_LABEL)
            if svc:
                services.add(svc)
        for svc in sorted(services):
            self.refresh_service(svc, containers)

    def _emit(self, service: str, state: ServiceState) -> None:
        with self._lock:
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
                    filters={"type": "container", "label": [project_filter(self.project)],
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
        if is_oneoff(attrs):
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

