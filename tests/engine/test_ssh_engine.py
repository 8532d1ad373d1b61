"""`DOCKER_HOST=ssh://…`: the engine reached the way the docker CLI reaches it (the ssh client
and its config), on a real OpenSSH server on 127.0.0.1 (tests/helpers/sshd.py).

Issue 17 saw `DOCKER_HOST=ssh://host toolbox-tui dashboard` fail with "Install paramiko package
to enable ssh:// support" while `docker ps` worked over the same URL. The far end here is this
machine's own engine, so a project started locally is what the ssh user sees.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.sshd import Sshd
from tests.helpers.tmux import Tmux, installed_command

pytestmark = pytest.mark.engine

COMPOSE = """\
services:
  web:
    image: ${TBX_IMAGE:-toolbox-tui/busybox:test}
    command: ["sh", "-c", "trap 'exit 0' TERM; echo ssh-log-line; sleep 600 & wait $$!"]
"""


@pytest.fixture
def sshd(tmp_path: Path):
    """Every ssh it serves prints "Warning: Permanently added …" on stderr (no known_hosts kept),
    as a first connection does: none of that may reach the user's terminal or output."""
    server = Sshd(tmp_path / "ssh", noisy=True)
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()


@pytest.fixture
def running_project(tmp_path: Path, project_name: str, test_image: str, compose_ready,
                    cleanup_project) -> Path:
    """A one-service project started on the local engine (the one the sshd's far end uses)."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "compose.yaml").write_text(COMPOSE)
    cleanup_project(project_name, files=[root / "compose.yaml"], project_dir=root)
    proc = subprocess.run(["docker", "compose", "-p", project_name, "up", "-d", "--wait"], cwd=root,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return root


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([installed_command(), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_doctor_and_dashboard_snapshot_over_ssh(sshd: Sshd, running_project: Path,
                                                project_name: str) -> None:
    env = sshd.env()
    docker_ps = subprocess.run(["docker", "ps", "--format", "{{.Names}}"], env=env,
                               capture_output=True, text=True, timeout=60)
    assert docker_ps.returncode == 0 and project_name in docker_ps.stdout, docker_ps.stderr

    proc = _run(["-p", project_name, "--json", "doctor"], running_project, env)
    doc = json.loads(proc.stdout)
    checks = {c["id"]: c for c in doc["checks"]}
    engine = checks["prereq.engine"]
    assert engine["status"] == "pass", engine
    assert "ssh://root@tbx-engine-host" in json.dumps(engine), engine
    assert "paramiko" not in proc.stdout + proc.stderr
    assert checks["prereq.compose"]["status"] == "pass"

    proc = _run(["-p", project_name, "--json", "dashboard"], running_project, env)
    assert proc.returncode == 0, proc.stderr
    snap = json.loads(proc.stdout)
    rows = {s["service"]: s for s in snap["services"]}
    assert rows["web"]["state"] == "running", rows
    assert proc.stderr == "", proc.stderr  # nothing of ssh's own reaches the user's terminal
    assert "Permanently added" in subprocess.run(  # ...which a plain ssh call does print
        ["ssh", "tbx-engine-host", "true"], env=env, capture_output=True, text=True,
        timeout=60).stderr

    proc = _run(["-p", project_name, "logs", "web"], running_project, env)
    assert proc.returncode == 0 and "ssh-log-line" in proc.stdout, proc.stderr


def test_live_dashboard_in_tmux_over_ssh(sshd: Sshd, running_project: Path, project_name: str) -> None:
    """The dashboard, as an operator runs it against a remote engine: rows, the log line, and no
    ssh noise painted over the screen (Textual draws on stderr, where ssh writes too); q quits
    cleanly."""
    env = sshd.env()
    tmux = Tmux("tbxssh")
    assigns = " ".join(f"{k}={v}" for k, v in (("DOCKER_HOST", env["DOCKER_HOST"]),
                                               ("PATH", env["PATH"]), ("TERM", "xterm-256color")))
    try:
        tmux.start(f"env {assigns} {installed_command()} -p {project_name} dashboard; "
                   "echo DASH-EXIT=$?; sleep 600", cwd=running_project, width=120, height=40)
        screen = tmux.wait("ssh-log-line", 60)
        assert "web" in screen and "running" in screen
        for _ in range(20):  # the live streams keep their connections; more are made meanwhile
            screen = tmux.capture()
            assert "Permanently added" not in screen and "paramiko" not in screen, screen
            time.sleep(0.1)
        tmux.keys("q")
        screen = tmux.wait("DASH-EXIT=", 30)
        assert "DASH-EXIT=0" in screen and "Permanently added" not in screen, screen
    finally:
        tmux.kill()


def test_unreachable_ssh_host_is_named_with_what_to_do(sshd: Sshd, tmp_path: Path) -> None:
    """The sshd is gone: one error naming the ssh endpoint and the next step, no traceback, and
    none of ssh's own stderr lines passed through raw."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "compose.yaml").write_text(COMPOSE)
    sshd.stop()
    proc = _run(["--json", "doctor"], root, sshd.env())
    doc = json.loads(proc.stdout)
    engine = {c["id"]: c for c in doc["checks"]}["prereq.engine"]
    assert engine["status"] == "fail", engine
    text = json.dumps(engine)
    assert "ssh://root@tbx-engine-host" in text and engine.get("hint"), engine
    assert "Traceback" not in proc.stderr and "paramiko" not in proc.stderr + proc.stdout
    assert proc.returncode != 0
