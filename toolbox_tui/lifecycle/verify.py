"""Prove a running stack works: `toolbox-tui verify [--persistence]`.

Checks, each a `findings.Check` in area `verify`:

* required files present (`path_checks`), secrets materialized (each service's secrets are
  mounted in its container), every service running (one-shot services: exited 0), health
  checks healthy;
* HTTP health endpoints through their published ports (127.0.0.1 only, via httpx; status and
  latency), plus the manifest's local URLs;
* each service reachable from its dependants over the Compose network, from inside the
  dependant's container (`wget` to the dependency's health URL, else `nc` to its port);
* `--persistence`: a marker in each named volume survives a restart of the service using it.

Exit 0 only when nothing fails.
"""

from __future__ import annotations

import re
import secrets as _secrets
import shlex
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from toolbox_tui.findings import FAIL, PASS, SKIP, WARN, Check
from toolbox_tui.engine.containers import SERVICE_LABEL, is_oneoff, list_attrs, list_containers, project_filter
from toolbox_tui.lifecycle.health import snapshot, wait_healthy
from toolbox_tui.lifecycle.access import health_url, loopback_for, service_port
from toolbox_tui.sanitize import sanitize_oneline

if TYPE_CHECKING:
    from toolbox_tui.compose.model import ComposeProject

AREA = "verify"
HTTP_TIMEOUT = 5.0
EXEC_TIMEOUT = 3
MARKER = ".toolbox-tui-verify"
REACH_ATTEMPTS = 3
"""Tries per dependant -> dependency probe before it counts as unreachable."""


def _check(id: str, status: str, title: str, *, service: str | None = None, detail: str = "",
           hint: str = "", data: dict[str, Any] | None = None) -> Check:
    sev = "error" if status == FAIL else ("warning" if status == WARN else "info")
    return Check(id=id, area=AREA, severity=sev, status=status, title=title, detail=detail,
                 hint=hint, service=service, data=tuple((data or {}).items()))


def _containers(stack: ComposeProject, client: Any, attrs: Iterable[Mapping[str, Any]] | None = None
                ) -> dict[str, Any]:
    """Service → its container (a running one first), from `attrs` (`list_attrs`) or read now."""
    out: dict[str, Any] = {}
    models = (list_containers(client, project_filter(stack.name)) if attrs is None else
              [client.containers.prepare_model(dict(a)) for a in attrs])
    for c in models:
        svc = (c.labels or {}).get(SERVICE_LABEL)
        if svc and not is_oneoff(c.labels):
            if svc not in out or c.status == "running":
                out[svc] = c
    return out


def check_paths(stack: ComposeProject) -> list[Check]:
    from toolbox_tui.checks.paths import path_checks

    try:
        failing = [c for c in path_checks(stack) if c.status == FAIL]
    except Exception as exc:  # noqa: BLE001
        return [_check("verify.paths", WARN, f"required files: could not check ({type(exc).__name__})")]
    if failing:
        return [_check("verify.paths", FAIL, f"required files: {len(failing)} missing or wrong",
                       detail="; ".join(f"{c.where + ': ' if c.where else ''}{c.title}" for c in failing[:10]),
                       hint="run `toolbox-tui doctor` and `toolbox-tui fix --apply`")]
    return [_check("verify.paths", PASS, "required files present")]


def check_secrets(stack: ComposeProject, containers: dict[str, Any]) -> list[Check]:
    out = []
    for name, svc in stack.services.items():
        wanted = list(getattr(svc, "secrets", ()) or ())
        c = containers.get(name)
        if not wanted or c is None or c.status != "running":
            continue
        targets = {}
        for s in (getattr(svc, "data", None) or {}).get("secrets") or ():
            if isinstance(s, dict) and s.get("target"):
                t = str(s["target"])
                targets[str(s.get("source"))] = t if t.startswith("/") else f"/run/secrets/{t}"
        mounted = {str(m.get("Destination")) for m in c.attrs.get("Mounts") or ()}
        missing = []
        for sname in wanted:
            path = targets.get(sname, f"/run/secrets/{sname}")
            if path in mounted:
                continue
            res = _exec(c, ["test", "-e", path])
            if res is None or res[0] != 0:
                missing.append(sname)
        if missing:
            out.append(_check(f"verify.secrets.{name}", FAIL,
                              f"{name}: secrets not available in the container: {', '.join(missing)}",
                              service=name, hint="run `toolbox-tui secrets materialize`, then "
                                                 "`toolbox-tui up` to recreate the service"))
        else:
            out.append(_check(f"verify.secrets.{name}", PASS,
                              f"{name}: {len(wanted)} secret(s) mounted", service=name))
    return out


def check_states(stack: ComposeProject, client: Any,
                 attrs: Iterable[Mapping[str, Any]] | None = None) -> list[Check]:
    out = []
    for name, st in snapshot(stack, client, attrs).items():
        if st.state == "running":
            out.append(_check(f"verify.running.{name}", PASS, f"{name}: running", service=name))
        elif st.done:
            out.append(_check(f"verify.running.{name}", PASS, f"{name}: {st.reason}", service=name))
        else:
            out.append(_check(f"verify.running.{name}", FAIL, f"{name}: {st.reason or st.state}",
                              service=name, hint=f"`toolbox-tui logs {name}`; `toolbox-tui up`"))
        if st.has_healthcheck and st.state == "running":
            ok = st.health == "healthy"
            out.append(_check(f"verify.health.{name}", PASS if ok else FAIL,
                              f"{name}: health {st.health or 'unknown'}", service=name,
                              hint="" if ok else f"`toolbox-tui up` shows the diagnosis for {name}"))
    return out


def _http_get(url: str) -> tuple[int | None, float, str]:
    import httpx

    t0 = time.perf_counter()
    try:
        with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False, trust_env=False) as h:
            r = h.get(url)
        return r.status_code, (time.perf_counter() - t0) * 1000, ""
    except httpx.HTTPError as exc:
        return None, (time.perf_counter() - t0) * 1000, f"{type(exc).__name__}: {exc}"


def check_http(stack: ComposeProject, containers: dict[str, Any]) -> list[Check]:
    out = []
    seen_urls = set()
    for name, svc in stack.services.items():
        c = containers.get(name)
        hu = health_url(svc)
        for p in getattr(svc, "ports", ()) or ():
            if str(getattr(p, "protocol", "tcp")).lower() != "tcp":
                continue
            host = loopback_for(str(getattr(p, "host_ip", "") or ""))
            if host is None:
                continue
            path = hu.path if hu and hu.port == p.target else "/"
            scheme = hu.scheme if hu and hu.port == p.target else "http"
            url = f"{scheme}://{host}:{p.published}{path}"
            if c is None or c.status != "running":
                out.append(_check(f"verify.http.{name}.{p.published}", FAIL,
                                  f"{name}: {url} not checked: the service is not running", service=name))
                continue
            status, ms, err = _http_get(url)
            seen_urls.add(url)
            is_health = bool(hu and hu.port == p.target)
            ok = status is not None and (200 <= status < 400 if is_health else status < 500)
            title = (f"{name}: GET {url} -> {status} in {ms:.0f} ms" if status is not None
                     else f"{name}: GET {url} failed: {sanitize_oneline(err, max_len=200)}")
            out.append(_check(f"verify.http.{name}.{p.published}", PASS if ok else FAIL, title,
                              service=name, data={"url": url, "status": status,
                                                  "latency_ms": round(ms, 1), "health": is_health}))
    manifest = stack.manifest
    for label, url in (manifest.urls if manifest is not None else {}).items():
        parts = urlsplit(str(url))
        if parts.scheme not in ("http", "https") or loopback_for(parts.hostname or "x") is None \
                or url in seen_urls:
            continue
        status, ms, err = _http_get(str(url))
        ok = status is not None and status < 400
        title = (f"{label}: GET {url} -> {status} in {ms:.0f} ms" if status is not None
                 else f"{label}: GET {url} failed: {sanitize_oneline(err, max_len=200)}")
        out.append(_check(f"verify.url.{re.sub(r'[^a-z0-9]+', '_', label.lower())}",
                          PASS if ok else FAIL, title,
                          data={"url": url, "status": status, "latency_ms": round(ms, 1)}))
    return out


def _exec(container: Any, cmd: list[str], user: str = "") -> tuple[int, str] | None:
    """(exit code, output) of a command in the container; None when exec is impossible."""
    try:
        res = container.exec_run(cmd, user=user, stdout=True, stderr=True, demux=False)
    except Exception:  # noqa: BLE001 - stopped container, no such binary...
        return None
    out = res.output.decode("utf-8", "replace") if isinstance(res.output, bytes) else str(res.output or "")
    return int(res.exit_code if res.exit_code is not None else -1), out


def reach_command(host: str, port: int, path: str | None) -> list[str]:
    """Shell snippet run inside a dependant: HTTP GET when a path is known, else a TCP connect."""
    url = f"http://{host}:{port}{path or '/'}"
    t = EXEC_TIMEOUT
    script = (
        f"if command -v wget >/dev/null 2>&1; then "
        f"out=$(timeout {t} wget -q -O /dev/null {shlex.quote(url)} 2>&1); rc=$?; "
        f"echo \"$out\"; case \"$out\" in *'server returned error'*) exit 0;; esac; exit $rc; "
        f"elif command -v nc >/dev/null 2>&1; then timeout {t} nc -w {t} {shlex.quote(host)} {port} "
        f"</dev/null; "
        f"else echo 'no wget or nc in this image'; exit 127; fi"
    )
    return ["sh", "-c", script]


def check_reachability(stack: ComposeProject, containers: dict[str, Any]) -> list[Check]:
    out = []
    services = stack.services
    for name, svc in services.items():
        for dep in (getattr(svc, "depends_on", None) or {}):
            dsvc = services.get(dep)
            if dsvc is None:
                continue
            cid = f"verify.reach.{name}.{dep}"
            port = service_port(dsvc)
            c = containers.get(name)
            if port is None:
                out.append(_check(cid, SKIP, f"{name} -> {dep}: no known port to test", service=name))
                continue
            if c is None or c.status != "running":
                out.append(_check(cid, SKIP, f"{name} -> {dep}: {name} is not running", service=name))
                continue
            hu = health_url(dsvc)
            cmd = reach_command(dep, port, hu.path if hu and hu.port == port else None)
            for attempt in range(REACH_ATTEMPTS):  # one lost DNS answer is not a broken network
                t0 = time.perf_counter()
                res = _exec(c, cmd)
                ms = (time.perf_counter() - t0) * 1000
                if res is None or res[0] in (0, 126, 127):
                    break
                time.sleep(0.5 * (attempt + 1))
            if res is None or res[0] in (126, 127):
                out.append(_check(cid, SKIP, f"{name} -> {dep}:{port}: cannot run a probe inside "
                                             f"{name} (no sh, wget or nc)", service=name))
            elif res[0] == 0:
                out.append(_check(cid, PASS, f"{name} -> {dep}:{port} reachable ({ms:.0f} ms)",
                                  service=name, data={"port": port, "latency_ms": round(ms, 1)}))
            else:
                out.append(_check(cid, FAIL, f"{name} -> {dep}:{port} not reachable over the Compose "
                                             f"network", service=name,
                                  detail=sanitize_oneline(res[1], max_len=300),
                                  hint=f"are {name} and {dep} on a common network, and does {dep} "
                                       f"listen on {port} on all its interfaces?"))
    return out


def named_volume_mounts(stack: ComposeProject, containers: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(service, volume name, destination) for each named volume mounted in a running service."""
    out = []
    for name in stack.services:
        c = containers.get(name)
        if c is None or c.status != "running":
            continue
        for m in c.attrs.get("Mounts") or ():
            if m.get("Type") == "volume" and m.get("Name") and len(str(m.get("Name"))) != 64:
                out.append((name, str(m["Name"]), str(m["Destination"])))
    return out


def check_persistence(stack: ComposeProject, client: Any, *, timeout: float = 60,
                      restart: Callable[[str], int] | None = None) -> list[Check]:
    """Marker in each named volume, restart the service, marker must still be there; removed after."""
    containers = _containers(stack, client)
    mounts = named_volume_mounts(stack, containers)
    if not mounts:
        return [_check("verify.persistence", SKIP, "no named volumes mounted in running services")]
    token = _secrets.token_hex(8)
    out: list[Check] = []
    by_service: dict[str, list[tuple[str, str]]] = {}
    for svc, vol, dest in mounts:
        by_service.setdefault(svc, []).append((vol, dest))
    for svc, vols in by_service.items():
        c = containers[svc]
        written = []
        for vol, dest in vols:
            path = f"{dest.rstrip('/')}/{MARKER}"
            res = _exec(c, ["sh", "-c", f"echo {token} > {shlex.quote(path)}"], user="0")
            if res is None or res[0] != 0:
                out.append(_check(f"verify.persistence.{svc}.{vol}", FAIL,
                                  f"{svc}: could not write a marker in volume {vol} at {dest}",
                                  service=svc, detail=sanitize_oneline(res[1] if res else "exec failed")))
            else:
                written.append((vol, dest, path))
        if not written:
            continue
        rc = restart(svc) if restart else _compose_restart(stack, svc)
        result = wait_healthy(stack, client, timeout=timeout, services=[svc])
        try:
            c = client.containers.get(c.id)
        except Exception:  # noqa: BLE001 - recreated: find it again
            c = _containers(stack, client).get(svc)
        for vol, dest, path in written:
            res = _exec(c, ["cat", path]) if c is not None else None
            ok = rc == 0 and res is not None and res[0] == 0 and res[1].strip() == token
            title = (f"{svc}: marker in volume {vol} ({dest}) survived a restart" if ok
                     else f"{svc}: marker in volume {vol} ({dest}) was lost after a restart"
                     if rc == 0 and result.ok else f"{svc}: did not come back after a restart")
            out.append(_check(f"verify.persistence.{svc}.{vol}", PASS if ok else FAIL, title,
                              service=svc, data={"volume": vol, "destination": dest}))
            if c is not None:
                _exec(c, ["rm", "-f", path], user="0")
    return out


def _compose_restart(stack: ComposeProject, service: str) -> int:
    from toolbox_tui.engine import compose_cli

    proc = compose_cli.run([*stack.compose_args(), "restart", service], timeout=120)
    return proc.returncode


def verify(stack: ComposeProject, client: Any, *, persistence: bool = False,
           on_check: Callable[[Check], None] | None = None) -> list[Check]:
    """Run every check in order; `on_check` sees each one as it is decided."""
    checks: list[Check] = []

    def add(items: Iterable[Check]) -> None:
        for c in items:
            checks.append(c)
            if on_check:
                on_check(c)

    add(check_paths(stack))
    attrs = list_attrs(client, project_filter(stack.name))  # one read (bounded inspects)
    containers = _containers(stack, client, attrs)
    if not containers:
        add([_check("verify.running", FAIL, f"no containers for project {stack.name}",
                    hint="run `toolbox-tui up` first")])
        return checks
    add(check_secrets(stack, containers))
    add(check_states(stack, client, attrs))
    add(check_http(stack, containers))
    add(check_reachability(stack, containers))
    if persistence:
        add(check_persistence(stack, client))
    return checks
