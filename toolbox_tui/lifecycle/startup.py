"""Start a Compose project and turn Compose's own progress into per-service events.

`docker compose --progress json up -d` (Compose >= 2.29) writes one JSON object per line to
stderr: `{"id": "Container p-web-1", "status": "Started"}`, warnings as `{"level", "msg"}` and a
final `{"error": true, "message": ...}`. We stream those lines as they come, map container,
image and service ids to service names, and hand each one to a callback as a small frozen
`ServiceProgress`, so the CLI prints lines and the wizard's Startup screen updates rows from the
very same events. No `--wait`: waiting is `health_wait`'s job, driven by engine events.

This module never prints. Everything a project must tell it is: a name, the arguments that select
its files (`compose_args()`), and its services; `toolbox_tui.compose.model.Stack` has all three,
and `ProjectRef` builds the same from `docker compose config` for projects without a manifest.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from toolbox_tui.compose.refs import PortRef, Service
from toolbox_tui.engine import compose_cli
from toolbox_tui.sanitize import sanitize_oneline

if TYPE_CHECKING:
    from toolbox_tui.compose.model import ComposeProject

PHASES = ("pull", "build", "create", "start", "wait", "running", "done", "error", "warning", "log")
"""Coarse phase of a progress event, for columns and icons."""

_STATUS_PHASE = {
    "pulling": "pull", "pulled": "pull", "waiting for": "pull", "downloading": "pull",
    "extracting": "pull", "pull complete": "pull", "already exists": "pull",
    "building": "build", "built": "build",
    "creating": "create", "created": "create", "recreate": "create", "recreated": "create",
    "removing": "create", "removed": "create",
    "starting": "start", "started": "running", "running": "running", "restarting": "start",
    "waiting": "wait", "healthy": "done", "exited": "done",
    "error": "error", "unhealthy": "error",
}

MIN_JSON_PROGRESS = (2, 29)
"""First Compose version with `--progress json`."""


@dataclass(frozen=True)
class ServiceProgress:
    """One progress line from Compose, attributed to a service where possible."""

    service: str | None
    """Service name, or None for project-level objects (network, volume) and warnings."""
    phase: str
    """One of PHASES."""
    status: str
    """Compose's status word (`Creating`, `Started`, `Healthy`...), sanitized."""
    detail: str = ""
    """The object id (`Container p-web-1`, `Network p_default`) or the message text."""


@dataclass(frozen=True)
class UpResult:
    """How `docker compose up -d` ended."""

    returncode: int
    error: str = ""
    """Compose's final error message (sanitized), empty on success."""
    elapsed: float = 0.0
    services_started: tuple[str, ...] = ()
    """Services with at least one container that reached `Started`/`Running`/`Healthy`."""
    warnings: tuple[str, ...] = ()
    failed_service: str | None = None
    """The service whose container create/start failed, when Compose said so."""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


# -- what we need to know about a project --------------------------------------------------------

@dataclass
class ProjectRef:
    """A Compose project known only by its Compose arguments (no manifest, no Stack): a
    `compose.model.ComposeProject`, read from Compose's normalised config (`model`)."""

    name: str
    args: list[str]
    services: dict[str, Service]
    model: dict[str, Any] = field(default_factory=dict)
    manifest: Any = None
    secrets: dict[str, Any] = field(default_factory=dict)
    mode: str | None = None

    def compose_args(self) -> list[str]:
        return list(self.args)

    def published_ports(self) -> list[PortRef]:
        return [p for s in self.services.values() for p in s.ports]

    @classmethod
    def from_compose(cls, args: Sequence[str], *, env: Mapping[str, str] | None = None) -> "ProjectRef":
        """Read `docker compose ARGS config --format json`; raises `ComposeError`."""
        cfg = compose_cli.config_json(list(args), env=env)
        services: dict[str, Service] = {}
        for name, svc in (cfg.get("services") or {}).items():
            hc = svc.get("healthcheck")
            if isinstance(hc, dict) and (hc.get("disable") or hc.get("test") in (["NONE"], "NONE")):
                hc = None
            ports = []
            for p in svc.get("ports") or ():
                if isinstance(p, dict) and p.get("published"):
                    try:
                        ports.append(PortRef(name, p.get("host_ip") or "", int(p["published"]),
                                             int(p.get("target") or 0), p.get("protocol") or "tcp", None))
                    except (TypeError, ValueError):
                        continue
            secrets = tuple(str(s.get("source") if isinstance(s, dict) else s)
                            for s in svc.get("secrets") or ())
            deps = {str(k): (v if isinstance(v, dict) else {})
                    for k, v in (svc.get("depends_on") or {}).items()}
            services[name] = Service(name=name, data=svc, loc=None, image=svc.get("image"),
                                         healthcheck=hc if isinstance(hc, dict) else None,
                                         depends_on=deps, secrets=secrets, ports=tuple(ports),
                                         profiles=tuple(svc.get("profiles") or ()))
        return cls(name=str(cfg.get("name") or ""), args=list(args), services=services, model=cfg,
                   secrets=dict(cfg.get("secrets") or {}))


def restart_policy(svc: Any) -> str:
    """`no` | `always` | `unless-stopped` | `on-failure[:N]` as declared (default `no`)."""
    data = getattr(svc, "data", None) or {}
    value = data.get("restart")
    if value is None:
        deploy = data.get("deploy") or {}
        cond = (deploy.get("restart_policy") or {}).get("condition") if isinstance(deploy, dict) else None
        value = {"any": "always", "on-failure": "on-failure", "none": "no"}.get(str(cond), None)
    return str(value or "no")


def container_names(stack: ComposeProject) -> dict[str, str]:
    """Explicit `container_name:` -> service."""
    out = {}
    for name, svc in stack.services.items():
        cname = (getattr(svc, "data", None) or {}).get("container_name")
        if cname:
            out[str(cname)] = name
    return out


# -- progress parsing ----------------------------------------------------------------------------

class ProgressParser:
    """Turns Compose's NDJSON progress lines into `ServiceProgress` events."""

    def __init__(self, project: str, services: Iterable[str], *,
                 explicit_names: Mapping[str, str] | None = None,
                 images: Mapping[str, Sequence[str]] | None = None) -> None:
        self.project = project
        """Compose project name (container names are `<project>-<service>-<n>`)."""
        self.services = set(services)
        """Known service names, used to split container names that contain dashes."""
        self.explicit_names = dict(explicit_names or {})
        """`container_name:` values -> service."""
        self.images = {k: list(v) for k, v in (images or {}).items()}
        """Image reference -> services using it (for pull progress)."""
        self.error = ""
        """The final `{"error": true}` message, if any."""
        self.warnings: list[str] = []
        self.started: set[str] = set()
        self.failed_service: str | None = None

    def service_of(self, object_id: str) -> str | None:
        kind, _, name = object_id.partition(" ")
        if not name:
            name, kind = kind, ""
        kind = kind.lower()
        if kind == "container":
            if name in self.explicit_names:
                return self.explicit_names[name]
            for sep in ("-", "_"):
                prefix = self.project + sep
                if name.startswith(prefix):
                    m = re.match(r"^(?P<svc>.+)" + re.escape(sep) + r"\d+$", name[len(prefix):])
                    if m and (not self.services or m.group("svc") in self.services):
                        return m.group("svc")
            return None
        if kind == "service" or (not kind and name in self.services):
            return name if (not self.services or name in self.services) else None
        if kind == "image":
            users = self.images.get(name)
            return users[0] if users and len(users) == 1 else None
        return None

    def parse_line(self, line: str) -> ServiceProgress | None:
        line = line.strip()
        if not line:
            return None
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            return ServiceProgress(None, "log", "", sanitize_oneline(line))
        if not isinstance(obj, dict):
            return None
        if obj.get("error") is True:
            self.error = sanitize_oneline(str(obj.get("message") or "docker compose up failed"), max_len=2000)
            return ServiceProgress(self.failed_service, "error", "Error", self.error)
        if "level" in obj and "msg" in obj:
            msg = sanitize_oneline(str(obj.get("msg") or ""))
            level = str(obj.get("level") or "info").lower()
            if level.startswith("warn"):
                self.warnings.append(msg)
            return ServiceProgress(None, "warning" if level.startswith("warn") else "log", level, msg)
        object_id = sanitize_oneline(str(obj.get("id") or ""))
        status = sanitize_oneline(str(obj.get("status") or obj.get("text") or ""))
        extra = sanitize_oneline(str(obj.get("text") or obj.get("details") or ""))
        service = self.service_of(object_id)
        phase = _STATUS_PHASE.get(status.lower())
        if phase is None:
            phase = _STATUS_PHASE.get(status.lower().split(" ")[0], None)
        if phase is None:
            # Compose puts errors of one object into its status (`unsupported external secret x`).
            phase = "error" if obj.get("status") and "container" in object_id.lower() else "log"
        if phase == "error" and service:
            self.failed_service = service
        if phase in ("running", "done") and service and status.lower() != "exited":
            self.started.add(service)
        detail = object_id if not extra or extra == status else f"{object_id}: {extra}"
        return ServiceProgress(service, phase, status, detail)


def json_progress_supported() -> bool:
    info = compose_cli.compose_info()
    return bool(info and info.version_tuple[:2] >= MIN_JSON_PROGRESS)


def compose_up(stack: ComposeProject, *, on_event: Callable[[ServiceProgress], None] | None = None,
               services: Sequence[str] | None = None, extra_args: Sequence[str] = (),
               env: Mapping[str, str] | None = None, timeout: float | None = 1800) -> UpResult:
    """Run `docker compose ARGS --progress json up -d [services]`, streaming progress events.

    Returns when Compose exits. `on_event` is called from this thread for every line.
    """
    info = compose_cli.compose_info()
    if info is None:
        raise compose_cli.ComposeError("Docker Compose v2 is not installed (`docker compose version` "
                                       "failed)", returncode=127)
    json_mode = json_progress_supported()
    svc_map = stack.services
    images: dict[str, list[str]] = {}
    for name, svc in svc_map.items():
        if getattr(svc, "image", None):
            images.setdefault(str(svc.image), []).append(name)
    parser = ProgressParser(stack.name, svc_map.keys(), explicit_names=container_names(stack),
                            images=images)
    progress = ["--progress", "json" if json_mode else "plain"]
    argv = [info.docker, "compose", *stack.compose_args(), *progress, "up", "-d", *extra_args,
            *(services or ())]
    t0 = time.monotonic()
    proc = compose_cli.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=compose_cli.compose_env(env), text=True,
                             errors="replace", bufsize=1)
    plain_tail: list[str] = []
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            if timeout is not None and time.monotonic() - t0 > timeout:
                compose_cli.stop(proc)
                break
            ev = parser.parse_line(raw)
            if ev is None:
                continue
            if ev.phase == "log" and not json_mode:
                plain_tail = (plain_tail + [ev.detail])[-20:]
            if on_event is not None:
                on_event(ev)
        rc = proc.wait()
    except BaseException:
        compose_cli.stop(proc)
        proc.wait()
        raise
    error = parser.error
    if rc != 0 and not error:
        error = compose_cli.clean_error("\n".join(plain_tail)) if plain_tail else \
            f"docker compose up exited with {rc}"
    return UpResult(returncode=rc, error=error, elapsed=time.monotonic() - t0,
                    services_started=tuple(sorted(parser.started)),
                    warnings=tuple(parser.warnings), failed_service=parser.failed_service)


def compose_command(stack: ComposeProject, args: Sequence[str], *, timeout: float | None = 300,
                    env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`docker compose <stack args> ARGS`, captured (down, restart, ps...)."""
    return compose_cli.run([*stack.compose_args(), *args], env=env, timeout=timeout)
