"""Induced failures on small real stacks each produce the right plain-language diagnosis."""

from __future__ import annotations

import os
import socket
from pathlib import Path


from toolbox_tui.lifecycle.diagnosis import Diagnosis, diagnose, from_compose_error
from toolbox_tui.lifecycle.evidence import suspicious_mounts
from toolbox_tui.lifecycle.health import wait_healthy
from toolbox_tui.lifecycle.startup import ProjectRef, compose_up


def _run(tmp: Path, project: str, text: str, client, cleanup, *, timeout: float = 8) -> dict[str, Diagnosis]:
    f = tmp / "compose.yaml"
    f.write_text(text)
    cleanup(project, files=[f])
    ref = ProjectRef.from_compose(["-p", project, "-f", str(f)])
    up = compose_up(ref)
    states, bad = None, list(ref.services)
    if up.ok:
        result = wait_healthy(ref, client, timeout=timeout)
        assert not result.ok
        states, bad = result.states, result.not_ready
    diags = diagnose(ref, client, bad, states=states, up_error=up.error,
                     failed_service=up.failed_service)
    return {d.service or "": d for d in diags}


HC = """
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080{path}"]
      interval: 1s
      retries: 2
"""


def test_health_endpoint_404(tmp_path, docker_client, test_image, compose_ready, project_name,
                             cleanup_project):
    d = _run(tmp_path, project_name, f"""
services:
  api:
    image: {test_image}
    command: ["sh", "-c", "echo ok > /tmp/health && exec httpd -f -p 8080 -h /tmp"]
{HC.format(path="/healthz")}""", docker_client, cleanup_project)["api"]
    assert d.cause == "http_404"
    assert "404" in d.summary and "/healthz" in d.summary
    assert any("404" in p.output for p in d.health_log)
    assert d.health_log[-1].exit_code == 1


def test_service_that_never_listens(tmp_path, docker_client, test_image, compose_ready,
                                    project_name, cleanup_project):
    d = _run(tmp_path, project_name, f"""
services:
  api:
    image: {test_image}
    command: ["sh", "-c", "echo 'starting on 9090' && exec httpd -f -p 9090 -h /tmp"]
{HC.format(path="/health")}""", docker_client, cleanup_project)["api"]
    assert d.cause == "connection_refused"
    assert "port 8080" in d.summary
    assert any("Connection refused" in p.output for p in d.health_log)
    assert "starting on 9090" in d.logs


def test_missing_mounted_file(tmp_path, docker_client, test_image, compose_ready, project_name,
                              cleanup_project):
    d = _run(tmp_path, project_name, f"""
services:
  cache:
    image: {test_image}
    command: ["sh", "-c", "cat /etc/cache/cache.conf; exec sleep 300"]
    stop_grace_period: 1s  # PID 1 sh ignores SIGTERM: stop would wait 10 s
    volumes: ["./config/cache.conf:/etc/cache/cache.conf:ro"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /etc/cache/cache.conf"]
      interval: 1s
      retries: 2
""", docker_client, cleanup_project)["cache"]
    assert d.cause == "missing_mount"
    src = str(tmp_path / "config" / "cache.conf")
    assert src in d.summary and "/etc/cache/cache.conf" in d.summary
    assert (tmp_path / "config" / "cache.conf").is_dir()  # what the engine did
    assert any("Is a directory" in ln for ln in d.logs)


def test_port_held_by_another_process(tmp_path, docker_client, test_image, compose_ready,
                                      project_name, cleanup_project):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        d = _run(tmp_path, project_name, f"""
services:
  web:
    image: {test_image}
    command: ["httpd", "-f", "-p", "8080", "-h", "/tmp"]
    ports: ["127.0.0.1:{port}:8080"]
""", docker_client, cleanup_project)["web"]
    finally:
        holder.close()
    assert d.cause == "port_allocated"
    assert f"127.0.0.1:{port}" in d.summary
    facts = dict(d.data)
    assert facts.get("owner_pid") == os.getpid(), d.summary  # this test process holds it
    assert f"pid {os.getpid()}" in d.summary


def test_external_secret_without_swarm(tmp_path, docker_client, test_image, compose_ready,
                                       project_name, cleanup_project):
    # Compose refuses external secrets at create whether or not the engine is in swarm mode;
    # the name is unique so no swarm secret of that name can exist either.
    d = _run(tmp_path, project_name, f"""
services:
  worker:
    image: {test_image}
    command: ["sleep", "300"]
    secrets: [openai_api_key]
secrets:
  openai_api_key:
    external: true
    name: {project_name}_openai_api_key
""", docker_client, cleanup_project)["worker"]
    assert d.cause == "external_secret"
    assert "openai_api_key" in d.summary
    assert "secrets materialize" in d.hint and "swarm init" in d.hint


def test_compose_error_parsing_and_sanitizing():
    class S:  # a stand-in ComposeProject: nothing defined
        services: dict = {}
        secrets: dict = {}
    d = from_compose_error(S(), "Error response from daemon: driver failed programming external "
                                "connectivity on endpoint p-web-1 (abc): Bind for 127.0.0.1:65001 "
                                "failed: port is already allocated")
    assert d.cause == "port_allocated" and dict(d.data)["port"] == 65001
    d = from_compose_error(S(), "unsupported external secret x\x1b]0;pwned\x07")
    assert d.cause == "external_secret" and "\x1b" not in "".join(d.evidence)
    assert from_compose_error(S(), "something else") is None


def test_suspicious_mounts_only_flags_empty_dirs_that_should_be_files(tmp_path):
    (tmp_path / "a.conf").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "full.conf").mkdir()
    (tmp_path / "full.conf" / "x").write_text("x")
    attrs = {"Mounts": [
        {"Type": "bind", "Source": str(tmp_path / "a.conf"), "Destination": "/etc/a.conf"},
        {"Type": "bind", "Source": str(tmp_path / "data"), "Destination": "/var/data"},
        {"Type": "bind", "Source": str(tmp_path / "full.conf"), "Destination": "/etc/full.conf"},
        {"Type": "volume", "Source": "/var/lib/docker/volumes/x", "Destination": "/x.db"},
    ]}
    assert suspicious_mounts(attrs) == [(str(tmp_path / "a.conf"), "/etc/a.conf")]
    assert suspicious_mounts(attrs, "test -f /var/data") == [
        (str(tmp_path / "a.conf"), "/etc/a.conf"), (str(tmp_path / "data"), "/var/data")]


def test_restart_loop_and_oom_free_crash(tmp_path, docker_client, test_image, compose_ready,
                                         project_name, cleanup_project):
    diags = _run(tmp_path, project_name, f"""
services:
  flappy:
    image: {test_image}
    command: ["sh", "-c", "echo 'fatal: config missing'; exit 1"]
    restart: always
""", docker_client, cleanup_project, timeout=60)
    d = diags["flappy"]
    assert d.cause == "restart_loop" and d.restarts >= 3
    assert "fatal: config missing" in d.logs


def test_sigkill_under_a_memory_limit_without_the_oom_flag(tmp_path, docker_client, test_image,
                                                          compose_ready, project_name, cleanup_project):
    """Under load the engine may record exit 137 without OOMKilled (seen in CI): the diagnosis
    names the memory limit and says "most likely out of memory", not that it is certain. A
    process that SIGKILLs itself under a limit is exactly that case, for real."""
    diags = _run(tmp_path, project_name, f"""
services:
  killer:
    image: {test_image}
    mem_limit: 16m
    init: true  # sh is not PID 1 (which ignores SIGKILL from inside); tini exits 128+9
    command: ["sh", "-c", "echo starting; kill -9 $$$$"]
""", docker_client, cleanup_project, timeout=20)
    d = diags["killer"]
    assert d.exit_code == 137 and not d.oom_killed and d.cause == "exited"
    assert "memory limit of 16 MiB: most likely out of memory" in d.summary
    assert "docker kill" in d.hint
