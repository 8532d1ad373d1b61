"""Daemon restart recovery, for real: stop dockerd (SIGTERM) and start it again while
`StackWatcher` and `LogPipeline` watch a project whose container has `restart: unless-stopped`.

`live-restore` is off, so the container stops with the daemon and its restart policy brings it
back. The daemon is this worker's private one (`tests/helpers/private_engine.py`, started as
`.ci/provision.sh` starts the shared one), so the restart touches no other test; it is always
started again, even when the test fails.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.helpers.live import Recorder, watcher_for

COMPOSE = """
services:
  tick:
    image: {image}
    init: true  # sh as PID 1 ignores SIGTERM: stopping dockerd would wait 10 s for it
    restart: unless-stopped
    command: sh -c 'i=0; while true; do i=$$((i+1)); echo "tick $$$$ $$i"; sleep 0.05; done'
"""


@pytest.mark.slow
@pytest.mark.engine
@pytest.mark.xdist_group("private-engine")  # stops and starts a private dockerd
def test_daemon_restart_recovery(on_private_engine, test_image, project_name, cleanup_project,
                                 tmp_path) -> None:
    import docker

    from toolbox_tui.live.logs import LogPipeline

    engine = on_private_engine
    f = tmp_path / "compose.yaml"
    f.write_text(COMPOSE.format(image=test_image))
    cleanup_project(project_name, files=[f], project_dir=tmp_path)
    proc = subprocess.run(["docker", "compose", "-p", project_name, "-f", str(f), "up", "-d"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr

    client = docker.from_env(timeout=10)
    rec = Recorder()
    got: list = []
    w = watcher_for(client, project_name, rec, max_backoff=1.0)
    pl = LogPipeline(client, project_name, lambda b: got.extend(b.lines), max_in_flight=None,
                     poll_interval=0.3)
    pl.start()
    try:
        assert rec.wait(lambda r: r.latest("tick") and r.latest("tick").state == "running")
        assert rec.wait(lambda r: len(got) > 20)
        first = rec.latest("tick")

        engine.stop()
        assert rec.wait(lambda r: r.engine and not r.engine[-1].connected, 15)
        n_lost = len(got)

        engine.start()
        assert rec.wait(lambda r: r.engine[-1].connected, 30), rec.engine[-3:]
        # the restart policy brings the same container back (a new start)
        assert rec.wait(lambda r: r.latest("tick").state == "running"
                        and r.latest("tick").started_at > first.started_at, 30), rec.latest("tick")
        assert rec.latest("tick").container_id == first.container_id
        # the restarted daemon keeps none of this test run's private dirs (pytest deletes them;
        # runc's exec state there would break every later `docker exec` and exec healthcheck)
        env = open(f"/proc/{engine.pid()}/environ", "rb").read().split(b"\0")
        assert not [e for e in env if e.startswith((b"XDG_", b"DBUS_"))], env
        assert rec.wait(lambda r: len(got) > n_lost + 20, 30), "the log stream did not resume"

        c = client.containers.get(first.container_id)
        c.stop(timeout=1)
        c.wait(timeout=20)
        raw = subprocess.run(["docker", "logs", "-t", c.id], capture_output=True, text=True,
                             timeout=60).stdout.splitlines()
        raw = [ln.split(" ", 1)[1] if " " in ln else "" for ln in raw]
        end = time.time() + 20
        while len(got) < len(raw) and time.time() < end:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        pl.stop()
        w.stop()
        client.close()
        engine.ensure()
    texts = [ln.text for ln in got]
    assert len({ln.ts_ns for ln in got}) == len(got), "a line was delivered twice"
    assert texts == raw, (len(texts), len(raw))
    assert sum(1 for t in texts if t.split()[-1] == "1") >= 2, "expected lines from two runs"
