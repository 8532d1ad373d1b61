"""Swarm target: secrets created through the engine API, idempotent, versioned on change."""

from __future__ import annotations

import hashlib
import secrets
import subprocess
from pathlib import Path

import docker.errors
import pytest

from tests.helpers.secrets import make_project

from toolbox_tui.secrets import materialize as sm  # noqa: E402
from toolbox_tui.secrets.swarm import swarm_active
from toolbox_tui.compose.project import ProjectOptions, load_stack  # noqa: E402
from toolbox_tui.secrets.store import SessionStore  # noqa: E402

# swarm init/leave on a private engine (tests/helpers/private_engine.py): beside the other tests
pytestmark = [pytest.mark.engine, pytest.mark.xdist_group("private-engine")]


@pytest.fixture
def swarm_client(on_private_engine):
    """This module's engine: the worker's private one (`DOCKER_HOST` points there for the test)."""
    return on_private_engine.client()


@pytest.fixture
def swarm(swarm_client):
    """An active single-node swarm on 127.0.0.1; left again only if this fixture started it."""
    started = False
    if not swarm_active(swarm_client):
        proc = subprocess.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if proc.returncode != 0 and "already part of a swarm" not in proc.stderr:
            pytest.fail(f"docker swarm init failed: {proc.stderr.strip()}")
        started = proc.returncode == 0
    assert swarm_active(swarm_client)
    created: list[str] = []
    try:
        yield created
    finally:
        for name in created:
            try:
                swarm_client.secrets.get(name).remove()
            except Exception:  # noqa: BLE001
                pass
        if started:
            subprocess.run(["docker", "swarm", "leave", "--force"], capture_output=True, timeout=60,
                           stdin=subprocess.DEVNULL)


def test_swarm_secrets_idempotent_and_versioned(tmp_path: Path, project_name: str, swarm_client, swarm) -> None:
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

    first = sm.materialize_report(stack, store, target="swarm", client=swarm_client)
    assert first.swarm_names == ((f"pw_{sfx}", f"pw_{sfx}", "created"),)
    assert first.files == () and first.directory is None
    override = first.override.read_text()
    assert f'name: "pw_{sfx}"' in override and "external: true" in override and value not in override
    labels = swarm_client.secrets.get(f"pw_{sfx}").attrs["Spec"]["Labels"]
    assert labels["toolbox-tui.project"] == project_name and labels["toolbox-tui.secret"] == f"pw_{sfx}"
    assert labels["toolbox-tui.sha256"] != hashlib.sha256(value.encode()).hexdigest()
    assert value not in str(labels)

    again = sm.materialize_report(stack, store, target="swarm", client=swarm_client)
    assert again.swarm_names == ((f"pw_{sfx}", f"pw_{sfx}", "reused"),)

    store.set(f"pw_{sfx}", "Pw-" + secrets.token_hex(12))
    changed = sm.materialize_report(stack, store, target="swarm", client=swarm_client)
    assert changed.swarm_names == ((f"pw_{sfx}", f"pw_{sfx}_v2", "created"),)
    assert f'name: "pw_{sfx}_v2"' in changed.override.read_text()
    # back to the first value: the first engine secret is reused, nothing new is created
    store.set(f"pw_{sfx}", value)
    back = sm.materialize_report(stack, store, target="swarm", client=swarm_client)
    assert back.swarm_names == ((f"pw_{sfx}", f"pw_{sfx}", "reused"),)
    sm.remove_materialized(stack)


def test_swarm_rotation_swaps_secret_and_rolls_back(tmp_path: Path, project_name: str, swarm_client,
                                                    test_image, swarm) -> None:
    import time

    from toolbox_tui.secrets import rotate as sr

    sfx = secrets.token_hex(3)
    pw = f"pw_{sfx}"
    compose = f"""\
services:
  app:
    image: {test_image}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]  # stops at once on SIGTERM
    stop_grace_period: 2s
    secrets: [{pw}]
    healthcheck:
      test: ["CMD-SHELL", "grep -q good /run/secrets/{pw}"]
      interval: 1s
      timeout: 2s
      retries: 2
    deploy:
      update_config: {{monitor: 3s, failure_action: pause, order: start-first}}
secrets:
  {pw}:
    external: true
"""
    root = make_project(tmp_path / "p", project_name, compose, manifest=f"project_name: {project_name}\n")
    stack = load_stack(ProjectOptions(cwd=str(root)))
    store = SessionStore()
    store.set(pw, "good-" + secrets.token_hex(8))
    swarm.extend([pw, f"{pw}_v2", f"{pw}_v3", f"{pw}_v4"])
    sm.materialize(stack, store, target="swarm", client=swarm_client)
    deploy = subprocess.run(["docker", "stack", "deploy", "--resolve-image", "never", "-c",
                             str(root / "compose.yml"), project_name], capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    try:
        assert deploy.returncode == 0, deploy.stderr
        svc_name = f"{project_name}_app"

        def read_secret() -> str:
            end = time.monotonic() + 60
            last: Exception | None = None
            while time.monotonic() < end:
                cs = swarm_client.api.containers(filters={"label": f"com.docker.swarm.service.name={svc_name}",
                                                           "health": "healthy"})
                if len(cs) == 1:
                    try:  # start-first: a task can be replaced between the listing and the exec
                        exe = swarm_client.api.exec_create(cs[0]["Id"], ["cat", f"/run/secrets/{pw}"])
                        return swarm_client.api.exec_start(exe["Id"]).decode()
                    except docker.errors.APIError as exc:
                        last = exc
                time.sleep(0.3)
            raise AssertionError(f"no single healthy task ({last!r})")

        first = read_secret()
        new = "good-" + secrets.token_hex(8)
        report = sr.rotate_swarm(stack, store, pw, new, client=swarm_client, timeout=60)
        assert report.ok, report.to_json()
        assert report.services == ["app"]
        assert read_secret() == new != first
        refs = swarm_client.services.get(svc_name).attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
        assert [r["SecretName"] for r in refs] == [f"{pw}_v2"] and refs[0]["File"]["Name"] == pw
        bad = "bad-" + secrets.token_hex(8)
        report = sr.rotate_swarm(stack, store, pw, bad, client=swarm_client, timeout=40)
        assert not report.ok and report.rolled_back, report.to_json()
        assert store.get(pw) == new
        refs = swarm_client.services.get(svc_name).attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
        assert [r["SecretName"] for r in refs] == [f"{pw}_v2"]
        assert bad not in str(report.to_json())

        # Ctrl-C (or SIGTERM/SIGHUP, which the CLI turns into KeyboardInterrupt) while the
        # service update rolls: the reference is swapped back and the keyring holds `new` again
        import _thread
        import threading

        def interrupt_soon(msg: str) -> None:
            if msg.startswith("updating swarm service"):
                threading.Timer(1.0, _thread.interrupt_main).start()

        said: list[str] = []
        with pytest.raises(KeyboardInterrupt):
            sr.rotate_swarm(stack, store, pw, "good-" + secrets.token_hex(8), client=swarm_client,
                            timeout=60, progress=lambda m: (said.append(m), interrupt_soon(m)))
        assert said[-1] == f"{pw}: rolled back to the previous value", said
        assert store.get(pw) == new and store.get(pw + sr.PREVIOUS_SUFFIX) is None
        refs = swarm_client.services.get(svc_name).attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
        assert [r["SecretName"] for r in refs] == [f"{pw}_v2"]
        assert read_secret() == new
    finally:
        subprocess.run(["docker", "stack", "rm", project_name], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
        end = time.monotonic() + 30
        while time.monotonic() < end and swarm_client.api.containers(  # no inspect: tasks go
                all=True, filters={"label": f"com.docker.stack.namespace={project_name}"}):
            time.sleep(0.5)
        sm.remove_materialized(stack)
