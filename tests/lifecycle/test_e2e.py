"""The example stack, from a fresh copy to healthy and back, with no other input (real engine).

`fix --apply --yes`, `secrets generate`, `up`, `verify --persistence`, `down`: the whole path a
newcomer takes. Needs the engine, Compose, the local test image and a Secret Service (run inside
`dbus-run-session` with an unlocked gnome-keyring, as scripts/test.sh does).
"""

from __future__ import annotations

import json
import socket
import sys
import time

import pytest

from toolbox_tui.state_dir import state_dir_for
from toolbox_tui.cli.main import main

pytestmark = [pytest.mark.engine, pytest.mark.keyring, pytest.mark.slow]


def _ports_free(stack) -> list[int]:
    busy = []
    for p in stack.published_ports():
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((p.host_ip or "127.0.0.1", p.published))
        except OSError:
            busy.append(p.published)
        finally:
            s.close()
    return busy


def test_example_fresh_copy_to_healthy_verified_and_down(example_copy, example_ports, monkeypatch, capsys,
                                                         docker_client, test_image, compose_ready,
                                                         keyring_backend, project_name,
                                                         cleanup_project):
    from toolbox_tui.compose.project import ProjectOptions, load_stack

    monkeypatch.chdir(example_copy)
    cleanup_project(project_name)
    opts = ["-p", project_name]

    # The example publishes fixed ports; another run of it on this machine must end first.
    stack = load_stack(ProjectOptions(project_name=project_name))
    deadline = time.monotonic() + 180
    while (busy := _ports_free(stack)) and time.monotonic() < deadline:
        time.sleep(2)
    assert not busy, f"ports {busy} stay in use (another copy of the example stack is running?)"

    assert main([*opts, "fix", "--apply", "--yes"]) == 0
    assert main([*opts, "secrets", "generate"]) == 0
    capsys.readouterr()

    t0 = time.monotonic()
    code = main([*opts, "--json", "up", "--timeout", "120"])
    took = time.monotonic() - t0
    doc = json.loads(capsys.readouterr().out)
    assert code == 0, json.dumps(doc.get("diagnoses") or doc.get("blocking"), indent=2)
    assert doc["ok"] and not doc.get("forced_past")
    states = {s["service"]: s for s in doc["services"]}
    assert set(states) == set(stack.services)
    assert all(s["verdict"] == "done" for s in states.values())
    assert all(s["health"] == "healthy" for s in states.values() if s["has_healthcheck"])
    labels = {u["label"] for u in doc["urls"]}
    assert {"Dashboard", "API docs"} <= labels
    # secrets came from files written by `up`, never as values in the report
    assert any("secrets:" in n for n in doc["notes"])
    sys.stderr.write(f"up to all-healthy: {took:.1f} s\n")

    code = main([*opts, "--json", "verify", "--persistence"])
    vdoc = json.loads(capsys.readouterr().out)
    failing = [c for c in vdoc["checks"] if c["status"] == "fail"]
    assert code == 0, json.dumps(failing, indent=2)
    ids = {c["id"] for c in vdoc["checks"]}
    assert f"verify.http.backend.{example_ports['BACKEND_PORT']}" in ids and "verify.reach.backend.postgres" in ids
    assert any(i.startswith("verify.persistence.postgres.") for i in ids)
    assert any(i.startswith("verify.secrets.") for i in ids)

    assert main([*opts, "down"]) == 0
    out = capsys.readouterr().out
    assert "is down" in out and "secret file(s) removed" in out
    left = docker_client.containers.list(all=True, filters={
        "label": f"com.docker.compose.project={project_name}"})
    assert not left
    assert not (state_dir_for(example_copy) / "compose.secrets.yml").exists()


def test_up_refuses_when_secret_values_are_missing(example_copy, monkeypatch, capsys,
                                                   docker_client, test_image, compose_ready,
                                                   keyring_backend, project_name, cleanup_project):
    monkeypatch.chdir(example_copy)
    cleanup_project(project_name)
    opts = ["-p", project_name]
    assert main([*opts, "fix", "--apply", "--yes"]) == 0
    capsys.readouterr()
    assert main([*opts, "--json", "up", "--timeout", "30"]) == 1  # no `secrets generate` yet
    doc = json.loads(capsys.readouterr().out)
    assert "refused" in doc
    (problem,) = [c for c in doc["blocking"] if c["id"] == "secrets.materialize"]
    assert "db_password" in problem["title"] and "secrets" in problem["title"]
    assert not docker_client.containers.list(all=True, filters={
        "label": f"com.docker.compose.project={project_name}"})
