"""Run the CLI with a real controlling terminal (a pty), answering its /dev/tty prompts.

The child gets its own session with the pty's slave as controlling terminal, so `open("/dev/tty")`
in it is that pty; stdin, stdout and stderr are separate (stdin may carry a secret value while
the passphrase is typed on the terminal). What the terminal showed is returned too: with echo
off, a typed passphrase never appears there.
"""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class TtyRun:
    returncode: int
    stdout: str
    stderr: str
    terminal: str
    """Everything the child wrote to (and the pty echoed on) its terminal."""


def run_on_tty(args: list[str], cwd: Path, answers: list[tuple[str, str]], *, env: dict[str, str],
               stdin: str | None = None, timeout: float = 120, delay: float = 0.05) -> TtyRun:
    """`python -m toolbox_tui ARGS` on a pty; each `(prompt, answer)` is typed `delay` seconds
    after `prompt` has appeared on the terminal (after the previous answer); 0 types it at once,
    as a paste or a fast typist does."""
    master, slave = os.openpty()

    def own_terminal() -> None:  # in the child, after setsid: the slave becomes its terminal
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "toolbox_tui", *args], cwd=cwd, env=env,
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=out, stderr=err, pass_fds=(slave,), start_new_session=True,
                            preexec_fn=own_terminal)
    os.close(slave)
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin.encode())
        proc.stdin.close()
    seen = b""
    pending = list(answers)
    search_from = 0
    """A prompt is looked for after the previous answer (the same prompt may come twice)."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed its terminal (it exited)
                    chunk = b""
                if not chunk and proc.poll() is not None:
                    break
                seen += chunk
            if pending and pending[0][0].encode() in seen[search_from:]:
                _prompt, answer = pending.pop(0)
                search_from = len(seen)
                time.sleep(delay)
                os.write(master, answer.encode() + b"\n")
            if proc.poll() is not None and not ready:
                break
        else:
            proc.kill()
            raise AssertionError(f"timed out; the terminal showed: {seen.decode(errors='replace')}")
        proc.wait(timeout=30)
    finally:
        os.close(master)
    out.seek(0)
    err.seek(0)
    return TtyRun(proc.returncode, out.read().decode(errors="replace"),
                  err.read().decode(errors="replace"), seen.decode(errors="replace"))


def headless_env(data_home: Path, **extra: str) -> dict[str, str]:
    """The environment of an SSH session on a server: no D-Bus session (so no Secret Service),
    the store in `data_home`."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DBUS_SESSION_BUS_ADDRESS", "TOOLBOX_TUI_STORE", "TOOLBOX_TUI_DEBUG")}
    env.update(XDG_DATA_HOME=str(data_home), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    env.update(extra)
    return env
