"""Stopping and starting the local dockerd for the daemon-restart tests, the way `.ci/provision.sh`
starts it. Shared by `test_daemon_restart.py` and `hardening/test_engine_restart_during_up.py`.

Other engineers share this engine: keep each outage short and always start dockerd again in a
`finally` (`ensure_dockerd()`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

DOCKERD_LOG = "/tmp/toolbox-tui-dockerd-restart.log"
"""Where the restarted daemon writes its log."""


def docker_info_ok() -> bool:
    """`docker info` answers."""
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def poll(pred, timeout: float, interval: float = 0.3) -> bool:
    """Call `pred` until it is true or `timeout` seconds pass; its last answer."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def dockerd_pids() -> list[int]:
    out = subprocess.run(["pidof", "dockerd"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def the_dockerd() -> int:
    """The pid of the one local dockerd; AssertionError when there is not exactly one."""
    pids = dockerd_pids()
    assert len(pids) == 1, f"expected one local dockerd, found pids {pids} (DOCKER_HOST remote?)"
    return pids[0]


_ENGINE_ENV: dict[str, str] | None = None
"""The environment the stopped dockerd ran with, for starting it again the same way."""


def _environ_of(pid: int) -> dict[str, str] | None:
    try:
        raw = open(f"/proc/{pid}/environ", "rb").read()
    except OSError:
        return None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def engine_env() -> dict[str, str]:
    """The environment for a restarted dockerd: the one the stopped daemon had (else ours),
    without the test run's private per-worker dirs and session bus. A dockerd started with a
    test's XDG_RUNTIME_DIR keeps runc's exec state there: once pytest deletes that directory every `docker exec` and exec
    healthcheck fails ("OCI runtime exec failed: open …/runc-process…: no such file")."""
    base = _ENGINE_ENV if _ENGINE_ENV is not None else dict(os.environ)
    return {k: v for k, v in base.items()
            if not k.startswith(("XDG_", "DBUS_", "TBX_", "PYTEST_")) and k != "TMPDIR"}


def stop_dockerd(pid: int, timeout: float = 30) -> None:
    """SIGTERM dockerd and wait until it has exited."""
    global _ENGINE_ENV
    _ENGINE_ENV = _environ_of(pid) or _ENGINE_ENV
    os.kill(pid, signal.SIGTERM)
    assert poll(lambda: not docker_info_ok(), timeout), "docker info still answers after SIGTERM"
    assert poll(lambda: not dockerd_pids(), timeout), "dockerd did not exit"


def start_dockerd() -> None:
    """Exactly as `.ci/provision.sh`: `setsid dockerd >LOG 2>&1 < /dev/null &`."""
    subprocess.run(["bash", "-c", f"setsid dockerd >{DOCKERD_LOG} 2>&1 < /dev/null &"], check=True,
                   env=engine_env(), cwd="/")
    assert poll(docker_info_ok, 30), f"dockerd did not come back; see {DOCKERD_LOG}"


def ensure_dockerd() -> None:
    """For a `finally`: make sure the engine answers again (start dockerd if it is gone)."""
    if docker_info_ok():
        return
    if not dockerd_pids():
        start_dockerd()
    elif not poll(docker_info_ok, 30) and not dockerd_pids():
        start_dockerd()
