"""Stack events: states from the engine's event stream, health flips, noise, engine loss.

The engine-loss test puts a small Unix-socket proxy between the watcher and the real daemon and
cuts it (the daemon itself is shared by the team and never restarted by tests).
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.helpers.live import Recorder, watcher_for
from toolbox_tui.live.events import format_uptime, state_from_inspect, state_from_list

COMPOSE = """
services:
  web:
    image: {image}
    command: sh -c 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'
    ports: ["127.0.0.1::8080"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 1s
      retries: 2
  flip:
    image: {image}
    init: true  # sh as PID 1 ignores SIGTERM: each stop would wait 10 s
    command: sh -c 'touch /tmp/ok; while true; do echo "flip $$(date +%s)"; sleep 1; done'
    healthcheck:
      test: ["CMD-SHELL", 'test -f /tmp/ok || {{ printf "probe says \\033]0;pwn\\007no\\n"; exit 1; }}']
      interval: 1s
      timeout: 1s
      retries: 1
"""


def compose_up(tmp_path: Path, name: str, image: str, text: str = COMPOSE) -> list[str]:
    f = tmp_path / "compose.yaml"
    f.write_text(text.format(image=image))
    args = ["docker", "compose", "-p", name, "-f", str(f)]
    proc = subprocess.run([*args, "up", "-d", "--wait", "--wait-timeout", "60"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return args


def test_format_uptime() -> None:
    assert format_uptime(0) == "-"
    assert format_uptime(59) == "<1m"
    assert format_uptime(61) == "1m"
    assert format_uptime(7200) == "2h00m"
    assert format_uptime(90000) == "1d01h"


def test_state_from_inspect_sanitizes() -> None:
    info = {"Id": "abc", "Name": "/x\x1b]0;t\x07y", "RestartCount": 2,
            "State": {"Status": "running", "StartedAt": "2026-11-27T10:00:00.5Z",
                      "Health": {"Status": "unhealthy", "FailingStreak": 3,
                                 "Log": [{"Start": "2026-11-27T10:00:01.000000000Z", "ExitCode": 1,
                                          "Output": "bad\x1b[2J\nline2\x9b"}]}},
            "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                                          "81/tcp": None}},
            "Config": {"Image": "img"}}
    s = state_from_inspect("web", info)
    assert s.container_name == "xy"
    assert (s.state, s.health, s.failing_streak, s.restarts) == ("running", "unhealthy", 3, 2)
    assert s.ports == ("127.0.0.1:8080->80/tcp",)
    assert s.health_log[0].output == "bad ⏎ line2"
    assert s.started_at > 0 and s.uptime() > 0 and s.details


@pytest.mark.parametrize("status,state,health,exit_code", [
    ("Up 5 seconds (healthy)", "running", "healthy", None),
    ("Up 2 minutes (unhealthy)", "running", "unhealthy", None),
    ("Up 1 second (health: starting)", "running", "starting", None),
    ("Up 3 hours", "running", "", None),
    ("Exited (137) 4 minutes ago", "exited", "", 137),
    ("Restarting (3) 1 second ago", "restarting", "", 3),
    ("Created", "created", "", None),
])
def test_state_from_list_reads_the_status_line(status, state, health, exit_code) -> None:
    c = {"Id": "abc", "Names": ["/p-web-1\x1b]0;t\x07"], "Image": "img\x9b2J", "State": state,
         "Status": status, "Ports": [{"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 8080,
                                      "Type": "tcp"}, {"PrivatePort": 81, "Type": "tcp"}]}
    s = state_from_list("web", c)
    assert (s.state, s.health, s.exit_code) == (state, health, exit_code)
    assert s.container_name == "p-web-1" and s.image == "img"
    assert s.ports == ("127.0.0.1:8080->80/tcp",)  # unpublished ports are not listed
    assert not s.details and s.restarts == 0 and s.health_log == ()


@pytest.mark.engine
def test_states_health_flip_and_events(docker_client, test_image, project_name, cleanup_project,
                                       tmp_path) -> None:
    cleanup_project(project_name)
    args = compose_up(tmp_path, project_name, test_image)
    rec = Recorder()
    w = watcher_for(docker_client, project_name, rec, services=("web", "flip", "never"))
    try:
        assert rec.wait(lambda r: (r.latest("web") and r.latest("web").health == "healthy"
                                   and r.latest("flip") and r.latest("flip").health == "healthy"))
        assert rec.engine and rec.engine[-1].connected
        web = rec.latest("web")
        assert web.state == "running" and web.ports and web.ports[0].startswith("127.0.0.1:")
        assert w.states["never"].state == "missing"
        n_states = len(rec.states)
        # health probes (exec_*) alone produce no events and no state churn
        time.sleep(2.5)
        assert all(not e.action.startswith("exec") for e in rec.events)
        assert len(rec.states) - n_states <= 2
        # flip the health check
        docker_client.containers.get(web.container_name.replace("web", "flip")).exec_run(
            ["rm", "/tmp/ok"])
        assert rec.wait(lambda r: r.latest("flip").health == "unhealthy")
        assert any(e.service == "flip" and e.action == "health:unhealthy" for e in rec.events)
        # the container list says `unhealthy` first; the streak and the log come with the inspect
        assert rec.wait(lambda r: r.latest("flip").details and r.latest("flip").failing_streak >= 1)
        flip = rec.latest("flip")
        bad = [p for p in flip.health_log if p.exit_code == 1]
        assert bad and bad[-1].output == "probe says no"
        # die + restart show as events, restart count is the engine's
        subprocess.run([*args, "restart", "-t", "1", "web"], capture_output=True, timeout=60)
        assert rec.wait(lambda r: any(e.service == "web" and e.action == "die" for e in r.events))
        assert rec.wait(lambda r: r.latest("web").state == "running"
                        and any(e.service == "web" and e.action == "start" for e in r.events))
    finally:
        w.stop()


class SocketProxy:
    """A Unix-socket proxy to the Docker daemon that can be cut and restored."""

    def __init__(self, path: str, target: str = "/var/run/docker.sock") -> None:
        self.path = path
        self.target = target
        self.conns: list[socket.socket] = []
        self.server: socket.socket | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if os.path.exists(self.path):
            os.unlink(self.path)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(self.path)
        srv.listen(50)
        self.server = srv
        self.thread = threading.Thread(target=self._accept, args=(srv,), daemon=True)
        self.thread.start()

    def _accept(self, srv: socket.socket) -> None:
        while True:
            try:
                client, _ = srv.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        """The daemon 'goes away': refuse new connections and drop the open ones."""
        if self.server:
            self.server.close()
            self.server = None
        os.unlink(self.path)
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.conns.clear()


@pytest.mark.engine
def test_engine_loss_is_reported_and_recovered(docker_client, test_image, project_name,
                                               cleanup_project, tmp_path) -> None:
    import docker

    from toolbox_tui.live.logs import LogPipeline

    cleanup_project(project_name)
    labels = {"com.docker.compose.project": project_name, "com.docker.compose.service": "tick"}
    c = docker_client.containers.run(
        test_image, ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.02; done"],
        detach=True, labels=labels)
    sock = str(tmp_path / "d.sock")
    proxy = SocketProxy(sock)
    proxy.start()
    client = docker.DockerClient(base_url=f"unix://{sock}", timeout=10)
    rec = Recorder()
    got: list = []
    w = watcher_for(client, project_name, rec, max_backoff=1.0)
    pl = LogPipeline(client, project_name, lambda b: got.extend(b.lines), max_in_flight=None,
                     poll_interval=0.3)
    pl.start()
    try:
        assert rec.wait(lambda r: r.latest("tick") and r.latest("tick").state == "running")
        assert rec.wait(lambda r: len(got) > 20)
        proxy.cut()
        assert rec.wait(lambda r: r.engine and not r.engine[-1].connected, 15)
        assert "engine" in rec.engine[-1].message
        time.sleep(1.5)  # lines keep coming from the container while we are blind
        proxy.start()
        assert rec.wait(lambda r: r.engine[-1].connected, 20)
        time.sleep(1.5)
        c.stop(timeout=1)
        c.wait(timeout=20)
        raw = docker_client.api.logs(c.id).decode().splitlines()
        end = time.time() + 20
        while len(got) < len(raw) and time.time() < end:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        pl.stop()
        w.stop()
        proxy.cut()
        client.close()
    texts = [ln.text for ln in got]
    assert texts == raw, (len(texts), len(raw))
