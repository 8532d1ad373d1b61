"""The private engines of a killed test run are removed by the next run; a running run's are kept.

A private engine (tests/helpers/private_engine.py) is a dockerd, its containerd and a network
namespace. A run killed half-way never reaches the fixture's `close`, and its engine went on using
the machine under the next runs. These tests stand in a process in a real namespace for the
daemon (a dockerd takes seconds to start and nothing here depends on what runs inside).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.private_engine import OWNER, _alive, _owner, sweep_stale
from tests.helpers.waiting import wait_until


def _fake_engine(owner: str) -> tuple[Path, str, subprocess.Popen]:
    """A folder, a namespace and a process in it, as a private engine leaves them."""
    if os.geteuid() != 0:
        pytest.fail("needs root (network namespaces), as CI runs the tests")
    tag = secrets.token_hex(3)
    base, netns = Path(f"/tmp/tbx-eng-{tag}"), f"tbx-eng-{tag}"
    base.mkdir(mode=0o700)
    (base / OWNER).write_text(owner)
    subprocess.run(["ip", "netns", "add", netns], check=True, capture_output=True)
    proc = subprocess.Popen(["ip", "netns", "exec", netns, "sleep", "300"], start_new_session=True)
    assert wait_until(lambda: subprocess.run(["ip", "netns", "pids", netns], capture_output=True,
                                             text=True).stdout.strip() != "", 10, 0.05)
    return base, netns, proc


def _netns_exists(netns: str) -> bool:
    return netns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_a_killed_runs_engine_is_removed_and_a_running_runs_is_kept() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    gone, gone_ns, gone_proc = _fake_engine(f"{dead.pid} 1")
    live, live_ns, live_proc = _fake_engine(_owner(os.getpid()))
    try:
        removed = sweep_stale()
        assert str(gone) in removed and not gone.exists() and not _netns_exists(gone_ns)
        gone_proc.wait(timeout=10)  # killed with its namespace
        assert str(live) not in removed and live.exists() and _netns_exists(live_ns)
        assert _alive(live_proc.pid)
    finally:
        for p in (gone_proc, live_proc):
            p.kill()
            p.wait()
        for ns in (gone_ns, live_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["rm", "-rf", str(gone), str(live)])


def test_a_folder_without_owner_is_left_while_it_may_be_being_made() -> None:
    tag = secrets.token_hex(3)
    base = Path(f"/tmp/tbx-eng-{tag}")
    base.mkdir(mode=0o700)
    try:
        assert str(base) not in sweep_stale() and base.exists()
        old = time.time() - 600
        os.utime(base, (old, old))
        assert str(base) in sweep_stale() and not base.exists()
    finally:
        subprocess.run(["rm", "-rf", str(base)])
