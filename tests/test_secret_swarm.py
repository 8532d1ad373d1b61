"""Swarm target: secrets created through the engine API, idempotent, versioned on change."""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_secret_helpers import make_project  # noqa: E402

from toolbox_tui import secret_materialize as sm  # noqa: E402
from toolbox_tui.project import ProjectOptions, load_stack  # noqa: E402
from toolbox_tui.secret_store import SessionStore  # noqa: E402

pytestmark = pytest.mark.engine


@pytest.fixture
def swarm(docker_client):
    """An active single-node swarm on 127.0.0.1; left again only if this fixture started it."""
    started = False
    if not sm.swarm_active(docker_client):
        proc = subprocess.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if proc.returncode != 0 and "already part of a swarm" not in proc.stderr:
            pytest.fail(f"docker swarm init failed: {proc.stderr.strip()}")
        started = proc.returncode == 0
    assert sm.swarm_active(docker_client)
    created: list[str] = []
    try:
        yield created
    finally:
        for name in created:
            try:
                docker_client.secrets.get(name).remove()
            except Exception:  # noqa: BLE001
                pass
        if started:
            subprocess.run(["docker", "swarm", "leave", "--force"], capture_output=True, timeout=60,
                           stdin=subprocess.DEVNULL)


def test_swarm_secrets_idempotent_and_versioned(tmp_path: Path, project_name: str, docker_client, swarm) -> None:
    sfx = secrets.token_hex(3)
    compose = f"""\
services:
  app:
    image: busybox
    secrets: [pw_{sfx}]
secrets:
  pw_{sfx}:
    external: true
"""
    root = make_project(tmp_path / "p", project_name, compose, manifest=f"project_name: {project_name}\n")
    stack = load_stack(ProjectOptions(cwd=str(root)))
    store = SessionStore()
    value = "Pw-" + secrets.token_hex(12)
    store.set(f"pw_{sfx}", value)
    swarm.extend([f"pw_{sfx}", f"pw_{sfx}_v2"])

    first = sm.materialize_report(stack, store, target="swarm", client=docker_client)
    assert first.swarm_names == ((f"pw_{sfx}", f"pw_{sfx}", "created"),)
    assert first.files == () and first.directory is None
    override = first.override.read_text()
    assert f'name: "pw_{sfx}"' in override and "external: true" in override and value not in override
    labels = docker_client.secrets.get(f"pw_{sfx}").attrs["Spec"]["Labels"]
    assert labels["toolbox-tui.project"] == project_name and labels["toolbox-tui.secret"] == f"pw_{sfx}"
    assert labels["toolbox-tui.sha256"] != hashlib.sha256(value.encode()).hexdigest()
    assert value not in str(labels)

    again = sm.materialize_report(stack, store, target="swarm", client=docker_client)
    assert again.swarm_names == ((f"pw_{sfx}", f"pw_{sfx}", "reused"),)

    store.set(f"pw_{sfx}", "Pw-" + secrets.token_hex(12))
    changed = sm.materialize_report(stack, store, target="swarm", client=docker_client)
    assert changed.swarm_names == ((f"pw_{sfx}", f"pw_{sfx}_v2", "created"),)
    assert f'name: "pw_{sfx}_v2"' in changed.override.read_text()
    # back to the first value: the first engine secret is reused, nothing new is created
    store.set(f"pw_{sfx}", value)
    back = sm.materialize_report(stack, store, target="swarm", client=docker_client)
    assert back.swarm_names == ((f"pw_{sfx}", f"pw_{sfx}", "reused"),)
    sm.remove_materialized(stack)
