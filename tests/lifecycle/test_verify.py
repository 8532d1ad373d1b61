"""`toolbox-tui up / verify [--persistence] / restart / logs / down` on a small real stack."""

from __future__ import annotations

import json
import socket
import subprocess

import pytest

from toolbox_tui.cli.main import main
from toolbox_tui.lifecycle.access import HealthUrl, health_url
from toolbox_tui.lifecycle.verify import reach_command


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


STACK = """
services:
  db:
    image: {image}
    init: true
    command: ["sh", "-c", "mkdir -p /tmp/www && echo ok > /tmp/www/health && exec httpd -f -p 5432 -h /tmp/www"]
    volumes: ["db_data:/data"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:5432/health"]
      interval: 1s
      retries: 5
  api:
    image: {image}
    init: true
    command: ["sh", "-c", "mkdir -p /tmp/www && echo ok > /tmp/www/health && echo '\\x1b]0;pwned\\x07hello' && exec httpd -f -p 8080 -h /tmp/www"]
    ports: ["127.0.0.1:{port}:8080"]
    depends_on:
      db: {{condition: service_healthy}}
      init: {{condition: service_completed_successfully}}
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/health"]
      interval: 1s
      retries: 5
  init:
    image: {image}
    command: ["sh", "-c", "echo migrated"]
volumes:
  db_data:
"""


def test_health_url_and_reach_command():
    class S:
        healthcheck = {"test": ["CMD-SHELL", "test -f /x && wget -q -O- http://127.0.0.1:6379/health"]}
    assert health_url(S()) == HealthUrl(6379, "/health")
    cmd = reach_command("redis", 6379, "/health")
    assert cmd[:2] == ["sh", "-c"] and "http://redis:6379/health" in cmd[2]


@pytest.fixture
def small_stack(tmp_path, monkeypatch, docker_client, test_image, compose_ready, project_name,
                cleanup_project):
    port = _free_port()
    f = tmp_path / "compose.yaml"
    f.write_text(STACK.format(image=test_image, port=port))
    cleanup_project(project_name, files=[f])
    monkeypatch.chdir(tmp_path)
    return ["-p", project_name, "-f", str(f)], port


def test_up_verify_persistence_restart_logs_down(small_stack, capsys, docker_client, project_name):
    opts, port = small_stack
    assert main([*opts, "up", "--timeout", "60"]) == 0
    out = capsys.readouterr().out
    assert "is healthy" in out and f"http://127.0.0.1:{port}/" in out
    assert "init" in out and "completed (exit 0)" in out

    assert main([*opts, "--json", "verify", "--persistence"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True
    by_id = {c["id"]: c for c in doc["checks"]}
    assert by_id["verify.health.api"]["status"] == "pass"
    http = by_id[f"verify.http.api.{port}"]
    assert http["status"] == "pass" and http["data"]["status"] == 200
    assert http["data"]["latency_ms"] >= 0
    assert by_id["verify.reach.api.db"]["status"] == "pass"
    persist = [c for c in doc["checks"] if c["id"].startswith("verify.persistence.db.")]
    assert persist and all(c["status"] == "pass" for c in persist)
    # the marker was removed afterwards
    db = docker_client.containers.list(filters={"label": f"com.docker.compose.project={project_name}",
                                                "status": "running"})
    db = [c for c in db if c.labels.get("com.docker.compose.service") == "db"][0]
    assert db.exec_run(["ls", "-a", "/data"]).output.decode().split() == [".", ".."]

    assert main([*opts, "restart", "api", "--timeout", "30"]) == 0
    assert "restarted and ready" in capsys.readouterr().out

    assert main([*opts, "logs", "api", "--tail", "5"]) == 0
    logs = capsys.readouterr().out
    assert "hello" in logs and "\x1b" not in logs and "\x07" not in logs

    # break it: stop db -> verify fails (running, health of dependants' reach)
    subprocess.run(["docker", "compose", *opts, "stop", "db"], capture_output=True, timeout=60)
    assert main([*opts, "--json", "verify"]) == 1
    doc = json.loads(capsys.readouterr().out)
    by_id = {c["id"]: c for c in doc["checks"]}
    assert by_id["verify.running.db"]["status"] == "fail"
    assert by_id["verify.reach.api.db"]["status"] == "fail"

    assert main([*opts, "down"]) == 0
    assert "volumes kept" in capsys.readouterr().out
    vols = docker_client.volumes.list(filters={"label": f"com.docker.compose.project={project_name}"})
    assert vols, "down without --volumes keeps named volumes"
    assert main([*opts, "down", "--volumes"]) == 0
    vols = docker_client.volumes.list(filters={"label": f"com.docker.compose.project={project_name}"})
    assert not vols


def test_up_json_diagnosis_exit_1(tmp_path, monkeypatch, capsys, docker_client, test_image,
                                  compose_ready, project_name, cleanup_project):
    f = tmp_path / "compose.yaml"
    f.write_text(f"""
services:
  api:
    image: {test_image}
    command: ["httpd", "-f", "-p", "8080", "-h", "/tmp"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/health"]
      interval: 1s
      retries: 2
""")
    cleanup_project(project_name, files=[f])
    monkeypatch.chdir(tmp_path)
    assert main(["-p", project_name, "-f", str(f), "--json", "up", "--timeout", "6"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["wait"]["timed_out"] is True
    (d,) = doc["diagnoses"]
    assert d["service"] == "api" and d["cause"] == "http_404"
    assert d["health_log"] and "404" in d["health_log"][-1]["output"]


def test_up_refuses_on_failing_paths_unless_forced(tmp_path, monkeypatch, capsys, docker_client,
                                                   test_image, compose_ready, project_name,
                                                   cleanup_project):
    pytest.importorskip("toolbox_tui.checks.doctor")
    f = tmp_path / "compose.yaml"
    f.write_text(f"""
services:
  cache:
    image: {test_image}
    command: ["sleep", "300"]
    volumes: ["./config/cache.conf:/etc/cache.conf:ro"]
""")
    cleanup_project(project_name, files=[f])
    monkeypatch.chdir(tmp_path)
    assert main(["-p", project_name, "-f", str(f), "up", "--timeout", "20"]) == 1
    err = capsys.readouterr().err
    assert "refusing to start" in err and "cache.conf" in err and "--force" in err
    assert not (tmp_path / "config").exists()  # nothing was started, no directory created
    assert main(["-p", project_name, "-f", str(f), "--json", "up", "--force", "--timeout", "20"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["forced_past"]


def test_prod_checklist_refuses_then_force(tmp_path, monkeypatch, capsys, docker_client, test_image,
                                           compose_ready, project_name, cleanup_project):
    f = tmp_path / "compose.yaml"
    port = _free_port()
    f.write_text(f"""
services:
  api:
    image: {test_image}
    init: true
    user: root
    command: ["httpd", "-f", "-p", "8080", "-h", "/tmp"]
    environment:
      API_TOKEN: canary-not-a-real-token-0042
      DB_PASSWORD_FILE: /run/secrets/db
    ports: ["{port}:8080"]
""")
    cleanup_project(project_name, files=[f])
    monkeypatch.chdir(tmp_path)
    base = ["-p", project_name, "-f", str(f), "--mode", "prod"]
    assert main([*base, "--json", "up", "--timeout", "20"]) == 1
    out = capsys.readouterr().out
    assert "canary-not-a-real-token-0042" not in out  # names only, never values
    doc = json.loads(out)
    failing = {c["id"] for c in doc["blocking"]}
    assert {"prod.env_secrets.api", "prod.user.api", "prod.limits.api", "prod.ports.api.0"} <= failing
    assert not docker_client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={project_name}"})
    # --force starts anyway (with the port on 127.0.0.1: tests never publish on all interfaces)
    f.write_text(f.read_text().replace(f'"{port}:8080"', f'"127.0.0.1:{port}:8080"'))
    assert main([*base, "up", "--force", "--timeout", "20"]) == 0
    assert "production checklist" in capsys.readouterr().out


def test_prod_checklist_passes_for_the_example_prod_files(example_copy, monkeypatch):
    from toolbox_tui.checks.prod_checklist import prod_checklist
    from toolbox_tui.compose.project import ProjectOptions, load_stack

    monkeypatch.chdir(example_copy)
    prod = prod_checklist(load_stack(ProjectOptions(mode="prod")))
    assert not [c.id for c in prod if c.status == "fail"]
    dev = {c.id for c in prod_checklist(load_stack(ProjectOptions(mode="dev"))) if c.status == "fail"}
    assert {"prod.user.backend", "prod.read_only.backend", "prod.limits.backend"} <= dev
    assert "prod.ports.celery-flower.0" in dev  # dev publishes 5555 on all interfaces


def test_up_without_engine_says_so_exit_3(tmp_path, monkeypatch, capsys):
    f = tmp_path / "compose.yaml"
    f.write_text("services:\n  a:\n    image: busybox\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")
    assert main(["-p", "tbxtest-noengine", "-f", str(f), "up"]) == 3
    err = capsys.readouterr().err
    assert "no-such-docker.sock" in err and "Traceback" not in err
