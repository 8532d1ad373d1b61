"""Say why a service did not become healthy, in one screen.

For each service that is not ready: the last health-check outputs and exit codes, the container's
exit code, OOM flag, restart count, the last log lines (sanitized), and — where one is
recognisable — a plain-language cause with the next step:

* the health endpoint answers 404 (the service has no such route);
* connection refused (nothing listens on the port the check uses);
* a mounted file is missing (the engine created an empty directory in its place);
* `unsupported external secret NAME` (Compose without swarm);
* the port is already allocated (and by which process, via `port_owners`);
* OOM-killed; restart loop; exited with a code.

Everything that came out of a container is untrusted and goes through `sanitize` first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from toolbox_tui.engine.containers import HealthProbe, health_probes
from toolbox_tui.lifecycle.evidence import (
    check_port, check_url, health_test, late_oom_flag, log_tail, path_check_evidence,
    reload_bounded, suspicious_mounts,
)
from toolbox_tui.sanitize import sanitize_oneline

if TYPE_CHECKING:
    from toolbox_tui.compose.model import ComposeProject


@dataclass(frozen=True)
class Diagnosis:
    """Why one service (or, with service None, the project) is not up."""

    service: str | None
    cause: str
    """Machine id: http_404 | connection_refused | missing_mount | external_secret |
    port_allocated | pull_failed | oom_killed | restart_loop | exited | unhealthy | not_started |
    timeout | compose_error"""
    summary: str
    """The plain-language cause, one sentence."""
    hint: str = ""
    evidence: tuple[str, ...] = ()
    """Facts that back the summary (sanitized)."""
    state: str | None = None
    health: str | None = None
    exit_code: int | None = None
    oom_killed: bool = False
    restarts: int = 0
    health_log: tuple[HealthProbe, ...] = ()
    logs: tuple[str, ...] = ()
    data: tuple[tuple[str, Any], ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service, "cause": self.cause, "summary": self.summary,
                "hint": self.hint, "evidence": list(self.evidence), "state": self.state,
                "health": self.health, "exit_code": self.exit_code, "oom_killed": self.oom_killed,
                "restarts": self.restarts,
                "health_log": [{"exit_code": p.exit_code, "output": p.output, "end": p.end}
                               for p in self.health_log],
                "logs": list(self.logs), "data": {k: v for k, v in self.data}}

    def lines(self) -> list[str]:
        """The screen: summary, hint, evidence, health probes, logs."""
        head = f"{self.service}: {self.summary}" if self.service else self.summary
        out = [head]
        if self.hint:
            out.append(f"  hint: {self.hint}")
        for e in self.evidence:
            out.append(f"  - {e}")
        if self.health_log:
            out.append("  last health checks:")
            for p in self.health_log:
                out.append(f"    exit {p.exit_code}: {p.output or '(no output)'}")
        if self.logs:
            out.append(f"  last {len(self.logs)} log lines:")
            out.extend(f"    | {ln}" for ln in self.logs)
        return out


# -- compose errors ------------------------------------------------------------------------------

_EXT_SECRET = re.compile(r"unsupported external (secret|config) ([\w.-]+)")
_PORT_BUSY = re.compile(
    r"(?:Bind for (?P<ip1>[\d.:\[\]a-f]*?):(?P<p1>\d+) failed: port is already allocated"
    r"|listen (?:tcp|udp)[46]? (?P<ip2>[\d.:\[\]a-f]*?):(?P<p2>\d+): bind: address already in use"
    r"|(?:address|port) already in use.*?:(?P<p3>\d+))", re.I)
_ENDPOINT = re.compile(r"endpoint ([\w.-]+) \(")
_DEP_FAILED = re.compile(r"dependency failed to start: container ([\w.-]+) (is unhealthy|exited \((\d+)\))")


def _service_for_port(stack: ComposeProject, port: int) -> str | None:
    for name, svc in stack.services.items():
        for p in getattr(svc, "ports", ()) or ():
            if int(getattr(p, "published", 0) or 0) == port:
                return name
    return None


def from_compose_error(stack: ComposeProject, message: str, *, failed_service: str | None = None,
                       client: Any = None) -> Diagnosis | None:
    """A diagnosis from Compose's final error message, when it names a known cause."""
    if not message:
        return None
    from toolbox_tui.lifecycle.pull_errors import pull_failure

    text = sanitize_oneline(message, max_len=2000)
    pulled = pull_failure(stack, message, failed_service)
    if pulled is not None:
        return pulled
    m = _EXT_SECRET.search(message)
    if m:
        kind, name = m.group(1), m.group(2)
        for key, sd in stack.secrets.items():
            ext = getattr(sd, "external_name", None) or (sd.get("name") if isinstance(sd, dict) else None)
            if ext == name and key != name:
                name = str(key)
                break
        users = [s for s, svc in stack.services.items()
                 if name in (getattr(svc, "secrets", ()) or ())]
        return Diagnosis(
            service=failed_service or (users[0] if users else None), cause="external_secret",
            summary=(f"external {kind} {name!r} is not available: `docker compose up` cannot use "
                     f"`external: true` {kind}s (they exist only for swarm services)"),
            hint=("run `toolbox-tui secrets materialize` (writes the values to private files and "
                  "an override; `up` does it for you when the values are set), or run "
                  "`docker swarm init` and create the secret"),
            evidence=(f"docker compose: {text}",), data=(("name", name), ("kind", kind)))
    m = _PORT_BUSY.search(message)
    if m:
        port = int(m.group("p1") or m.group("p2") or m.group("p3"))
        ip = (m.group("ip1") or m.group("ip2") or "0.0.0.0").strip("[]") or "0.0.0.0"
        owner_text, data = _port_owner_text(port, ip, client)
        service = failed_service or _service_for_port(stack, port)
        em = _ENDPOINT.search(message)
        evidence = [f"docker compose: {text}"]
        if em:
            evidence.append(f"container: {sanitize_oneline(em.group(1))}")
        summary = f"host port {ip}:{port} is already in use"
        if owner_text:
            summary += f" — {owner_text}"
        return Diagnosis(service=service, cause="port_allocated", summary=summary,
                         hint=(f"stop whatever holds port {port}, or publish the service on "
                               f"another port (e.g. an override with `ports: [\"127.0.0.1:"
                               f"{port + 1}:...\"]`), then run `toolbox-tui up` again"),
                         evidence=tuple(evidence), data=(("port", port), ("host_ip", ip), *data))
    return None


def _port_owner_text(port: int, ip: str, client: Any) -> tuple[str, tuple[tuple[str, Any], ...]]:
    from toolbox_tui.engine.port_owners import port_owner

    try:
        owner = port_owner(port, "tcp", ip, client=client)
    except Exception:  # noqa: BLE001 - naming the holder is a bonus, never a failure
        return "", ()
    if owner is None:
        return "", ()
    data: tuple[tuple[str, Any], ...] = (("owner_kind", owner.kind),)
    if owner.pid:
        data += (("owner_pid", owner.pid),)
    if owner.command:
        data += (("owner_command", owner.command),)
    if owner.container:
        data += (("owner_container", owner.container),)
    return owner.describe(), data


# -- containers ----------------------------------------------------------------------------------


def diagnose_container(stack: ComposeProject, service: str, container: Any, *, state: Any = None) -> Diagnosis:
    """Diagnose one service from its container (inspect data, health log, logs)."""
    attrs = container.attrs
    st = attrs.get("State") or {}
    status = str(st.get("Status") or "")
    health = (st.get("Health") or {}).get("Status")
    exit_code = st.get("ExitCode") if status in ("exited", "dead") else None
    oom = bool(st.get("OOMKilled")) or bool(getattr(state, "oom_killed", False))
    limit = int((attrs.get("HostConfig") or {}).get("Memory") or 0)
    if exit_code == 137 and not oom and limit:
        oom = late_oom_flag(container)
    restarts = max(int(attrs.get("RestartCount") or 0), int(getattr(state, "restarts", 0) or 0))
    probes = health_probes(attrs)
    logs = log_tail(container)
    test = health_test(attrs)
    common = dict(service=service, state=status, health=health, exit_code=exit_code,
                  oom_killed=oom, restarts=restarts, health_log=probes, logs=logs)
    evidence: list[str] = []
    if test:
        evidence.append(f"health check: {sanitize_oneline(test, max_len=300)}")
    if exit_code is not None:
        evidence.append(f"container exited with code {exit_code}")
    if restarts:
        evidence.append(f"restarted {restarts} time(s)")

    mounts = suspicious_mounts(attrs, test)
    if mounts:
        ev = evidence + [f"{src} is an empty directory on the host, mounted at {dst}"
                         for src, dst in mounts] + path_check_evidence(stack, service)
        src, dst = mounts[0]
        return Diagnosis(cause="missing_mount",
                         summary=(f"mounted file {dst} is missing: the host file {src} did not exist, "
                                  f"so the engine created an empty directory in its place"),
                         hint=(f"run `toolbox-tui doctor` and `toolbox-tui fix --apply` (or create "
                               f"{src} as a file after removing the empty directory), then "
                               f"`toolbox-tui up`"),
                         evidence=tuple(ev), data=(("source", src), ("destination", dst)), **common)
    if oom:
        return Diagnosis(cause="oom_killed",
                         summary="the container was killed for running out of memory (OOM-killed)",
                         hint="raise the service's memory limit (deploy.resources.limits.memory / "
                              "mem_limit) or reduce its memory use",
                         evidence=tuple(evidence), **common)
    if restarts >= 3:
        return Diagnosis(cause="restart_loop",
                         summary=f"the container is in a restart loop ({restarts} restarts)",
                         hint="read the log lines below: the process exits right after it starts",
                         evidence=tuple(evidence), **common)
    if status == "running" and health in ("unhealthy", "starting") or (probes and status == "running"):
        return _unhealthy(test, probes, health, evidence, common)
    return _ended(status, exit_code, limit, restarts, evidence, common)


def _unhealthy(test: str, probes: tuple[HealthProbe, ...], health: str | None,
               evidence: list[str], common: dict[str, Any]) -> Diagnosis:
    """A running container whose health check fails: what its output says is wrong."""
    outputs = " ".join(p.output for p in probes)
    if re.search(r"\b404\b", outputs) or "404 Not Found" in outputs:
        url = check_url(test)
        return Diagnosis(cause="http_404",
                         summary=(f"the health endpoint {url or ''} answers 404: the service is "
                                  f"listening but has no such route").replace("  ", " "),
                         hint="point the healthcheck at a path the service serves (e.g. /health), "
                              "or add that route to the service",
                         evidence=tuple(evidence), data=(("url", url),), **common)
    if re.search(r"connection refused|can't connect|failed to connect|couldn't connect",
                 outputs, re.I):
        port = check_port(test)
        where = f"port {port}" if port else "the port the health check uses"
        return Diagnosis(cause="connection_refused",
                         summary=(f"connection refused: nothing listens on {where} inside the "
                                  f"container"),
                         hint=("check the port the service listens on (its command/config) "
                               "against the port in the healthcheck; read the logs below for a "
                               "startup error"),
                         evidence=tuple(evidence), data=(("port", port),), **common)
    last = probes[-1].exit_code if probes else None
    if last is not None and last >= 128 and not probes[-1].output:
        return Diagnosis(cause="unhealthy",
                         summary=(f"the health check command itself crashed (exit {last}, "
                                  f"signal {last - 128}) before it could test the service"),
                         hint="use a health check command the image supports (e.g. busybox wget "
                              "without -T, or `timeout 3 wget ...`)",
                         evidence=tuple(evidence), **common)
    if re.search(r"\b(5\d\d)\b", outputs) and "server returned error" in outputs:
        return Diagnosis(cause="unhealthy",
                         summary="the health endpoint answers with a server error (5xx)",
                         hint="read the log lines below for the error the service reports",
                         evidence=tuple(evidence), **common)
    return Diagnosis(cause="unhealthy",
                     summary=f"the health check is {'still starting' if health == 'starting' else 'failing'}"
                             + (f" (last exit code {probes[-1].exit_code})" if probes else ""),
                     hint="run the health check command by hand with `docker compose exec` and "
                          "read its output; raise `start_period` if the service is just slow",
                     evidence=tuple(evidence), **common)


def _ended(status: str, exit_code: int | None, limit: int, restarts: int,
           evidence: list[str], common: dict[str, Any]) -> Diagnosis:
    """A container that is not running (or never got ready): what its state says."""
    if status in ("exited", "dead") and exit_code == 137 and limit:
        # SIGKILL under a memory limit, and the engine never flagged OOMKilled (under load the flag
        # can come late or not at all): say what is most likely, and that it is not certain.
        return Diagnosis(cause="exited",
                         summary=(f"the container was killed (SIGKILL, exit 137) under a memory limit of "
                                  f"{limit // (1024 * 1024)} MiB: most likely out of memory (the engine "
                                  f"did not flag it OOM-killed)"),
                         hint="raise the service's memory limit (deploy.resources.limits.memory / "
                              "mem_limit) or reduce its memory use; if something ran `docker kill`, "
                              "read the log lines below",
                         evidence=tuple(evidence), **common)
    if status in ("exited", "dead"):
        return Diagnosis(cause="exited",
                         summary=f"the container exited with code {exit_code}",
                         hint="read the log lines below; fix the error and run `toolbox-tui up` again",
                         evidence=tuple(evidence), **common)
    if status == "created":
        return Diagnosis(cause="not_started", summary="the container was created but never started",
                         hint="a dependency did not become ready, or `docker compose up` failed; see "
                              "the other services' diagnoses",
                         evidence=tuple(evidence), **common)
    if status == "restarting":
        return Diagnosis(cause="restart_loop" if restarts else "exited",
                         summary="the container keeps exiting and being restarted",
                         hint="read the log lines below", evidence=tuple(evidence), **common)
    return Diagnosis(cause="timeout", summary=f"not ready in time (state {status or 'unknown'})",
                     hint="raise --timeout if the service is just slow", evidence=tuple(evidence),
                     **common)


def diagnose(stack: ComposeProject, client: Any, services: Iterable[str], *, states: Mapping[str, Any] | None = None,
             up_error: str = "", failed_service: str | None = None) -> list[Diagnosis]:
    """One `Diagnosis` per service in `services`, plus one for a Compose error naming no service.

    `states` are the `ServiceState`s from `health_wait` (restarts/OOM seen in events);
    `up_error` / `failed_service` come from `startup.UpResult`.
    """
    from toolbox_tui.engine.containers import (
        SERVICE_LABEL, is_oneoff, list_containers, project_filter,
    )

    out: list[Diagnosis] = []
    by_service: dict[str, list[Any]] = {}
    try:
        for c in list_containers(client, project_filter(stack.name)):
            svc = (c.labels or {}).get(SERVICE_LABEL)
            if svc and not is_oneoff(c.labels):
                by_service.setdefault(svc, []).append(c)
    except Exception:  # noqa: BLE001 - engine gone: diagnose from the Compose error alone
        pass
    from_error = from_compose_error(stack, up_error, failed_service=failed_service, client=client)
    done: set[str] = set()
    if from_error is not None:
        if from_error.service and by_service.get(from_error.service):
            c = by_service[from_error.service][0]
            from_error = _merge(from_error, c)
        out.append(from_error)
        if from_error.service:
            done.add(from_error.service)
    elif up_error:
        dep = _DEP_FAILED.search(up_error)
        if dep is None:
            out.append(Diagnosis(service=failed_service, cause="compose_error",
                                 summary=f"docker compose up failed: "
                                         f"{sanitize_oneline(up_error, max_len=600)}",
                                 hint="fix what the message names, then run `toolbox-tui up` again"))
            if failed_service:
                done.add(failed_service)
    for svc in services:
        if svc in done:
            continue
        containers = by_service.get(svc) or []
        state = (states or {}).get(svc)
        if not containers:
            out.append(Diagnosis(service=svc, cause="not_started",
                                 summary="no container was created for this service",
                                 hint="`docker compose up` stopped before reaching it; see the "
                                      "diagnosis above",
                                 state="missing"))
            continue
        worst = containers[0]
        if state is not None and getattr(state, "container_id", None):
            worst = next((c for c in containers if c.id == state.container_id), worst)
        try:
            reload_bounded(worst)
        except Exception:  # noqa: BLE001
            pass
        out.append(diagnose_container(stack, svc, worst, state=state))
    if up_error:
        out = _collapse_collateral(out)
    return out


def _collapse_collateral(diags: list[Diagnosis]) -> list[Diagnosis]:
    """After Compose stopped, services it never started (or left starting) are one line, not N."""
    keep, waiting = [], []
    for d in diags:
        collateral = d.cause in ("not_started", "timeout") or (
            d.cause == "unhealthy" and d.health == "starting" and not d.exit_code)
        if collateral and d.service:
            waiting.append(d.service)
        else:
            keep.append(d)
    if waiting:
        keep.append(Diagnosis(service=None, cause="not_started",
                              summary=(f"not started or still starting when `docker compose up` "
                                       f"stopped: {', '.join(waiting)}"),
                              hint="fix the cause above; these start with the next `toolbox-tui up`",
                              data=(("services", tuple(waiting)),)))
    return keep


def _merge(d: Diagnosis, container: Any) -> Diagnosis:
    """Add the container's facts (state, logs) to a diagnosis made from Compose's error."""
    from dataclasses import replace

    try:
        reload_bounded(container)
        st = container.attrs.get("State") or {}
    except Exception:  # noqa: BLE001
        return d
    return replace(d, state=st.get("Status"), health=(st.get("Health") or {}).get("Status"),
                   health_log=health_probes(container.attrs), logs=log_tail(container))
