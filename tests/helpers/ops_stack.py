"""A small real stack for the dashboard's ops actions (shell, inspect, export): a running service
with every kind of setting the inspect view shows (env from the file and from a secret, an
env_file with a secret-like name, a bind mount, a port, labels, a health check, limits, a restart
policy) and one that has exited."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

SECRET_CANARY = "canary-db-pw-7f3a9"
"""The value of DB_PASSWORD (a secret of the stack): it must never reach a screen or a report."""

REVEAL_CANARY = "reveal-me-4c1e"
"""SESSION_SECRET from the env_file: secret-like by name, masked until revealed."""

COMPOSE = """
services:
  app:
    image: {image}
    init: true
    command: sh -c 'mkdir -p /www && echo ok > /www/index.html && httpd -p 8080 -h /www; i=0; while true; do i=$$((i+1)); echo "app tick $$i INFO"; [ $$((i % 3)) -eq 0 ] && echo "app oops $$i ERROR" >&2; sleep 0.3; done'
    environment:
      DB_PASSWORD: ${{DB_PASSWORD}}
      PLAIN_SETTING: hello-plain
    env_file: [app.env]
    labels:
      com.example.team: ops
      com.example.evil: "x\\u001b]0;pwn-title\\u0007y"
    volumes: ["./data:/data:ro"]
    ports: ["127.0.0.1::8080"]
    restart: unless-stopped
    mem_limit: 64m
    cpus: 0.5
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 2s
      retries: 3
  done:
    image: {image}
    command: sh -c 'echo bye; exit 3'
    restart: "no"
"""


def make_ops_stack(tmp_path: Path, image: str, name: str, cleanup: Callable[..., str],
                   *, start: bool = True) -> list[str]:
    """Write the project into `tmp_path` (and `up -d` it); the compose args."""
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "app.env").write_text(f"SESSION_SECRET={REVEAL_CANARY}\nLOG_FORMAT=plain\n")
    (tmp_path / ".env").write_text(f"DB_PASSWORD={SECRET_CANARY}\n")
    f = tmp_path / "compose.yaml"
    f.write_text(COMPOSE.format(image=image))
    cleanup(name, files=[f], project_dir=tmp_path)
    args = ["--project-directory", str(tmp_path), "-p", name, "-f", str(f)]
    if start:
        proc = subprocess.run(["docker", "compose", *args, "up", "-d"], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    return args
