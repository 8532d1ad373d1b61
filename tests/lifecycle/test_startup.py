"""`startup.compose_up`: Compose's NDJSON progress becomes per-service events (real engine)."""

from __future__ import annotations

import json
from pathlib import Path


from toolbox_tui.lifecycle.startup import ProgressParser, ProjectRef, ServiceProgress, compose_up


def test_parser_maps_containers_to_services_including_dashes_and_explicit_names():
    p = ProgressParser("proj", ["web", "mcp-server", "db"], explicit_names={"my-db": "db"})
    ev = p.parse_line(json.dumps({"id": "Container proj-mcp-server-1", "status": "Started"}))
    assert ev == ServiceProgress("mcp-server", "running", "Started", "Container proj-mcp-server-1")
    assert p.parse_line('{"id": "Container my-db", "status": "Creating"}').service == "db"
    assert p.parse_line('{"id": "Network proj_default", "status": "Created"}').service is None
    assert p.parse_line('{"id": "Container proj-web-1", "status": "Healthy"}').phase == "done"
    assert p.started == {"mcp-server", "web"}


def test_parser_errors_warnings_and_plain_lines():
    p = ProgressParser("proj", ["sec"])
    ev = p.parse_line('{"id": "Container proj-sec-1", "status": "unsupported external secret k"}')
    assert ev.phase == "error" and ev.service == "sec"
    ev = p.parse_line('{"error": true, "message": "unsupported external secret k"}')
    assert ev.phase == "error" and p.error == "unsupported external secret k"
    assert p.failed_service == "sec"
    w = p.parse_line('{"level": "warning", "msg": "the attribute `version` is obsolete", "time": "x"}')
    assert w.phase == "warning" and p.warnings == ["the attribute `version` is obsolete"]
    assert p.parse_line("not json \x1b]0;evil\x07 at all").detail == "not json  at all"
    assert p.parse_line("   ") is None


def _write(tmp: Path, text: str) -> Path:
    f = tmp / "compose.yaml"
    f.write_text(text)
    return f


def test_compose_up_streams_events_per_service(tmp_path, docker_client, test_image, compose_ready,
                                              project_name, cleanup_project):
    f = _write(tmp_path, f"""
services:
  web:
    image: {test_image}
    command: ["httpd", "-f", "-p", "8080", "-h", "/tmp"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  app-worker:
    image: {test_image}
    command: ["sleep", "300"]
    depends_on:
      web: {{condition: service_healthy}}
""")
    cleanup_project(project_name, files=[f])
    ref = ProjectRef.from_compose(["-p", project_name, "-f", str(f)])
    assert set(ref.services) == {"web", "app-worker"}
    events: list[ServiceProgress] = []
    result = compose_up(ref, on_event=events.append)
    assert result.ok, result.error
    started = {(e.service, e.status) for e in events}
    assert ("web", "Started") in started and ("app-worker", "Started") in started
    assert ("web", "Healthy") in started  # Compose waited for the dependency
    assert set(result.services_started) == {"web", "app-worker"}
    # ordering: the dependant starts after its dependency is healthy
    order = [(e.service, e.status) for e in events]
    assert order.index(("web", "Healthy")) < order.index(("app-worker", "Started"))


def test_compose_up_failure_returns_message_and_service(tmp_path, docker_client, test_image,
                                                       compose_ready, project_name, cleanup_project):
    f = _write(tmp_path, f"""
services:
  sec:
    image: {test_image}
    command: ["sleep", "300"]
    secrets: [api_key]
secrets:
  api_key:
    external: true
""")
    cleanup_project(project_name, files=[f])
    ref = ProjectRef.from_compose(["-p", project_name, "-f", str(f)])
    events: list[ServiceProgress] = []
    result = compose_up(ref, on_event=events.append)
    assert result.returncode != 0
    assert "unsupported external secret api_key" in result.error
    assert result.failed_service == "sec"
    assert any(e.phase == "error" for e in events)
