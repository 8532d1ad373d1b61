"""What a service's container is, from the engine's own record (`docker inspect`): image and digest,
command, environment, mounts, networks, ports, labels, restart policy, health check, limits.

Every string comes from the engine, and the engine got it from the compose files or the image:
untrusted, so each one is cleaned here (`sanitize.strip_all`) before any face sees it. The
environment is where secrets live, so each variable is one of three kinds:

- `plain`: shown;
- `masked`: the name looks secret-like (`secret_names.is_secret_like`) and the value does not say
  otherwise: the value is held (cleaned) but a face shows it only when the user reveals it;
- `secret`: the stack's secret inventory says the variable carries one of its secrets (a value
  from the keyring, say): the value is dropped right here and never held, shown or reported.

No Textual here: `toolbox-tui inspect` prints the same `ServiceInspect` the dashboard's `i` view shows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from toolbox_tui.errors import EXIT_FAIL, ToolboxError
from toolbox_tui.sanitize import strip_all
from toolbox_tui.secret_names import is_secret_like, value_is_not_secret

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack

MAX_VALUE = 2048
"""Longest value shown (an env var or label holding a whole certificate is cut, visibly)."""

MASK = "••••••••"
"""What a masked value looks like until it is revealed."""


class InspectError(ToolboxError):
    """The container cannot be inspected; the message says which and why."""

    exit_code = EXIT_FAIL


@dataclass(frozen=True)
class EnvVar:
    """One variable of the container's environment."""

    name: str
    value: str
    """Cleaned value; `""` for kind `secret` (never held)."""
    kind: str = "plain"
    """`plain`, `masked` (revealable) or `secret` (never shown)."""
    source: str = ""
    """For `secret`: the stack secret it carries."""

    def shown(self, reveal: bool = False) -> str:
        if self.kind == "secret":
            return f"(from secret {self.source}: not shown)" if self.source else "(a secret: not shown)"
        if self.kind == "masked" and not reveal:
            return MASK
        return self.value


@dataclass(frozen=True)
class ServiceInspect:
    """A service's container as the engine describes it, cleaned for display."""

    service: str
    container_id: str
    container_name: str
    state: str
    image: str
    """The image reference the container was created from (`busybox:test`)."""
    image_id: str
    """The image's content id (`sha256:...`)."""
    repo_digests: tuple[str, ...]
    """Registry digests of the image (`name@sha256:...`); empty for an image built or imported here."""
    entrypoint: tuple[str, ...]
    command: tuple[str, ...]
    working_dir: str
    user: str
    env: tuple[EnvVar, ...]
    mounts: tuple[str, ...]
    """`TYPE SOURCE -> DEST (ro|rw)`."""
    networks: tuple[str, ...]
    """`NAME IP (aliases: a, b)`."""
    ports: tuple[str, ...]
    """`127.0.0.1:32768->8080/tcp`, or `8080/tcp` when not published."""
    labels: tuple[tuple[str, str], ...]
    restart_policy: str
    healthcheck: tuple[tuple[str, str], ...]
    """(field, value): test, interval, timeout, retries, start period; empty without one."""
    limits: tuple[tuple[str, str], ...]
    """(limit, value) for the limits that are set: memory, cpus, pids, ..."""

    def to_json(self, reveal: bool = False) -> dict[str, Any]:
        """For `--json`: masked values are null unless `reveal`; secret ones are always null."""
        data = asdict(self)
        data["env"] = [{"name": v.name, "kind": v.kind, "source": v.source or None,
                        "value": v.value if v.kind == "plain" or (v.kind == "masked" and reveal)
                        else None} for v in self.env]
        data["labels"] = dict(self.labels)
        data["healthcheck"] = dict(self.healthcheck) or None
        data["limits"] = dict(self.limits)
        return data


Row = tuple[str, str, str]
"""(key or "", value, hint): hint is "" or `dim` (a remark of ours), `masked`, `revealed`, `secret`."""


def sections(info: ServiceInspect, reveal: bool = False) -> list[tuple[str, list[Row]]]:
    """The view of `info` in display order: (title, rows), for the dashboard and the CLI alike."""
    out: list[tuple[str, list[Row]]] = []
    out.append(("Image", [("image", info.image, ""), ("id", info.image_id, "")]
                + ([("digest", d, "") for d in info.repo_digests] if info.repo_digests
                   else [("digest", "none (built or imported on this engine, not pulled)", "dim")])))
    cmd: list[Row] = []
    if info.entrypoint:
        cmd.append(("entrypoint", " ".join(info.entrypoint), ""))
    cmd.append(("command", " ".join(info.command) or "(the image's)", ""))
    if info.working_dir:
        cmd.append(("working dir", info.working_dir, ""))
    if info.user:
        cmd.append(("user", info.user, ""))
    out.append(("Command", cmd))
    masked = sum(1 for v in info.env if v.kind == "masked")
    title = f"Environment ({len(info.env)}"
    if masked:
        title += f", {masked} revealed" if reveal else f", {masked} masked"
    out.append((title + ")", [(v.name, v.shown(reveal), {"masked": "revealed" if reveal else "masked",
                                                          "secret": "secret"}.get(v.kind, ""))
                              for v in info.env]))
    for title, items in (("Mounts", info.mounts), ("Networks", info.networks), ("Ports", info.ports)):
        out.append((title, [("", x, "") for x in items] or [("", "none", "dim")]))
    out.append(("Restart policy", [("", info.restart_policy, "")]))
    out.append(("Health check", [(k, v, "") for k, v in info.healthcheck] or [("", "none", "dim")]))
    out.append(("Limits", [(k, v, "") for k, v in info.limits] or [("", "none", "dim")]))
    out.append((f"Labels ({len(info.labels)})", [(k, v, "") for k, v in info.labels]))
    return out


def _s(value: Any, max_len: int = MAX_VALUE) -> str:
    return strip_all("" if value is None else str(value), max_len=max_len)


def _duration(ns: Any) -> str:
    try:
        secs = int(ns) / 1e9
    except (TypeError, ValueError):
        return ""
    if not secs:
        return ""
    return f"{secs:g}s" if secs < 120 else f"{secs / 60:g}m"


def _bytes(n: Any) -> str:
    try:
        n = int(n)
    except (TypeError, ValueError):
        return ""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} B"


def classify_env(items: Iterable[str], secret_vars: Mapping[str, str] | None = None) -> tuple[EnvVar, ...]:
    """`NAME=value` strings (the engine's `Config.Env`) as `EnvVar`s. `secret_vars` maps a
    variable name (any case) to the stack secret it carries: those values are dropped here."""
    secret_of = {k.upper(): v for k, v in (secret_vars or {}).items()}
    out = []
    for item in items or ():
        name, _, value = str(item).partition("=")
        shown_name = _s(name, 256)
        source = secret_of.get(name.upper())
        if source is not None:
            out.append(EnvVar(shown_name, "", "secret", _s(source, 256)))
        elif is_secret_like(name) and not value_is_not_secret(value):
            out.append(EnvVar(shown_name, _s(value), "masked"))
        else:
            out.append(EnvVar(shown_name, _s(value)))
    return tuple(sorted(out, key=lambda v: v.name))


def _ports(attrs: Mapping[str, Any]) -> tuple[str, ...]:
    ports = ((attrs.get("NetworkSettings") or {}).get("Ports")) or {}
    out = []
    for spec, bindings in sorted(ports.items()):
        if not bindings:
            out.append(_s(spec, 64))
            continue
        for b in bindings:
            out.append(f"{_s(b.get('HostIp') or '0.0.0.0', 64)}:{_s(b.get('HostPort'), 16)}->{_s(spec, 64)}")
    return tuple(out)


def _networks(attrs: Mapping[str, Any]) -> tuple[str, ...]:
    nets = ((attrs.get("NetworkSettings") or {}).get("Networks")) or {}
    out = []
    for name, n in sorted(nets.items()):
        n = n or {}
        line = _s(name, 256)
        if n.get("IPAddress"):
            line += f" {_s(n['IPAddress'], 64)}"
        aliases = [_s(a, 128) for a in (n.get("Aliases") or []) if a]
        if aliases:
            line += f" (aliases: {', '.join(aliases)})"
        out.append(line)
    return tuple(out)


def _mounts(attrs: Mapping[str, Any]) -> tuple[str, ...]:
    out = []
    for m in attrs.get("Mounts") or ():
        src = m.get("Name") if m.get("Type") == "volume" and m.get("Name") else m.get("Source")
        out.append(f"{_s(m.get('Type'), 16)} {_s(src)} -> {_s(m.get('Destination'))} "
                   f"({'rw' if m.get('RW', True) else 'ro'})")
    return tuple(out)


def _healthcheck(config: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    hc = config.get("Healthcheck") or {}
    test = hc.get("Test") or []
    if not test or test == ["NONE"]:
        return ()
    kind, args = (test[0], test[1:]) if test[0] in ("CMD", "CMD-SHELL") else ("CMD", test)
    shown = " ".join(_s(a, 512) for a in args)
    out = [("test", f"{kind} {shown}")]
    for key, label in (("Interval", "interval"), ("Timeout", "timeout"),
                       ("StartPeriod", "start period"), ("StartInterval", "start interval")):
        d = _duration(hc.get(key))
        if d:
            out.append((label, d))
    if hc.get("Retries"):
        out.append(("retries", str(int(hc["Retries"]))))
    return tuple(out)


def _limits(host: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    out = []
    if host.get("Memory"):
        out.append(("memory", _bytes(host["Memory"])))
    if host.get("MemoryReservation"):
        out.append(("memory reservation", _bytes(host["MemoryReservation"])))
    if host.get("MemorySwap") and host.get("MemorySwap") != -1:
        out.append(("memory+swap", _bytes(host["MemorySwap"])))
    if host.get("NanoCpus"):
        out.append(("cpus", f"{int(host['NanoCpus']) / 1e9:g}"))
    elif host.get("CpuQuota") and host.get("CpuPeriod"):
        out.append(("cpus", f"{int(host['CpuQuota']) / int(host['CpuPeriod']):g}"))
    if host.get("CpuShares"):
        out.append(("cpu shares", str(int(host["CpuShares"]))))
    if host.get("CpusetCpus"):
        out.append(("cpuset", _s(host["CpusetCpus"], 64)))
    if host.get("PidsLimit") and int(host["PidsLimit"]) > 0:
        out.append(("pids", str(int(host["PidsLimit"]))))
    if host.get("ShmSize") and int(host["ShmSize"]) != 64 << 20:
        out.append(("shm size", _bytes(host["ShmSize"])))
    for u in host.get("Ulimits") or ():
        out.append((f"ulimit {_s(u.get('Name'), 32)}", f"{u.get('Soft')}:{u.get('Hard')}"))
    return tuple(out)


def from_attrs(service: str, attrs: Mapping[str, Any], image_attrs: Mapping[str, Any] | None = None,
               *, secret_vars: Mapping[str, str] | None = None) -> ServiceInspect:
    """A `ServiceInspect` from `docker inspect` data (the SDK's `container.attrs`)."""
    config = attrs.get("Config") or {}
    host = attrs.get("HostConfig") or {}
    policy = host.get("RestartPolicy") or {}
    restart = _s(policy.get("Name") or "no", 64)
    if policy.get("MaximumRetryCount"):
        restart += f" (max {int(policy['MaximumRetryCount'])} retries)"
    labels = sorted(((_s(k, 256), _s(v)) for k, v in (config.get("Labels") or {}).items()),
                    key=lambda kv: (kv[0].startswith("com.docker."), kv[0]))
    digests = tuple(_s(d, 256) for d in ((image_attrs or {}).get("RepoDigests") or ()))
    return ServiceInspect(
        service=_s(service, 256), container_id=_s(attrs.get("Id"), 80),
        container_name=_s(str(attrs.get("Name") or "").lstrip("/"), 256),
        state=_s((attrs.get("State") or {}).get("Status"), 32),
        image=_s(config.get("Image"), 512), image_id=_s(attrs.get("Image"), 80),
        repo_digests=digests,
        entrypoint=tuple(_s(a) for a in (config.get("Entrypoint") or ())),
        command=tuple(_s(a) for a in (config.get("Cmd") or ())),
        working_dir=_s(config.get("WorkingDir"), 512), user=_s(config.get("User"), 128),
        env=classify_env(config.get("Env") or (), secret_vars),
        mounts=_mounts(attrs), networks=_networks(attrs), ports=_ports(attrs),
        labels=tuple(labels), restart_policy=restart, healthcheck=_healthcheck(config),
        limits=_limits(host))


def inspect_service(client: Any, service: str, container_id: str, *,
                    secret_vars: Mapping[str, str] | None = None) -> ServiceInspect:
    """Ask the engine about `service`'s container (blocking: call it from a worker)."""
    if not container_id:
        raise InspectError(f"service {service} has no container",
                           "bring the stack up first (U in the dashboard, or `toolbox-tui up`)")
    try:
        attrs = client.api.inspect_container(container_id)
    except Exception as exc:  # noqa: BLE001 - docker.errors.NotFound/APIError, connection errors
        explanation = getattr(exc, "explanation", None) or str(exc)
        raise InspectError(f"the engine could not inspect the container of service {service}: "
                           f"{_s(explanation, 300)}", "check it with `docker ps -a`") from None
    try:
        image_attrs = client.api.inspect_image(attrs.get("Image"))
    except Exception:  # noqa: BLE001 - the image was removed since: the container still says which
        image_attrs = None
    return from_attrs(service, attrs, image_attrs, secret_vars=secret_vars)


def secret_vars_of(stack: Stack) -> dict[str, dict[str, str]]:
    """Per service, the variables the stack's secret inventory says carry a secret (name → the
    secret): their values are never shown. Empty without the project files (attached by name)."""
    from toolbox_tui.secrets.inventory import build_inventory

    out: dict[str, dict[str, str]] = {}
    entries = build_inventory(stack)
    compose_secrets = {e.name.upper(): e.name for e in entries if e.definition is not None}
    for e in entries:
        for svc, var in e.env_vars:
            out.setdefault(svc, {})[var] = e.name
    for svc in stack.services:
        # a variable named like one of the stack's compose secrets carries it (DB_PASSWORD and
        # the secret db_password), whatever the service's environment says
        for upper, name in compose_secrets.items():
            out.setdefault(svc, {}).setdefault(upper, name)
    return out
