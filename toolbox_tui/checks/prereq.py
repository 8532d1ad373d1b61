"""Prerequisite checks: can this machine run the stack at all?

Docker CLI, engine (with the classified reason it cannot be reached), engine/API version, the
Compose v2 plugin, swarm state, free disk on the engine's data root, memory, and each host port
the stack publishes (`prereq_ports`). The doctor runs these first; the wizard shows them on its
first screen.

They must be fast (the doctor with engine checks stays under 1.5 s), so the slow parts — two CLI
subprocesses and the engine round trips — run concurrently with short timeouts, and every check
is built inside its own guard: an unexpected error becomes that check's `fail`, never a traceback.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from toolbox_tui import background
from toolbox_tui.engine.client import (EngineInfo, EngineUnavailable, classify_exception, client_endpoint,
                                connect, engine_info, resolve_endpoint)
from toolbox_tui.findings import FAIL, PASS, SKIP, WARN, Check
from toolbox_tui.engine.port_owners import ContainerPort, container_ports
from toolbox_tui.checks.ports import guarded as _guard
from toolbox_tui.checks.ports import port_checks
from toolbox_tui.checks.ports import prereq_check as _check

if TYPE_CHECKING:
    from toolbox_tui.compose.model import ComposeProject

AREA = "prereq"
MIN_API = (1, 41)
"""Compose v2 needs a recent API; 1.41 is Docker 20.10."""
MIN_SERVER = (20, 10)
MIN_COMPOSE = (2, 24)
"""`!reset` / `!override` in override files need Compose 2.24."""
PROGRESS_JSON_COMPOSE = (2, 29)
"""`--progress json` appeared in Compose 2.29."""
GiB = 1024 ** 3
DISK_FAIL = 2 * GiB
DISK_WARN = 10 * GiB
MEM_WARN = int(3.5 * GiB)
"""Warn below "4 GB": a 4 GB machine reports a little less than 4 GiB as MemTotal."""
CLI_TIMEOUT = 5.0
ENGINE_TIMEOUT = 3.0

_NO_ENGINE = "engine not reachable"
_REASON_TITLES = {"daemon_down": "daemon not running", "permission_denied": "permission denied",
                  "bad_host": "engine address unusable", "bad_context": "wrong docker context",
                  "timeout": "timed out", "other": "unexpected answer"}


def _gb(n: int | float) -> str:
    return f"{n / GiB:.1f} GiB"


# ---------------------------------------------------------------------------------------------
# Gathering (runs in threads)

@dataclass(frozen=True)
class _EngineFacts:
    client: Any = None
    info: EngineInfo | None = None
    containers: tuple[ContainerPort, ...] | None = None
    error: EngineUnavailable | None = None
    own_client: bool = False


def _run(argv: Sequence[str], timeout: float = CLI_TIMEOUT) -> tuple[int, str, str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, errors="replace")
    return proc.returncode, proc.stdout.strip(), proc.stderr.strip()


def _docker_cli() -> tuple[str | None, str]:
    path = shutil.which("docker")
    if not path:
        return None, ""
    try:
        rc, out, err = _run([path, "--version"])
    except (OSError, subprocess.TimeoutExpired) as exc:
        return path, f"? ({exc})"
    m = re.search(r"version\s+v?([0-9][^\s,]*)", out)
    return path, m.group(1) if m else (out or err)[:80]


def _compose() -> tuple[Any, str | None, str | None]:
    """(ComposeInfo or None, standalone docker-compose path, its version)."""
    from toolbox_tui.engine.compose_cli import compose_info

    info = compose_info()
    if info is not None:
        return info, None, None
    legacy = shutil.which("docker-compose")
    if not legacy:
        return None, None, None
    try:
        rc, out, err = _run([legacy, "version", "--short"])
    except (OSError, subprocess.TimeoutExpired):
        return None, legacy, None
    m = re.search(r"\d+\.\d+(\.\d+)?", out or err)
    return None, legacy, m.group(0) if m else None


def _engine(client: Any) -> _EngineFacts:
    own = client is None
    try:
        if client is None:
            client = connect(timeout=ENGINE_TIMEOUT, probe_timeout=ENGINE_TIMEOUT)
    except EngineUnavailable as exc:
        return _EngineFacts(error=exc)
    try:
        f_info = background.start(engine_info, client, name="tbx-engine-info")
        f_ports = background.start(container_ports, client, name="tbx-engine-ports")
        info = f_info.result()
        try:
            containers: tuple[ContainerPort, ...] | None = tuple(f_ports.result())
        except Exception:
            containers = None
    except Exception as exc:
        ep = client_endpoint(client)
        if ep is None:
            try:
                ep = resolve_endpoint()
            except EngineUnavailable as err:
                return _EngineFacts(client=client, error=err, own_client=own)
        return _EngineFacts(client=client, error=classify_exception(exc, ep), own_client=own)
    return _EngineFacts(client=client, info=info, containers=containers, own_client=own)


# ---------------------------------------------------------------------------------------------
# Checks

def _check_cli(cli: tuple[str | None, str]) -> Check:
    path, version = cli
    if not path:
        return _check("prereq.docker_cli", FAIL, "Docker CLI not found on PATH",
                      "`docker` is not on PATH; Compose and toolbox-tui drive the stack through it",
                      "install the Docker CLI (Docker Engine or Docker Desktop: "
                      "https://docs.docker.com/engine/install/) and make sure `docker` is on PATH")
    return _check("prereq.docker_cli", PASS, f"Docker CLI {version}", f"{path} (version {version})",
                  data={"path": path, "version": version})


def _check_engine(facts: _EngineFacts) -> Check:
    if facts.error is not None:
        e = facts.error
        return _check("prereq.engine", FAIL,
                      f"Docker engine not reachable ({_REASON_TITLES.get(e.reason, e.reason)})",
                      e.message, e.hint,
                      data={"reason": e.reason, "host": e.host, "context": e.context,
                            "source": e.source})
    info = facts.info
    assert info is not None
    ep = client_endpoint(facts.client)
    via = ""
    if ep is not None and ep.source == "context":
        via = f" (docker context {ep.context!r})"
    elif ep is not None and ep.source == "DOCKER_HOST":
        via = " (DOCKER_HOST)"
    return _check("prereq.engine", PASS, "Docker engine reachable",
                  f"{info.host or 'engine'}{via}: {info.os or info.os_type}, {info.ncpu} CPUs",
                  data={"host": info.host, "name": info.name, "os": info.os})


def _check_engine_version(info: EngineInfo) -> Check:
    problems = []
    if info.api_tuple and info.api_tuple < MIN_API:
        problems.append(f"API {info.api_version} is older than {'.'.join(map(str, MIN_API))}")
    if info.server_tuple and info.server_tuple < MIN_SERVER:
        problems.append(f"engine {info.server_version} is older than {'.'.join(map(str, MIN_SERVER))}")
    detail = f"engine {info.server_version}, API {info.api_version}"
    if info.min_api_version:
        detail += f" (min API {info.min_api_version})"
    data = {"server_version": info.server_version, "api_version": info.api_version}
    if problems:
        return _check("prereq.engine_version", WARN, "Docker engine is old",
                      f"{detail}: {'; '.join(problems)}; Compose v2 features may fail",
                      "upgrade Docker Engine to 20.10 or newer (API 1.41+)", data=data)
    return _check("prereq.engine_version", PASS, f"Docker engine {info.server_version}, API {info.api_version}",
                  detail, data=data)


def _check_compose(compose: tuple[Any, str | None, str | None], cli_path: str | None) -> Check:
    info, legacy, legacy_version = compose
    install = ("install the Compose v2 plugin: `apt-get install docker-compose-plugin` (Docker's apt "
               "repository) or put the docker-compose binary from "
               "https://github.com/docker/compose/releases in ~/.docker/cli-plugins/")
    if info is None:
        if legacy and legacy_version and legacy_version.startswith("1."):
            return _check("prereq.compose", FAIL, "Only Compose v1 found",
                          f"only Compose v1 (`docker-compose` {legacy_version}, {legacy}) was found; "
                          "toolbox-tui needs Compose v2 (`docker compose`)", install,
                          data={"legacy": legacy, "legacy_version": legacy_version})
        if legacy:
            return _check("prereq.compose", FAIL, "Compose v2 is not a docker CLI plugin",
                          f"`docker compose` does not work; a standalone `docker-compose` "
                          f"{legacy_version or '(unknown version)'} is at {legacy}",
                          f"make it a plugin: mkdir -p ~/.docker/cli-plugins && ln -s {legacy} "
                          "~/.docker/cli-plugins/docker-compose",
                          data={"legacy": legacy, "legacy_version": legacy_version})
        if not cli_path:
            return _check("prereq.compose", FAIL, "Docker Compose v2 not available",
                          "the docker CLI is missing, so `docker compose` cannot run", install)
        return _check("prereq.compose", FAIL, "Docker Compose v2 not installed",
                      "`docker compose version` failed", install)
    v = info.version_tuple
    data = {"version": info.version}
    notes = []
    if v < PROGRESS_JSON_COMPOSE:
        notes.append("no `--progress json` before 2.29 (progress is read from plain output)")
    if v < MIN_COMPOSE:
        return _check("prereq.compose", WARN, f"Docker Compose {info.version} is old",
                      f"Compose {info.version} has no `!reset`/`!override` in override files "
                      f"(needs 2.24); " + "; ".join(notes),
                      "upgrade the Compose v2 plugin to 2.24 or newer", data=data)
    detail = f"`docker compose` {info.version}"
    if notes:
        detail += "; " + "; ".join(notes)
    return _check("prereq.compose", PASS, f"Docker Compose {info.version}", detail, data=data)


def _check_swarm(info: EngineInfo) -> Check:
    state = info.swarm_state or "inactive"
    data = {"local_node_state": state, "control_available": info.swarm_control_available}
    external = ("`docker compose up` never uses `external: true` secrets or configs (swarm or "
                "not); toolbox-tui's generated secrets override turns them into file secrets")
    if state == "active" and info.swarm_control_available:
        return _check("prereq.swarm", PASS, "Swarm: manager",
                      "this engine is a swarm manager: `docker stack deploy` can use swarm secrets "
                      f"(`toolbox-tui secrets materialize --target swarm`); {external}", data=data)
    if state == "active":
        return _check("prereq.swarm", PASS, "Swarm: worker",
                      f"this engine is a swarm worker, not a manager; {external}", data=data)
    if state == "inactive":
        return _check("prereq.swarm", PASS, "Swarm: inactive",
                      f"this engine is not part of a swarm; {external}", data=data)
    return _check("prereq.swarm", WARN, f"Swarm: {state}",
                  f"swarm state is {state!r}; {external}",
                  "see `docker info` (Swarm section); `docker swarm leave --force` resets it", data=data)


def _engine_is_local(facts: _EngineFacts) -> bool:
    ep = client_endpoint(facts.client)
    if ep is not None and not ep.is_local:
        return False
    info = facts.info
    return bool(info and info.name and info.name == socket.gethostname())


def _free_on(path: str) -> tuple[int, str] | None:
    """(bytes free for unprivileged users, the path measured) or None."""
    p = path
    while p:
        try:
            st = os.statvfs(p)
            return st.f_bavail * st.f_frsize, p
        except OSError:
            parent = os.path.dirname(p)
            if parent == p:
                return None
            p = parent
    return None


_SIZE = re.compile(r"([\d.]+)\s*([KMGTP]?i?B)", re.I)
_UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "pb": 1e15,
          "kib": 2 ** 10, "mib": 2 ** 20, "gib": 2 ** 30, "tib": 2 ** 40, "pib": 2 ** 50}


def _driver_space(info: EngineInfo) -> int | None:
    """devicemapper reports `Data Space Available` in DriverStatus; other drivers say nothing."""
    for key, value in info.driver_status:
        if key.lower() == "data space available":
            m = _SIZE.search(value)
            if m:
                return int(float(m.group(1)) * _UNITS.get(m.group(2).lower(), 1))
    return None


def _check_disk(facts: _EngineFacts) -> Check:
    info = facts.info
    assert info is not None
    root = info.data_root or "/var/lib/docker"
    free: int | None = None
    how = ""
    if _engine_is_local(facts):
        measured = _free_on(root)
        if measured:
            free, at = measured
            how = f"on {root}" + (f" (measured at {at})" if at != root else "")
    if free is None:
        free = _driver_space(info)
        how = f"on the engine's storage ({info.storage_driver}, reported by `docker info`)"
    if free is None:
        return _check("prereq.disk", SKIP, "Free disk space not measured",
                      f"the engine's data root {root} is not on this machine (remote engine or VM) "
                      "and the engine does not report free space",
                      "check free space where the engine runs (e.g. `df -h` in the Docker VM)",
                      path=root, data={"data_root": root})
    data = {"data_root": root, "free_bytes": free}
    detail = f"{_gb(free)} free {how}"
    prune = "free space: `docker system prune` (removes stopped containers, unused images and networks)"
    if free < DISK_FAIL:
        return _check("prereq.disk", FAIL, "Almost no free disk for Docker", detail + "; below 2 GiB",
                      prune, path=root, data=data)
    if free < DISK_WARN:
        return _check("prereq.disk", WARN, "Low free disk for Docker", detail + "; below 10 GiB",
                      prune, path=root, data=data)
    return _check("prereq.disk", PASS, f"{_gb(free)} free for Docker", detail, path=root, data=data)


def _check_memory(info: EngineInfo) -> Check:
    mem = info.mem_total
    data = {"mem_total": mem, "ncpu": info.ncpu}
    if not mem:
        return _check("prereq.memory", SKIP, "Engine memory unknown", "`docker info` reports no MemTotal",
                      data=data)
    if mem < MEM_WARN:
        return _check("prereq.memory", WARN, f"Engine has {_gb(mem)} of memory",
                      f"the engine has {_gb(mem)} (MemTotal); a full stack may need about 4 GB",
                      "give the engine more memory (Docker Desktop: Settings > Resources)", data=data)
    return _check("prereq.memory", PASS, f"Engine memory {_gb(mem)}",
                  f"{_gb(mem)} total, {info.ncpu} CPUs", data=data)


def _skipped(check_id: str, title: str) -> Check:
    return _check(check_id, SKIP, title, _NO_ENGINE)


# ---------------------------------------------------------------------------------------------

def prereq_checks(stack: ComposeProject | None = None, *, client: Any = None,
                  engine_error: EngineUnavailable | None = None) -> list[Check]:
    """All prerequisite checks, in report order. Never raises.

    `client`: an existing DockerClient (from `engine.connect`) to reuse; otherwise one is made
    and closed here. `engine_error`: the caller already tried `engine.connect()` and got this;
    it is reported as is instead of trying again (a hung daemon would cost the timeout twice).
    `stack`: a `compose_model.Stack` (anything with `name` and `published_ports()`); without it,
    the port checks are left out.
    """
    f_cli = background.start(_docker_cli, name="tbx-prereq-cli")
    f_compose = background.start(_compose, name="tbx-prereq-compose")
    try:
        if client is None and engine_error is not None:
            facts = _EngineFacts(error=engine_error)
        else:
            facts = _engine(client)
    except Exception as exc:
        facts = _EngineFacts(error=EngineUnavailable("other", f"Cannot reach the engine: {exc}"))
    try:
        cli = f_cli.result()
    except Exception as exc:
        cli = (shutil.which("docker"), f"? ({exc})")
    try:
        compose = f_compose.result()
    except Exception:
        compose = (None, None, None)

    checks = [_guard("prereq.docker_cli", lambda: _check_cli(cli)),
              _guard("prereq.engine", lambda: _check_engine(facts))]
    info = facts.info
    if info is None:
        checks.append(_skipped("prereq.engine_version", "Docker engine version"))
    else:
        checks.append(_guard("prereq.engine_version", lambda: _check_engine_version(info)))
    checks.append(_guard("prereq.compose", lambda: _check_compose(compose, cli[0])))
    if info is None:
        checks += [_skipped("prereq.swarm", "Swarm state"),
                   _skipped("prereq.disk", "Free disk space"),
                   _skipped("prereq.memory", "Engine memory")]
    else:
        checks += [_guard("prereq.swarm", lambda: _check_swarm(info)),
                   _guard("prereq.disk", lambda: _check_disk(facts)),
                   _guard("prereq.memory", lambda: _check_memory(info))]
    if stack is not None:
        try:
            checks += port_checks(stack, containers=facts.containers, client=facts.client)
        except Exception as exc:
            checks.append(_check("prereq.ports", FAIL, "Published ports could not be checked",
                                 f"{type(exc).__name__}: {exc}", "rerun with --debug and report this"))
    if facts.own_client and facts.client is not None:
        try:
            facts.client.close()
        except Exception:
            pass
    return checks
