"""A container the engine cannot inspect: its health-check exec hangs and holds the container lock.

Under load (CI, a busy host) a health-check exec can be slow to start; dockerd holds the
container's lock meanwhile, and `docker inspect` of that container waits (the container *list*
answers from a snapshot). Reproduced here for real: the container's containerd shim is stopped
(SIGSTOP) after its first healthy probe, so the next probe's exec hangs and every inspect of it
blocks until the shim is continued. The dashboard once inspected services one after another in
one thread: one such container left every later row missing ("2/2 running" for a 10-service
stack). Invariants: every service gets a row from the list within seconds, the healthy ones get
their details, the stalled one is shown from the list, and `dashboard --json` ends in bounded time
naming the container it could not inspect.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time

import pytest

pytest.importorskip("textual")

from textual.widgets import DataTable, Static  # noqa: E402

from toolbox_tui.screens.dashboard.app import DashboardApp  # noqa: E402
from toolbox_tui.live.events import StackWatcher  # noqa: E402
from toolbox_tui.live.stack import LiveStack  # noqa: E402

from .invariants import problems, run_exe  # noqa: E402

CLASS = "container the engine cannot inspect (health exec hung)"
NS = 1_000_000_000
SERVICES = ("api", "cache", "db", "web")
STALLED = "cache"  # sorts before db and web: the old serial snapshot stopped at it


def _shim_pid(cid: str) -> int:
    out = subprocess.run(["pgrep", "-f", f"containerd-shim.*-id {cid}"], capture_output=True,
                         text=True, timeout=10).stdout.split()
    if not out:
        pytest.fail(f"no containerd shim process found for container {cid[:12]} (pgrep -f)")
    return int(out[0])


def _inspect_blocks(cid: str) -> bool:
    import docker

    quick = docker.APIClient(base_url=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
                             timeout=1.5)
    try:
        quick.inspect_container(cid)
        return False
    except Exception as exc:  # noqa: BLE001 - requests' ReadTimeout
        return "timed out" in str(exc).lower() or "timeout" in type(exc).__name__.lower()
    finally:
        quick.close()


@pytest.fixture(scope="module")
def stalled_project(docker_client, test_image):
    """Four running services; `cache` has a health check and, once healthy, a stopped shim.
    Shared by the tests of this module (setting it up takes seconds)."""
    from tests.helpers.machine import down_project

    project_name = f"tbxtest-{secrets.token_hex(4)}"
    try:
        yield from _stalled(docker_client, test_image, project_name)
    finally:
        down_project(project_name)


def _stalled(docker_client, test_image, project_name):
    ids = {}
    for svc in SERVICES:
        kw = {}
        if svc == STALLED:
            # a long probe timeout: the hung exec keeps the lock (a short one lets inspects
            # slip in between probes, as on a merely slow host)
            kw["healthcheck"] = {"test": ["CMD", "true"], "interval": NS, "timeout": 600 * NS,
                                 "retries": 3, "start_period": 0}
        c = docker_client.containers.run(
            test_image, ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"], detach=True,
            labels={"com.docker.compose.project": project_name,
                    "com.docker.compose.service": svc, "com.docker.compose.oneoff": "False"}, **kw)
        ids[svc] = c.id
    end = time.time() + 30
    while docker_client.api.inspect_container(ids[STALLED])["State"]["Health"]["Status"] != "healthy":
        assert time.time() < end, "the health-checked container never became healthy"
        time.sleep(0.3)
    shim = _shim_pid(ids[STALLED])
    os.kill(shim, signal.SIGSTOP)
    try:
        end = time.time() + 20
        while not _inspect_blocks(ids[STALLED]):
            assert time.time() < end, "inspect of the container never blocked with its shim stopped"
            time.sleep(0.5)
        yield project_name, ids
    finally:
        os.kill(shim, signal.SIGCONT)  # before the clean-up: removing it needs the shim


@pytest.mark.engine
def test_watcher_shows_every_service_when_one_cannot_be_inspected(stalled_project, docker_client,
                                                                  record) -> None:
    project, ids = stalled_project
    record.case(CLASS, "StackWatcher: a row per service from the list; details for the others")
    states = {}
    w = StackWatcher(docker_client, project, on_state=lambda s: states.__setitem__(s.service, s))
    t0 = time.monotonic()
    w.start()
    try:
        end = time.monotonic() + 10
        while time.monotonic() < end and not (
                len(states) == len(SERVICES)
                and all(states[s].details for s in SERVICES if s != STALLED)):
            time.sleep(0.05)
        took = time.monotonic() - t0
        assert sorted(states) == sorted(SERVICES), (sorted(states), took)
        assert all(states[s].state == "running" for s in SERVICES), states
        assert all(states[s].details for s in SERVICES if s != STALLED), states
        stalled = states[STALLED]
        assert not stalled.details and stalled.container_id == ids[STALLED]
        assert stalled.health == "healthy"  # from the list's "Up … (healthy)"
    finally:
        w.stop()
    record.note(f"4 rows in {took:.1f} s with `{STALLED}` uninspectable (shown from the list)")


@pytest.mark.engine
async def test_dashboard_rows_and_json_when_one_cannot_be_inspected(stalled_project, tmp_path,
                                                                    record) -> None:
    from tests.helpers.dashboard import cell
    from tests.helpers.waiting import pilot_until

    from .test_hostile_engine_data import _static_text

    project, ids = stalled_project
    record.case(CLASS, "dashboard (Pilot) rows and `dashboard --json` with one container stalled")
    app = DashboardApp(project, LiveStack(project))
    t0 = time.monotonic()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.dashboard.query_one("#services", DataTable)
        ok = await pilot_until(pilot, lambda: table.row_count == len(SERVICES), 10)
        took = time.monotonic() - t0
        assert ok, (table.row_count, list(app.dashboard.states))
        running = sum(s.state == "running" for s in app.dashboard.states.values())
        assert running == len(SERVICES), app.dashboard.states
        n = table.row_count
        # the stalled row says why its details are missing; a healthy one has its uptime
        assert cell(app.dashboard, STALLED, "uptime") == "…"
        assert await pilot_until(pilot, lambda: cell(app.dashboard, "web", "uptime") == "<1m", 10)
        table.move_cursor(row=table.get_row_index(STALLED))
        await pilot.press("2")
        await pilot.pause(0.3)
        health = _static_text(app.dashboard.query_one("#health-view", Static))
        assert "details pending" in health and "docker inspect" in health, health

    t0 = time.monotonic()
    out, err, code = run_exe(["dashboard", "--json", "-p", project], tmp_path, timeout=60)
    json_took = time.monotonic() - t0
    assert not problems(out, err, code), problems(out, err, code)
    doc = json.loads(out)
    by = {s["service"]: s for s in doc["services"]}
    assert sorted(by) == sorted(SERVICES), sorted(by)
    assert by[STALLED]["details"] is False and by[STALLED]["state"] == "running"
    assert all(by[s]["details"] for s in SERVICES if s != STALLED), by
    assert STALLED in err and "docker inspect" in err, err  # names it and what to look at
    assert code == 0, (code, err)  # all running, the stalled one healthy by the list
    assert json_took < 30, json_took
    record.note(f"Pilot: {n} rows in {took:.1f} s; --json: exit {code} in {json_took:.1f} s, "
                f"`{STALLED}` details=false, stderr names it")


@pytest.mark.engine
def test_up_and_verify_end_when_one_cannot_be_inspected(tmp_path, docker_client, test_image,
                                                        compose_ready, project_name,
                                                        cleanup_project, record) -> None:
    """`toolbox-tui up` waited forever (`--timeout` did not bound it) and `verify` hung: both
    inspected every container without a bound. Now the list stands in after 5 s."""
    import yaml

    loop = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump({"services": {
        STALLED: {"image": test_image, "command": loop,
                  "healthcheck": {"test": ["CMD", "true"], "interval": "1s", "timeout": "600s",
                                  "retries": 3}},
        "web": {"image": test_image, "command": loop}}}))
    cleanup_project(project_name, files=[tmp_path / "compose.yaml"], project_dir=tmp_path)
    record.case(CLASS, "`up --timeout 20` and `verify` with one container stalled")
    out, err, code = run_exe(["-p", project_name, "up", "--timeout", "30"], tmp_path, timeout=90)
    assert code == 0, (out[-800:], err[-800:])
    cid = next(c.id for c in docker_client.containers.list(
        filters={"label": [f"com.docker.compose.project={project_name}",
                           f"com.docker.compose.service={STALLED}"]}))
    shim = _shim_pid(cid)
    os.kill(shim, signal.SIGSTOP)
    try:
        end = time.time() + 20
        while not _inspect_blocks(cid):
            assert time.time() < end, "inspect of the container never blocked with its shim stopped"
            time.sleep(0.5)
        took = {}
        for cmd in (["up", "--timeout", "20"], ["verify"]):
            t0 = time.monotonic()
            out, err, code = run_exe(["-p", project_name, *cmd], tmp_path, timeout=60)
            took[cmd[0]] = time.monotonic() - t0
            assert not problems(out, err, code), problems(out, err, code)
            assert code == 0, (cmd, out[-800:], err[-800:])
            assert STALLED in out and "healthy" in out, out[-800:]  # from the list: "(healthy)"
            assert took[cmd[0]] < 25, took
    finally:
        os.kill(shim, signal.SIGCONT)
    record.note(f"up: exit 0 in {took['up']:.1f} s, verify: exit 0 in {took['verify']:.1f} s "
                f"(before: up waited past its --timeout until killed)")
