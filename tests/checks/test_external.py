"""External volumes and networks that do not exist on the engine stop `up`; the doctor asks the
real engine (and says what it did not ask with --no-engine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.corpus import load_projects, require_corpus, run_project


def doctor(cwd: Path, *args: str) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "toolbox_tui", "doctor", "--json", "--no-docs", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")})
    return proc.returncode, {c["id"]: c for c in json.loads(proc.stdout)["checks"]}


def test_external_volume_and_network_checked_on_the_engine(tmp_path: Path, docker_client,
                                                           compose_ready, project_name) -> None:
    vol, net = f"{project_name}-data", f"{project_name}-net"
    (tmp_path / ".git").mkdir()
    (tmp_path / "compose.yaml").write_text(
        f"services:\n  app:\n    image: busybox\n    volumes: [data:/data]\n    networks: [edge]\n"
        f"volumes:\n  data:\n    external: true\n    name: {vol}\n"
        f"networks:\n  edge:\n    external: true\n    name: {net}\n")
    rc, checks = doctor(tmp_path)
    assert rc == 1
    assert checks["compose.external.volume.data"]["status"] == "fail"
    assert vol in checks["compose.external.volume.data"]["title"]
    assert checks["compose.external.volume.data"]["line"] == 7
    assert checks["compose.external.network.edge"]["status"] == "fail"
    volume = docker_client.volumes.create(vol)
    network = docker_client.networks.create(net)
    try:
        _rc, checks = doctor(tmp_path)
        assert checks["compose.external.volume.data"]["status"] == "pass"
        assert checks["compose.external.network.edge"]["status"] == "pass"
    finally:
        volume.remove(force=True)
        network.remove()
    rc, checks = doctor(tmp_path, "--no-engine")
    assert checks["compose.external"]["status"] == "skip" and rc == 0
    assert "--no-engine" in checks["compose.external"]["detail"]


def test_n8n_caddy_as_told_with_the_engine(tmp_path: Path, docker_client, compose_ready) -> None:
    """The README's volumes (`docker volume create caddy_data`) are not there: `up` would stop."""
    require_corpus()
    import docker.errors

    project = next(p for p in load_projects() if p.name == "n8n-caddy+told")
    run = run_project(project, tmp_path, engine=True)
    checks = {c["id"]: c for c in run.doctor["checks"]}
    for name in ("caddy_data", "n8n_data"):
        try:
            docker_client.volumes.get(name)
            expected = "pass"
        except docker.errors.NotFound:
            expected = "fail"
        assert checks[f"compose.external.volume.{name}"]["status"] == expected
