"""`health_wait`: event-driven readiness without `--wait`'s failure modes (real engine)."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from toolbox_tui.engine.containers import DONE, FAILED, PENDING
from toolbox_tui.lifecycle.health import wait_healthy
from toolbox_tui.lifecycle.tracker import HealthTracker
from toolbox_tui.lifecycle.startup import ProjectRef, compose_up


def _attrs(cid, service, *, status="running", health=None, policy="no", exit_code=0, restarts=0):
    return {"Id": cid, "RestartCount": restarts,
            "Config": {"Labels": {"com.docker.compose.service": service},
                       "Healthcheck": {"Test": ["CMD", "true"]} if health else None},
            "HostConfig": {"RestartPolicy": {"Name": policy}},
            "State": {"Status": status, "ExitCode": exit_code, "OOMKilled": False,
                      "StartedAt": "2026-01-01T00:00:00.000000000Z",
                      **({"Health": {"Status": health}} if health else {})}}


def _ev(cid, action, **attrs):
    return {"Type": "container", "Action": action, "id": cid, "timeNano": time.time_ns(),
            "Actor": {"ID": cid, "Attributes": attrs}}


def test_unhealthy_is_not_final_and_exec_noise_is_ignored():
    changes = []
    t = HealthTracker(["web"], on_change=changes.append)
    t.add_attrs(_attrs("c1", "web", health="starting"))
    t.publish()
    assert t.service_state("web").verdict == PENDING
    assert not t.apply(_ev("c1", "exec_start: wget -q -O- http://x/health"))
    assert t.apply(_ev("c1", "health_status: unhealthy"))
    assert t.service_state("web").verdict == PENDING and t.first_failure() is None
    t.apply(_ev("c1", "health_status: healthy"))
    t.publish()
    assert t.all_done()
    assert [c.health for c in changes] == ["starting", "healthy"]


def test_one_shot_crash_and_restart_loop_rules():
    t = HealthTracker(["init", "crash", "loop", "svc"])
    t.add_attrs(_attrs("a", "init", status="exited", exit_code=0))
    t.add_attrs(_attrs("b", "crash", status="running"))
    t.add_attrs(_attrs("c", "loop", status="running", policy="always"))
    t.add_attrs(_attrs("d", "svc", status="running", policy="always"))
    assert t.service_state("init").verdict == DONE
    t.apply(_ev("b", "die", exitCode="3"))
    assert t.service_state("crash").verdict == FAILED
    assert "code 3" in t.service_state("crash").reason
    for _ in range(3):
        t.apply(_ev("c", "die", exitCode="1"))
        assert t.service_state("loop").verdict in (PENDING, FAILED)
        t.apply(_ev("c", "start"))
    st = t.service_state("loop")
    assert st.verdict == FAILED and st.restarts == 3 and "restart loop" in st.reason
    t.apply(_ev("d", "die", exitCode="1"))
    assert t.service_state("svc").verdict == PENDING  # will be restarted by policy


def test_unknown_container_is_inspected_once_and_gone_ones_ignored():
    looked = []

    def inspect(cid):
        looked.append(cid)
        return _attrs(cid, "late", status="running") if cid == "new" else None

    t = HealthTracker(["late"], inspect=inspect)
    assert t.service_state("late").state == "missing"
    t.apply(_ev("new", "start", **{"com.docker.compose.service": "late"}))
    assert t.service_state("late").verdict == DONE
    t.apply(_ev("gone", "die", **{"com.docker.compose.service": "late"}))
    t.apply(_ev("gone", "start", **{"com.docker.compose.service": "late"}))
    assert looked == ["new", "gone"]


def _write(tmp: Path, text: str) -> Path:
    f = tmp / "compose.yaml"
    f.write_text(text)
    return f


def test_recovers_from_unhealthy_where_compose_wait_gives_up(tmp_path, docker_client, test_image,
                                                             compose_ready, project_name,
                                                             cleanup_project):
    # Health fails for ~4 s (unhealthy after the first probe, no start period), then passes.
    # A one-shot init service exits 0. Both are fine for us; `--wait` fails on them.
    f = _write(tmp_path, f"""
services:
  slow:
    image: {test_image}
    command: ["sh", "-c", "sleep 4; touch /tmp/ready; exec sleep 300"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 1
  init:
    image: {test_image}
    command: ["sh", "-c", "echo migrated; exit 0"]
""")
    cleanup_project(project_name, files=[f])
    ref = ProjectRef.from_compose(["-p", project_name, "-f", str(f)])
    assert compose_up(ref).ok
    seen = []
    result = wait_healthy(ref, docker_client, timeout=30, on_change=seen.append)
    assert result.ok, result.states
    assert result.states["init"].reason.startswith("completed")
    assert ("slow", "unhealthy") in {(s.service, s.health) for s in seen}
    assert result.states["slow"].health == "healthy"
    assert not [t for t in threading.enumerate() if t.name == "tbx-health-deadline"]

    # The same situation, with Compose's own --wait: it fails (the reason this module exists).
    subprocess.run(["docker", "compose", "-p", project_name, "-f", str(f), "down", "-t", "1"],
                   capture_output=True, timeout=60)
    proc = subprocess.run(["docker", "compose", "-p", project_name, "-f", str(f), "up", "-d",
                           "--wait", "--wait-timeout", "30"], capture_output=True, text=True,
                          timeout=90)
    assert proc.returncode != 0


def test_timeout_closes_the_stream_and_crash_stops_early(tmp_path, docker_client, test_image,
                                                         compose_ready, project_name,
                                                         cleanup_project):
    f = _write(tmp_path, f"""
services:
  never:
    image: {test_image}
    init: true
    command: ["sleep", "300"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
""")
    cleanup_project(project_name, files=[f])
    ref = ProjectRef.from_compose(["-p", project_name, "-f", str(f)])
    assert compose_up(ref).ok
    before = threading.active_count()
    t0 = time.monotonic()
    result = wait_healthy(ref, docker_client, timeout=3)
    took = time.monotonic() - t0
    assert not result.ok and result.timed_out and 2.9 <= took < 6
    assert result.not_ready == ["never"]
    time.sleep(0.2)
    assert threading.active_count() <= before  # the reader thread is gone, nothing blocked

    f.write_text(f"""
services:
  crash:
    image: {test_image}
    command: ["sh", "-c", "sleep 0.3; echo boom; exit 3"]
""")
    ref = ProjectRef.from_compose(["-p", project_name, "-f", str(f)])
    assert compose_up(ref, extra_args=["--remove-orphans"]).ok
    t0 = time.monotonic()
    result = wait_healthy(ref, docker_client, timeout=60)
    assert not result.ok and not result.timed_out and result.stopped_early == "crash"
    assert time.monotonic() - t0 < 15
    assert result.states["crash"].exit_code == 3


def test_a_subset_wait_ignores_other_services():
    t = HealthTracker(["api"], extend=False)
    t.add_attrs(_attrs("x", "api", status="running"))
    t.add_attrs(_attrs("y", "broken", status="exited", exit_code=1))
    assert t.services == ["api"] and t.all_done() and t.first_failure() is None
    assert not t.apply(_ev("y", "health_status: unhealthy"))
    t_all = HealthTracker(["api"])
    t_all.add_attrs(_attrs("y", "broken", status="exited", exit_code=1))
    assert t_all.services == ["api", "broken"] and t_all.first_failure() == "broken"


def test_death_after_a_stop_request_is_named_and_marked():
    """A stopping dockerd sends `kill` then `die` (143) for every container before it closes the
    event stream; the waiter must be able to tell that from a crash (the wait then gives the
    engine a grace period to go away, see test_engine_restart_during_up.py)."""
    t = HealthTracker(["web", "crash"])
    t.add_attrs(_attrs("a", "web", health="starting"))
    t.add_attrs(_attrs("b", "crash"))
    assert not t.apply(_ev("a", "kill", signal="15"))  # nothing visible changes yet
    t.apply(_ev("a", "die", exitCode="143"))
    t.apply(_ev("b", "die", exitCode="3"))
    st = t.service_state("web")
    assert st.verdict == FAILED and "after a stop request" in st.reason, st
    assert t.stopped_on_request("web") and not t.stopped_on_request("crash")
    assert "stop request" not in t.service_state("crash").reason
    t.apply(_ev("a", "start"))  # a new start forgets the request
    assert not t.stopped_on_request("web")


def test_engine_gone_names_the_missing_socket(tmp_path):
    """`engine_gone` against a real client whose socket is not there (no engine needed)."""
    from toolbox_tui.engine import client as engine
    from toolbox_tui.lifecycle.health import engine_gone

    sock = tmp_path / "docker.sock"
    ep = engine.resolve_endpoint({"DOCKER_HOST": f"unix://{sock}"})
    import docker

    client = docker.DockerClient(base_url=ep.host, version="1.41", timeout=5)
    try:
        assert engine_gone(client) and "ConnectionError" in engine_gone(client)
        client.toolbox_endpoint = ep  # as engine.connect() sets it: the socket is probed first
        why = engine_gone(client)
        assert why and str(sock) in why, why
    finally:
        client.close()
