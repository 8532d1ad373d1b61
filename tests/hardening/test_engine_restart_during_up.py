"""dockerd stopped (SIGTERM) and started again while `toolbox-tui up` runs and the dashboard watches.

The real thing: the installed `toolbox-tui up` as a subprocess, the installed `toolbox-tui
dashboard` in tmux, and a real dockerd: this worker's private one (`DOCKER_HOST`, see
`tests/helpers/private_engine.py`), so the outage touches no other test. What must hold:

* `up` ends promptly on its own (no hang on an event stream that never ends), exit 3, no traceback,
  says the engine went away and to re-run `toolbox-tui up`, and names the secret files it wrote
  (kept for the re-run; `down` removes them); a second `up` once the engine is back exits 0;
* the dashboard shows the engine lost, then `engine ok` and its rows again, without a restart;
* the dashboard's memory stays bounded across the outage and two 20k-line log bursts.

The private dockerd is always started again in a `finally`.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from .invariants import EXE, problems, run_exe

from tests.helpers.waiting import wait_until
from tests.helpers.secrets import purge_keyring
from toolbox_tui.state_dir import state_dir_for

KLASS = "dockerd killed during `up` (real engine)"

# `slow` takes 25 s to become healthy the first time it starts, at once afterwards (its marker
# survives in the container's own filesystem), so the re-run after the outage is quick. `talker`
# prints a numbered 20k-line burst every time it starts.
COMPOSE = """\
services:
  web:
    image: {image}
    init: true
    stop_grace_period: 2s
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: ["127.0.0.1::8080"]
    secrets: [db_password]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 2s
      retries: 30
  slow:
    image: {image}
    init: true
    stop_grace_period: 2s
    command: ["sh", "-c", "if [ -f /tmp/started ]; then touch /tmp/ok; else touch /tmp/started; sleep 25; touch /tmp/ok; fi; exec sleep 3600"]
    healthcheck:
      test: ["CMD", "sh", "-c", "test -f /tmp/ok"]
      interval: 1s
      timeout: 1s
      retries: 90
{extra}
secrets:
  db_password:
    external: true
"""

TALKER = """\
  talker:
    image: {image}
    init: true
    stop_grace_period: 2s
    command: ["sh", "-c", "n=$$(cat /tmp/runs 2>/dev/null || echo 0); n=$$((n+1)); echo $$n > /tmp/runs; awk -v n=$$n 'BEGIN {{ for (i = 0; i < 20000; i++) print \\"burst \\" n \\" line \\" i }}'; echo burst $$n done; exec sleep 3600"]
"""

LATE = """\
  late:
    image: {image}
    init: true
    stop_grace_period: 2s
    command: ["sleep", "3600"]
    depends_on:
      slow: {{condition: service_healthy}}
"""

MANIFEST = """\
project_name: {name}
secrets:
  db_password: {{kind: password}}
"""


def _project(root: Path, name: str, image: str, extra: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "compose.yml").write_text(COMPOSE.format(image=image, extra=extra.format(image=image)))
    (root / ".toolbox-tui.yml").write_text(MANIFEST.format(name=name))
    out, err, code = run_exe(["secrets", "generate"], root)
    assert code == 0, (out, err)
    return root


class _Up:
    """`toolbox-tui up` as a subprocess; its stdout is read as it comes."""

    def __init__(self, root: Path, *args: str) -> None:
        # faulthandler: on a hang `finish()` sends SIGABRT, and the stacks say where it hung
        env = dict(os.environ, NO_COLOR="1", PYTHONFAULTHANDLER="1")
        env.pop("TOOLBOX_TUI_DEBUG", None)
        self.proc = subprocess.Popen([EXE, "up", *args], cwd=root, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out: list[str] = []
        self.err = b""
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()
        self._e = threading.Thread(target=self._read_err, daemon=True)
        self._e.start()

    def _read(self) -> None:
        for raw in iter(self.proc.stdout.readline, b""):
            self.out.append(raw.decode("utf-8", "replace"))

    def _read_err(self) -> None:
        self.err = self.proc.stderr.read()

    def saw(self, text: str) -> bool:
        return any(text in ln for ln in self.out)

    def finish(self, timeout: float) -> tuple[str, str, int | None]:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            code = None
        self._t.join(5)
        self._e.join(5)
        return "".join(self.out), self.err.decode("utf-8", "replace"), code


class _Dashboard:
    """The installed `toolbox-tui dashboard` in a tmux session, in the project directory."""

    def __init__(self, root: Path, session: str) -> None:
        self.tmux = shutil.which("tmux")
        if not self.tmux:
            pytest.fail("tmux is missing (the machine image has it)")
        self.session = session
        # the tmux server may be older than this test: the engine is named in the command itself
        engine = f"DOCKER_HOST={shlex.quote(os.environ['DOCKER_HOST'])} " if "DOCKER_HOST" in os.environ else ""
        cmd = (f"cd {root} && exec env -u COLUMNS -u LINES TERM=xterm-256color NO_COLOR=1 {engine}"
               f"{EXE} dashboard")
        subprocess.run([self.tmux, "new-session", "-d", "-s", session, "-x", "160", "-y", "45", cmd],
                       check=True)
        self.pid = int(subprocess.run([self.tmux, "display-message", "-p", "-t", session, "#{pane_pid}"],
                                      capture_output=True, text=True, check=True).stdout.strip())

    def screen(self) -> str:
        return subprocess.run([self.tmux, "capture-pane", "-p", "-t", self.session],
                              capture_output=True, text=True).stdout

    def shows(self, *texts: str, timeout: float = 30) -> bool:
        return wait_until(lambda: all(t in self.screen() for t in texts), timeout, 0.5)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError(f"no VmRSS for pid {self.pid}: the dashboard is gone")

    def close(self) -> None:
        subprocess.run([self.tmux, "kill-session", "-t", self.session], capture_output=True)


def _secret_files(root: Path) -> list[Path]:
    import json

    journal = state_dir_for(root) / "secrets.json"
    if not journal.exists():
        return []
    return [Path(p) for p in (json.loads(journal.read_text()).get("files") or {}).values()]


def _check_up_after_loss(out: str, err: str, code: int | None, root: Path, phase: str) -> None:
    bad = problems(out, err, code, exits={1, 3})
    assert not bad, (bad, out[-800:], err[-800:])
    assert code == 3, (code, out[-800:], err[-800:])
    assert f"the Docker engine went away while {phase}" in err, err[-800:]
    assert "re-run `toolbox-tui up`" in err, err[-800:]
    # the secret files it wrote are either gone or named (kept for the re-run; `down` removes them)
    kept = [p for p in _secret_files(root) if p.exists()]
    if kept:
        assert f"{len(kept)} secret file(s) written for Compose stay in {kept[0].parent}" in err, err
        assert "`toolbox-tui down` removes them" in err, err


@pytest.mark.slow
@pytest.mark.engine
@pytest.mark.keyring
@pytest.mark.xdist_group("private-engine")  # stops a private dockerd: beside the other tests
def test_dockerd_killed_while_waiting_for_health(on_private_engine, tmp_path, test_image, compose_ready,
                                                keyring_backend, project_name, cleanup_project,
                                                record):
    record.case(KLASS, "while waiting for health")
    root = _project(tmp_path / "proj", project_name, test_image, TALKER)
    cleanup_project(project_name, files=[root / "compose.yml"], project_dir=root)
    engine = on_private_engine
    dash = _Dashboard(root, f"tbx-{project_name}")
    mem: dict[str, float] = {}
    try:
        assert dash.shows("engine ok", "slow", "talker"), dash.screen()
        up = _Up(root, "--timeout", "90")
        assert wait_until(lambda: up.saw("waiting for health") or up.proc.poll() is not None,
                          60, 0.3), up.out
        assert up.proc.poll() is None, up.finish(5)
        # the first burst has reached the dashboard; `slow` is still 20 s from healthy
        assert dash.shows("burst 1 done", timeout=20), dash.screen()
        time.sleep(1)
        mem["before"] = dash.rss_mb()
        t_kill = time.monotonic()
        try:
            engine.stop()
            out, err, code = up.finish(45)
            up_seconds = time.monotonic() - t_kill
            lost_shown = dash.shows("engine lost", timeout=15)
            lost_screen = dash.screen()
        finally:
            engine.ensure()
        outage = time.monotonic() - t_kill
        assert code is not None, f"`up` still running 45 s after dockerd stopped: {out[-300:]} {err[-3000:]}"
        _check_up_after_loss(out, err, code, root, "waiting for health")
        not_ready = [ln for ln in err.splitlines() if "not ready when it went:" in ln]
        assert not_ready and "slow (" in not_ready[0], err
        record.note(f"`up` exit {code} {up_seconds:.1f} s after SIGTERM: "
                    f"{err.strip().splitlines()[0][:150]!r}; outage {outage:.1f} s")

        assert lost_shown, lost_screen
        assert dash.shows("engine ok", timeout=30), dash.screen()
        out2, err2, code2 = run_exe(["up", "--timeout", "60"], root, timeout=150)
        assert not problems(out2, err2, code2), (out2[-600:], err2[-600:])
        assert code2 == 0, (out2[-1000:], err2[-1000:])
        assert dash.shows("3/3 running", "2 healthy", "burst 2 done",
                          timeout=40), dash.screen()
        time.sleep(2)
        mem["after"] = dash.rss_mb()
    finally:
        dash.close()
        purge_keyring(project_name)

    record.case(KLASS, "memory across an engine restart")
    growth = mem["after"] - mem["before"]
    record.note(f"dashboard RSS {mem['before']:.1f} MB before the outage (after a 20k-line burst), "
                f"{mem['after']:.1f} MB after recovery + a second 20k-line burst: {growth:+.1f} MB")
    assert growth < 30, mem


@pytest.mark.slow
@pytest.mark.engine
@pytest.mark.keyring
@pytest.mark.xdist_group("private-engine")  # stops a private dockerd: beside the other tests
def test_dockerd_killed_while_creating(on_private_engine, tmp_path, test_image, compose_ready,
                                       keyring_backend, project_name, cleanup_project, record):
    record.case(KLASS, "while creating")
    root = _project(tmp_path / "proj", project_name, test_image, LATE)
    cleanup_project(project_name, files=[root / "compose.yml"], project_dir=root)
    engine = on_private_engine
    up = _Up(root, "--timeout", "90")
    try:
        # Compose is still at work: `late` waits for `slow` to be healthy before it starts
        assert wait_until(lambda: up.saw("Waiting") or up.proc.poll() is not None, 60, 0.3), up.out
        assert up.proc.poll() is None and not up.saw("waiting for health"), up.finish(5)
        t_kill = time.monotonic()
        try:
            engine.stop()
            out, err, code = up.finish(45)
            up_seconds = time.monotonic() - t_kill
        finally:
            engine.ensure()
        outage = time.monotonic() - t_kill
    finally:
        if up.proc.poll() is None:
            up.proc.kill()
    try:
        assert code is not None, f"`up` still running 45 s after dockerd stopped: {out[-300:]} {err[-3000:]}"
        _check_up_after_loss(out, err, code, root, "starting the containers")
        record.note(f"`up` exit {code} {up_seconds:.1f} s after SIGTERM: "
                    f"{err.strip().splitlines()[0][:150]!r}; outage {outage:.1f} s")
        out2, err2, code2 = run_exe(["up", "--timeout", "60"], root, timeout=150)
        assert not problems(out2, err2, code2), (out2[-600:], err2[-600:])
        assert code2 == 0, (out2[-1000:], err2[-1000:])
    finally:
        purge_keyring(project_name)



def test_engine_lost_report_json(tmp_path, capsys, record):
    """The --json form of the report the cases above check in text (no engine needed: the report
    never talks to it)."""
    import argparse
    import json

    from toolbox_tui.cli.up import _engine_lost, _Printer
    from toolbox_tui.engine.containers import ServiceState
    from toolbox_tui.lifecycle.startup import ProjectRef
    from toolbox_tui.lifecycle.up import EngineLost, UpOutcome

    record.case(KLASS, "engine-lost report as --json")
    args = argparse.Namespace(json=True)
    stack = ProjectRef(name="tbxtest-json", args=["--project-directory", str(tmp_path)], services={})
    states = {"slow": ServiceState("slow", state="running", health="starting", has_healthcheck=True,
                                   reason="health: starting")}
    outcome = UpOutcome(stack, None, states=states,
                        engine_lost=EngineLost("waiting for health", "the engine closed its event stream"))
    code = _engine_lost(args, stack, {"version": 1, "command": "up"}, _Printer(args), outcome)
    doc = json.loads(capsys.readouterr().out)
    assert code == 3 and doc["ok"] is False
    lost = doc["engine_lost"]
    assert lost["phase"] == "waiting for health" and "re-run `toolbox-tui up`" in lost["hint"]
    assert lost["secret_files_kept"] == [] and doc["services"][0]["service"] == "slow"
    record.note("exit 3; engine_lost.phase/reason/hint/secret_files_kept in the document")
