"""The state of a project's services, from one snapshot plus the engine's events.

`HealthTracker` keeps one box per container (state, health, exit code, restarts, OOM flag, a
stop request seen) and judges each service by its worst container: done, pending or failed, with
the reason in a few words. It needs no live stream, so tests and replays drive it directly;
`health.HealthWaiter` feeds it from the engine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from toolbox_tui.engine.containers import (
    DONE, FAILED, PENDING, SERVICE_LABEL, ServiceState, is_oneoff, parse_ts,
)

RESTART_LOOP = 3
"""Restarts after which a service is declared to be in a restart loop."""


@dataclass
class _Box:
    """Mutable tracking of one container."""

    id: str
    service: str
    state: str = "created"
    health: str | None = None
    has_hc: bool = False
    exit_code: int | None = None
    restarts: int = 0
    oom: bool = False
    policy: str = "no"
    killed: bool = False
    """A stop/kill request (`kill` event) came since the last start: docker stop, compose down,
    or dockerd shutting down."""


def box_from_attrs(attrs: Mapping[str, Any], service: str, declared_policy: str | None = None) -> _Box:
    st = attrs.get("State") or {}
    cfg = attrs.get("Config") or {}
    hcfg = cfg.get("Healthcheck") or {}
    has_hc = bool(hcfg.get("Test")) and hcfg.get("Test") != ["NONE"] or bool(st.get("Health"))
    host = attrs.get("HostConfig") or {}
    policy = (host.get("RestartPolicy") or {}).get("Name") or declared_policy or "no"
    status = str(st.get("Status") or "created")
    exit_code = st.get("ExitCode") if status in ("exited", "dead") else None
    return _Box(id=str(attrs.get("Id") or ""), service=service, state=status,
                health=(st.get("Health") or {}).get("Status") if has_hc else None, has_hc=has_hc,
                exit_code=exit_code, restarts=int(attrs.get("RestartCount") or 0),
                oom=bool(st.get("OOMKilled")), policy=str(policy))


def container_verdict(b: _Box) -> tuple[str, str]:
    """(done|pending|failed, reason) for one container."""
    restarts_by_policy = b.policy not in ("no", "")
    if b.restarts >= RESTART_LOOP and not (b.state == "running" and b.has_hc and b.health == "healthy"):
        return FAILED, f"restart loop ({b.restarts} restarts)" + (", OOM-killed" if b.oom else "")
    if b.state == "running":
        if not b.has_hc:
            return DONE, "running"
        if b.health == "healthy":
            return DONE, "healthy"
        return PENDING, f"health: {b.health or 'starting'}"
    if b.state in ("exited", "dead"):
        code = b.exit_code if b.exit_code is not None else 0
        oom = ", OOM-killed" if b.oom else ""
        if code == 0 and b.policy in ("no", "", "on-failure") and not b.oom:
            return DONE, "completed (exit 0)"
        if not restarts_by_policy or (b.policy == "on-failure" and code == 0):
            why = " after a stop request (docker stop, compose down or the engine stopping)" \
                if b.killed else ""
            return FAILED, f"exited with code {code}{oom}{why}"
        return PENDING, f"exited with code {code}{oom}; restart policy {b.policy}"
    if b.state == "restarting":
        return PENDING, "restarting"
    return PENDING, b.state

_RANK = {FAILED: 0, PENDING: 1, DONE: 2}


class HealthTracker:
    """Project state from one snapshot plus events. Usable without a live stream (tests, replays)."""

    def __init__(self, services: Iterable[str], *, policies: Mapping[str, str] | None = None,
                 on_change: Callable[[ServiceState], None] | None = None,
                 inspect: Callable[[str], Mapping[str, Any] | None] | None = None,
                 settle: float = 0.0, extend: bool = True) -> None:
        self.extend = extend
        """Also track services that only show up in the engine (orphans, other profiles)."""
        self.settle = settle
        """Seconds a running container without health check must be up to count (0: at once)."""
        self.services = list(services)
        """Services expected to become ready (the stack's enabled services)."""
        self.policies = dict(policies or {})
        self.on_change = on_change
        self.inspect = inspect
        """Looks a container up by id when an event names one not seen yet (None when gone)."""
        self.boxes: dict[str, _Box] = {}
        self.started_ns: dict[str, int] = {}
        self.ignored: set[str] = set()
        self._last: dict[str, ServiceState] = {}

    # - state
    def add_attrs(self, attrs: Mapping[str, Any]) -> None:
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        service = labels.get(SERVICE_LABEL)
        if not service or is_oneoff(labels):
            self.ignored.add(str(attrs.get("Id")))
            return
        box = box_from_attrs(attrs, service, self.policies.get(service))
        self.boxes[box.id] = box
        started = str((attrs.get("State") or {}).get("StartedAt") or "")
        self.started_ns[box.id] = 0 if started.startswith("0001-") else parse_ts(started)
        if service not in self.services:
            if not self.extend:
                self.ignored.add(box.id)
                del self.boxes[box.id]
                return
            self.services.append(service)

    def service_state(self, service: str) -> ServiceState:
        boxes = [b for b in self.boxes.values() if b.service == service]
        if not boxes:
            return ServiceState(service=service, state="missing", verdict=PENDING,
                                reason="no container", restart_policy=self.policies.get(service, "no"))
        judged = sorted(((self._verdict(b), b) for b in boxes), key=lambda t: _RANK[t[0][0]])
        (verdict, reason), b = judged[0]
        return ServiceState(service=service, container_id=b.id, state=b.state, health=b.health or "",
                            exit_code=b.exit_code, restarts=b.restarts, oom_killed=b.oom,
                            has_healthcheck=b.has_hc, restart_policy=b.policy, verdict=verdict,
                            reason=reason)

    def _verdict(self, b: _Box) -> tuple[str, str]:
        verdict, reason = container_verdict(b)
        if verdict == DONE and b.state == "running" and not b.has_hc and self.settle > 0:
            up_since = self.started_ns.get(b.id, 0) / 1e9
            if time.time() - up_since < self.settle:
                return PENDING, "starting"
        return verdict, reason

    def next_settle(self) -> float | None:
        """Wall-clock time when the next settling container counts as running, if any."""
        times = [self.started_ns.get(b.id, 0) / 1e9 + self.settle for b in self.boxes.values()
                 if self.settle > 0 and b.state == "running" and not b.has_hc]
        future = [t for t in times if t > time.time()]
        return min(future) if future else None

    def states(self) -> dict[str, ServiceState]:
        return {s: self.service_state(s) for s in self.services}

    def publish(self) -> None:
        for s in self.services:
            st = self.service_state(s)
            if self._last.get(s) != st:
                self._last[s] = st
                if self.on_change is not None:
                    self.on_change(st)

    def all_done(self) -> bool:
        return all(self.service_state(s).done for s in self.services)

    def stopped_on_request(self, service: str) -> bool:
        """`service` failed because one of its containers was stopped from outside."""
        return any(b.killed and b.state in ("exited", "dead") for b in self.boxes.values()
                   if b.service == service)

    def first_failure(self) -> str | None:
        for s in self.services:
            if self.service_state(s).verdict == FAILED:
                return s
        return None

    # - events
    def apply(self, ev: Mapping[str, Any]) -> bool:
        """Apply one decoded engine event; True when it changed something."""
        if ev.get("Type", "container") != "container":
            return False
        action = str(ev.get("Action") or ev.get("status") or "")
        if action.startswith("exec_") or not action:
            return False
        cid = str(ev.get("id") or (ev.get("Actor") or {}).get("ID") or "")
        if not cid or cid in self.ignored:
            return False
        attrs = (ev.get("Actor") or {}).get("Attributes") or {}
        box = self.boxes.get(cid)
        if box is None:
            if action == "destroy":
                return False
            looked = self.inspect(cid) if self.inspect else None
            if looked is None:
                if not attrs.get(SERVICE_LABEL):
                    return False
                self.ignored.add(cid)
                return False
            self.add_attrs(looked)
            return True
        ev_ns = int(ev.get("timeNano") or 0)
        if action == "start":
            if box.state in ("exited", "dead", "restarting") and box.policy not in ("no", "") \
                    and ev_ns > self.started_ns.get(cid, 0):
                box.restarts += 1
            box.state = "running"
            box.exit_code = None
            box.killed = False
            self.started_ns[cid] = max(ev_ns, self.started_ns.get(cid, 0))
            if box.has_hc:
                box.health = "starting"
        elif action == "die":
            box.state = "exited"
            try:
                box.exit_code = int(attrs.get("exitCode", box.exit_code or 0))
            except (TypeError, ValueError):
                box.exit_code = None
        elif action == "oom":
            box.oom = True
        elif action == "kill":
            box.killed = True
            return False  # nothing to show until it dies
        elif action.startswith("health_status"):
            box.health = action.split(":", 1)[1].strip() if ":" in action else box.health
            box.has_hc = True
        elif action == "destroy":
            del self.boxes[cid]
        elif action == "pause":
            box.state = "paused"
        elif action == "unpause":
            box.state = "running"
        else:
            return False
        return True
