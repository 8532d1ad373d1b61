"""A tiny real web service (busybox httpd with a health check) for the HTTP probe tests."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Callable

COMPOSE = """
services:
  web:
    image: {image}
    command: sh -c 'mkdir -p /www && echo ok > /www/health && exec httpd -f -p 80 -h /www'
    ports: ["127.0.0.1::80"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:80/health"]
      interval: 1s
      timeout: 1s
      retries: 3
"""


def start_web(docker_client: Any, image: str, project_name: str, cleanup_project: Callable[..., str],
              tmp_path: Path) -> str:
    """Start it as Compose project `project_name` (torn down by `cleanup_project`); its container id."""
    f = tmp_path / "compose.yaml"
    f.write_text(COMPOSE.format(image=image))
    cleanup_project(project_name, files=[f], project_dir=tmp_path)
    args = ["--project-directory", str(tmp_path), "-p", project_name, "-f", str(f)]
    proc = subprocess.run(["docker", "compose", *args, "up", "-d", "--wait", "--wait-timeout", "60"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (c,) = docker_client.containers.list(filters={"label": f"com.docker.compose.project={project_name}"})
    return c.id
