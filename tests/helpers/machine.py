"""The machine the tests run on: the checkout, the example stack, the local test image, and
the rule for anything the machine must provide (engine, Compose, image, Secret Service): when it
is missing, a test *fails* under CI (`CI=true`) with a message saying how to provide it, and is
skipped elsewhere. Also the clean-up of Compose projects a test created. No Textual here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The checkout under test."""

EXAMPLE_DIR = REPO_ROOT / "examples" / "toolboxai"
"""The bundled example stack (never modified by tests: use `example_copy`)."""

DEFAULT_TEST_IMAGE = "toolbox-tui/busybox:test"
"""Local busybox image built by `.ci/provision.sh` (no registry on these machines)."""

PROVISION_HINT = ("run `bash .ci/provision.sh` (installs docker.io, starts dockerd in the background "
                  "with `setsid dockerd >/tmp/dockerd.log 2>&1 &`, installs Compose v2 and builds the "
                  "local test image), or run the whole suite with `bash scripts/test.sh`")


def in_ci() -> bool:
    """True when running under CI, where missing machinery is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() == "true"


def unavailable(message: str) -> None:
    """Fail under CI, skip elsewhere. Never returns."""
    if in_ci():
        pytest.fail(f"{message} (CI=true, so this is a failure, not a skip). {PROVISION_HINT}",
                    pytrace=False)
    pytest.skip(f"{message}; {PROVISION_HINT}")


def down_project(name: str, files: Sequence[os.PathLike | str] = (),
                 project_dir: os.PathLike | str | None = None,
                 env: dict[str, str] | None = None) -> None:
    """Remove everything Compose project `name` left on the engine; never raises.

    Runs `docker compose -p NAME down -v --remove-orphans` (with the given files when known, else
    from an empty directory so no stray compose file is picked up), then force-removes leftover
    containers, networks and volumes labelled with the project.
    """
    if not name.startswith("tbxtest-"):
        raise ValueError(f"refusing to clean up {name!r}: test projects are named tbxtest-*")
    docker = shutil.which("docker")
    if not docker:
        return
    run_env = dict(os.environ if env is None else env)
    run_env.setdefault("TBX_IMAGE", os.environ.get("TBX_IMAGE", DEFAULT_TEST_IMAGE))

    def quiet(args: list[str], cwd: str | None = None) -> str:
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=cwd,
                                  env=run_env, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return proc.stdout

    with tempfile.TemporaryDirectory(prefix="tbxtest-down-") as empty:
        args = [docker, "compose", "-p", name]
        if files:
            if project_dir is not None:
                args += ["--project-directory", str(project_dir)]
            for f in files:
                args += ["-f", str(f)]
        quiet(args + ["down", "-v", "--remove-orphans", "--timeout", "2"], cwd=empty)
    label = f"label=com.docker.compose.project={name}"
    for kind, rm in (("container", ["rm", "-f", "-v"]), ("network", ["rm"]),
                     ("volume", ["rm", "-f"])):
        ids = quiet([docker, kind, "ls", "-q", "--filter", label]
                    + (["-a"] if kind == "container" else [])).split()
        if ids:
            quiet([docker, kind, *rm, *ids])


EXAMPLE_PORT_VARS = ("BACKEND_PORT", "DASHBOARD_PORT", "MCP_PORT", "COORDINATOR_PORT", "ROJO_PORT",
                     "PROMETHEUS_PORT", "GRAFANA_PORT", "LOKI_PORT", "FLOWER_PORT")
"""The variables the example stack's published ports come from (the seed's numbers by default)."""

_PORT_RANGE = 400
_next_port: list[int] = []


def worker_index() -> int:
    """0, 1, 2... for the pytest-xdist workers; the serial phase (no xdist) is one past them."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") and name[2:].isdigit() else 20


def free_port() -> int:
    """A host port free on every address, from this worker's own range (20000 + 400 per
    worker, below the kernel's ephemeral ports), so workers running side by side never pick the
    same one."""
    base = 20000 + _PORT_RANGE * worker_index()
    if not _next_port:
        _next_port.append(base)
    for _ in range(_PORT_RANGE):
        port = _next_port[0]
        _next_port[0] = base + (port + 1 - base) % _PORT_RANGE
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))  # fails when any address holds the port
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {base}..{base + _PORT_RANGE - 1}")
