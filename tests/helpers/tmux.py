"""A real terminal for the tests that drive the installed command: one tmux server per test on a
private socket (tests run side by side and never meet each other's sessions), one session."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest


class Tmux:
    """One tmux server on its own socket, with one session (`start`) whose pane runs a command."""

    def __init__(self, name: str = "tbx") -> None:
        if not shutil.which("tmux"):
            pytest.fail("tmux is not installed (it is part of this machine image)")
        self.socket = f"{name}-{secrets.token_hex(4)}"
        """The private socket (`tmux -L`)."""
        self.target = "t"
        """The session."""

    def run(self, *args: str, check: bool = False) -> str:
        """`tmux -L SOCKET ARGS...`; its stdout."""
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              timeout=30, check=check).stdout

    def start(self, command: str, *, cwd: Path | str | None = None, width: int = 120,
              height: int = 40) -> None:
        """A detached session of `width` x `height` running `command` (a shell command line),
        on a server with no config of the user's."""
        self.run("-f", "/dev/null", "new-session", "-d", "-s", self.target, "-x", str(width),
                 "-y", str(height), *(["-c", str(cwd)] if cwd else []), command, check=True)

    def capture(self, *, escapes: bool = False, history: bool = False) -> str:
        """The pane's text (`escapes`: with the SGR sequences tmux re-emits; `history`: with the
        last 200 scrolled-off lines)."""
        return self.run("capture-pane", "-p", *(["-e"] if escapes else []),
                        *(["-S", "-200"] if history else []), "-t", self.target)

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", self.target, *(["-l"] if literal else []), *keys)

    def wait(self, text: str, timeout: float = 60, *, until: str | None = None) -> str:
        """The pane once it shows `text`; AssertionError with the pane when it does not within
        `timeout` seconds (or as soon as it shows `until`, when given)."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.capture()
            if text in screen:
                return screen
            if until is not None and until in screen:
                break
            time.sleep(0.1)
        shown = " / ".join(ln.rstrip() for ln in screen.splitlines() if ln.strip())
        raise AssertionError(f"{text!r} did not appear within {timeout:.0f} s; the pane shows: {shown}")

    def pane_pid(self) -> int:
        """The pid of the process the pane runs."""
        return int(self.run("display-message", "-p", "-t", self.target, "#{pane_pid}").strip())

    def alive(self) -> bool:
        """Whether the session still exists (its command has not ended)."""
        return subprocess.run(["tmux", "-L", self.socket, "has-session", "-t", self.target],
                              capture_output=True, timeout=30).returncode == 0

    def kill(self) -> None:
        """Stop the server (closing the pane's terminal) and remove its socket file."""
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)
        # this tmux leaves the socket file behind after kill-server
        Path(os.environ.get("TMUX_TMPDIR") or "/tmp", f"tmux-{os.getuid()}", self.socket).unlink(
            missing_ok=True)


def installed_command() -> str:
    """The installed `toolbox-tui` console script beside this interpreter (what a user runs)."""
    exe = Path(sys.executable).parent / "toolbox-tui"
    if not exe.exists():
        pytest.fail(f"the installed console script is missing: {exe} (pip install -e .)")
    return str(exe)
