"""The containers of a Compose project, as the engine reports them: Compose's labels, reads
that never wait on a stalled container, and the state of one service.

The engine answers the container list from a snapshot but takes a container's lock to answer
`docker inspect` (and `docker logs`); a health-check exec that is slow to start or hangs holds
that lock. So every read here is bounded: what the engine does not answer in time is judged from
the list. `ServiceState` is what the engine says about one service, for the health wait, verify,
the diagnosis, the wizard and the dashboard alike; untrusted text in it is sanitized.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

from toolbox_tui.sanitize import sanitize_oneline

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
ONEOFF_LABEL = "com.docker.compose.oneoff"
"""`True` on the containers of `docker compose run`: never part of a service's state."""
HEALTH_TAIL = 5
"""Health-check results kept per service (the engine keeps the last 5)."""
INSPECT_WAIT = 5.0
"""Seconds to wait for `docker inspect` of a container. The engine takes the container's lock to
answer it, and a health-check exec that is slow to start (a loaded host) or hangs holds that
lock; the container list answers from a snapshot and stands in until events say more."""


def project_filter(project: str) -> str:
    """The label filter that selects the containers of Compose project `project`."""
    return f"{PROJECT_LABEL}={project}"


def is_oneoff(labels: Mapping[str, Any] | None) -> bool:
    """A `docker compose run` container (not part of its service's state)."""
    return (labels or {}).get(ONEOFF_LABEL) == "True"


# -- what one service is doing -------------------------------------------------------------------

@dataclass(frozen=True)
class HealthProbe:
    """One health-check run, as the engine recorded it."""

    exit_code: int
    """0 healthy, 1 unhealthy, other values: the probe itself failed (-1: not recorded)."""
    output: str
    """The probe's output folded into one sanitized line."""
    start: str = ""
    """When it started (RFC 3339 as the engine wrote it)."""
    end: str = ""
    """When it ended (to the second)."""


def health_probes(attrs: Mapping[str, Any], tail: int = HEALTH_TAIL) -> tuple[HealthProbe, ...]:
    """The last `tail` health-check results in a container's inspect data, oldest first."""
    log = ((attrs.get("State") or {}).get("Health") or {}).get("Log") or []
    out = []
    for entry in log[-tail:]:
        try:
            code = int(entry.get("ExitCode", -1))
        except (TypeError, ValueError):
            code = -1
        out.append(HealthProbe(exit_code=code,
                               output=sanitize_oneline(str(entry.get("Output") or ""), max_len=400),
                               start=str(entry.get("Start") or "")[:35],
                               end=str(entry.get("End") or "")[:19]))
    return tuple(out)


PENDING, DONE, FAILED = "pending", "done", "failed"


@dataclass(frozen=True)
class ServiceState:
    """What the engine says about one service (its worst container when it has replicas)."""

    service: str
    """Compose service name (sanitized where it is shown)."""
    container_id: str = ""
    """Full id of the service's current container; `""` when it has none."""
    container_name: str = ""
    state: str = "missing"
    """Engine state: running, exited, created, restarting, paused, dead, removing; `missing`."""
    health: str = ""
    """healthy, unhealthy, starting; `""` when the service has no health check."""
    failing_streak: int = 0
    restarts: int = 0
    """Engine restart count of the current container (restart policy)."""
    started_at: float = 0.0
    """Epoch seconds when the container last started (0 when not running or not known)."""
    exit_code: int | None = None
    oom_killed: bool = False
    has_healthcheck: bool = False
    restart_policy: str = "no"
    ports: tuple[str, ...] = ()
    """Published ports, `127.0.0.1:8080->80/tcp`."""
    image: str = ""
    health_log: tuple[HealthProbe, ...] = ()
    """The engine's recent probe results (it keeps the last five)."""
    details: bool = True
    """False while only the container list has answered (the inspect is pending or stalled):
    restarts, start time, exit code, OOM flag and the health log are not known yet."""
    verdict: str = PENDING
    """For a wait: done | pending | failed."""
    reason: str = ""
    """Why it is pending or failed, in a few words (`health: starting`, `exited with code 1`)."""

    @property
    def done(self) -> bool:
        return self.verdict == DONE

    def uptime(self, now: float | None = None) -> float:
        if self.state != "running" or not self.started_at:
            return 0.0
        return max(0.0, (now if now is not None else time.time()) - self.started_at)

    def to_json(self) -> dict[str, Any]:
        """The service in the JSON of `up`, `restart` and the diagnosis (`health`: null
        without a health check)."""
        return {"service": self.service, "container_id": self.container_id or None,
                "state": self.state, "health": self.health or None, "exit_code": self.exit_code,
                "restarts": self.restarts, "oom_killed": self.oom_killed,
                "has_healthcheck": self.has_healthcheck, "restart_policy": self.restart_policy,
                "verdict": self.verdict, "reason": self.reason}

    def dashboard_json(self) -> dict[str, Any]:
        """The service in `dashboard --json`."""
        return {"service": self.service, "container_id": self.container_id,
                "container_name": self.container_name, "state": self.state, "health": self.health,
                "failing_streak": self.failing_streak, "restarts": self.restarts,
                "started_at": self.started_at, "exit_code": self.exit_code,
                "oom_killed": self.oom_killed, "ports": list(self.ports), "image": self.image,
                "health_log": [{"start": p.start, "exit_code": p.exit_code, "output": p.output}
                               for p in self.health_log],
                "details": self.details}


# -- reading the engine without waiting on a stalled container ----------------------------------

_HEALTH_IN_STATUS = (("(healthy)", "healthy"), ("(unhealthy)", "unhealthy"),
                     ("(health: starting)", "starting"))
_EXIT_IN_STATUS = re.compile(r"^(?:Exited|Restarting) \((-?\d+)\)")


def list_status(c: dict) -> tuple[str, int | None]:
    """(health, exit code) from a container-list entry's `Status` line (`Up 5 s (healthy)`,
    `Exited (137) 4 minutes ago`): `""` without a health check, None when it shows no code."""
    status = str(c.get("Status") or "")
    health = next((h for marker, h in _HEALTH_IN_STATUS if marker in status), "")
    m = _EXIT_IN_STATUS.match(status)
    return health, int(m.group(1)) if m else None


def attrs_from_list(c: Mapping[str, Any]) -> dict[str, Any]:
    """Inspect-shaped attributes from a container-list entry (for `box_from_attrs`): state,
    labels, health and exit code as the list shows them; restart count unknown (0)."""
    health, exit_code = list_status(dict(c))
    state: dict[str, Any] = {"Status": c.get("State") or "created"}
    if health:
        state["Health"] = {"Status": health}
    if exit_code is not None:
        state["ExitCode"] = exit_code
    ports: dict[str, list[dict[str, str]] | None] = {}
    for p in c.get("Ports") or ():
        key = f"{p.get('PrivatePort')}/{p.get('Type') or 'tcp'}"
        if p.get("PublicPort"):
            ports.setdefault(key, []).append({"HostIp": str(p.get("IP") or ""),  # type: ignore[union-attr]
                                              "HostPort": str(p["PublicPort"])})
        else:
            ports.setdefault(key, None)
    network = dict(c.get("NetworkSettings") or {})
    network["Ports"] = ports
    names = c.get("Names") or []
    return {"Id": c.get("Id"), "Name": names[0] if names else "", "State": state,
            "Config": {"Labels": c.get("Labels") or {}, "Image": c.get("Image") or ""},
            "RestartCount": 0, "HostConfig": {}, "Mounts": c.get("Mounts") or [],
            "NetworkSettings": network}


def call_bounded(fn: Callable[[], Any], timeout: float = INSPECT_WAIT) -> tuple[bool, Any]:
    """`fn()` in a daemon thread: (True, its result), or (False, None) when it has not returned
    within `timeout` seconds (it is left to finish on its own). Its exception is raised."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    t = threading.Thread(target=run, name="tbx-bounded", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        return False, None
    if "error" in box:
        raise box["error"]
    return True, box.get("value")


def inspect_bounded(client: Any, ids: Iterable[str], timeout: float = INSPECT_WAIT
                    ) -> dict[str, Mapping[str, Any] | None]:
    """`docker inspect` of each id, concurrently, for at most `timeout` seconds in all.

    id → attributes, or None when the container is gone; ids the engine did not answer for in
    time are left out. Other errors (the engine went away) are raised."""
    import docker

    results: dict[str, Any] = {}

    def one(cid: str) -> None:
        try:
            results[cid] = client.api.inspect_container(cid)
        except docker.errors.NotFound:
            results[cid] = None
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            results[cid] = exc

    threads = [threading.Thread(target=one, args=(cid,), name="tbx-inspect", daemon=True)
               for cid in dict.fromkeys(ids)]
    for t in threads:
        t.start()
    end = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    done = dict(results)  # a late answer must not change what was decided
    for value in done.values():
        if isinstance(value, BaseException):
            raise value
    return done


def list_attrs(client: Any, label: str, timeout: float = INSPECT_WAIT) -> list[Mapping[str, Any]]:
    """The attributes of every container with `label`: inspected where the engine answers within
    `timeout`, from the container list where it does not (`docker.containers.list` would inspect
    each one and wait as long as the engine holds a container's lock)."""
    listed = client.api.containers(all=True, filters={"label": label})
    inspected = inspect_bounded(client, [c["Id"] for c in listed], timeout)
    out: list[Mapping[str, Any]] = []
    for c in listed:
        if c["Id"] not in inspected:
            out.append(attrs_from_list(c))
        elif inspected[c["Id"]] is not None:  # (None: removed in between)
            out.append(inspected[c["Id"]])  # type: ignore[arg-type]
    return out


def list_containers(client: Any, label: str, timeout: float = INSPECT_WAIT) -> list[Any]:
    """`list_attrs` as docker SDK `Container` models (`.labels`, `.status`, `.attrs`, `.logs()`)."""
    return [client.containers.prepare_model(dict(a)) for a in list_attrs(client, label, timeout)]


# -- the engine's timestamps ---------------------------------------------------------------------

_SECONDS_CACHE: dict[bytes, int] = {}


def parse_ts(ts: bytes | str) -> int:
    """Nanoseconds since the epoch from an RFC 3339 timestamp as the engine writes it."""
    if isinstance(ts, str):
        ts = ts.encode("ascii", "replace")
    # Fast path: the engine's fixed format `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
    if len(ts) == 30 and ts[29:30] == b"Z" and ts[19:20] == b".":
        secs = _SECONDS_CACHE.get(ts[:19])
        if secs is None:
            secs = _seconds(ts[:19].decode("ascii", "replace"), "+00:00")
            if len(_SECONDS_CACHE) > 4096:
                _SECONDS_CACHE.clear()
            _SECONDS_CACHE[ts[:19]] = secs
        try:
            return secs * 1_000_000_000 + int(ts[20:29])
        except ValueError:
            return 0
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)",
                 ts.decode("ascii", "replace"))
    if not m:
        return 0
    frac = (m.group(2) or "").ljust(9, "0")
    return _seconds(m.group(1), "+00:00" if m.group(3) == "Z" else m.group(3)) * 1_000_000_000 + int(frac)


def _seconds(base: str, offset: str) -> int:
    try:
        return int(datetime.fromisoformat(base + offset).timestamp())
    except ValueError:
        return 0
