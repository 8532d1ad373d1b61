"""The installed wizard in a real terminal (tmux) resized again and again, down to 40x12: it keeps
running and keeps painting a screen. Slow-marked; its own tmux server on a private socket."""

from __future__ import annotations

import secrets as pysecrets
import shutil
import subprocess
import time

import pytest

from .invariants import EXE

SIZES = [(120, 40), (80, 24), (40, 12), (200, 60), (41, 13), (60, 15), (40, 12), (100, 30), (40, 12),
         (132, 43)]


def _tmux(socket: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=30)


@pytest.mark.slow
def test_wizard_survives_repeated_resizes(example_copy, test_image, record):
    if not shutil.which("tmux"):
        pytest.fail("tmux is not installed")
    socket = f"tbxtest-{pysecrets.token_hex(4)}"
    command = (f"env -u COLUMNS -u LINES TERM=xterm-256color TBX_IMAGE={test_image} "
               f"PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring {EXE}; "
               f"echo WIZARD-EXIT=$?; sleep 600")
    try:
        _tmux(socket, "new-session", "-d", "-s", "w", "-x", "120", "-y", "40", "-c", str(example_copy),
              command)
        deadline = time.monotonic() + 30
        while "Detected project" not in _tmux(socket, "capture-pane", "-p", "-t", "w").stdout:
            assert time.monotonic() < deadline, "the wizard did not paint its first screen"
            time.sleep(0.3)
        for rnd in range(3):
            for w, h in SIZES:
                record.case("terminal resized (tmux, installed wizard)", f"round {rnd + 1}: {w}x{h}")
                _tmux(socket, "resize-window", "-t", "w", "-x", str(w), "-y", str(h))
                time.sleep(0.25)
                screen = _tmux(socket, "capture-pane", "-p", "-t", "w").stdout
                assert "WIZARD-EXIT" not in screen and "Traceback" not in screen, screen
                assert screen.strip(), f"blank screen at {w}x{h}"
                record.note(f"alive, {sum(1 for ln in screen.splitlines() if ln.strip())} non-blank rows")
        time.sleep(1)
        screen = _tmux(socket, "capture-pane", "-p", "-t", "w").stdout
        assert "WIZARD-EXIT" not in screen and screen.strip()
    finally:
        _tmux(socket, "kill-server")
