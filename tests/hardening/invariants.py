"""What must hold after any bad input or fault: checked the same way by every hardening test."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

EXE = str(Path(sys.executable).with_name("toolbox-tui"))
"""The installed command (the venv's console script)."""

ALLOWED_EXITS = {0, 1, 2, 3}
"""Documented exit codes for a run that was not interrupted."""

_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Control characters that must never reach the user's terminal (newline and tab are fine)."""


def problems(out: str, err: str, code: int | None, *, secret: str | None = None,
             exits: set[int] = ALLOWED_EXITS) -> list[str]:
    """Every violated invariant, as short sentences (empty when all hold)."""
    found = []
    if code not in exits:
        found.append(f"exit code {code} not in {sorted(exits)}")
    for label, text in (("stdout", out), ("stderr", err)):
        if "Traceback (most recent call last)" in text:
            found.append(f"traceback on {label}: {text.strip().splitlines()[-1][:160]!r}")
        m = _RAW_CONTROL.search(text)
        if m:
            found.append(f"raw control character {m.group()!r} on {label} near "
                         f"{text[max(0, m.start() - 30): m.end() + 30]!r}")
        if secret and len(secret) >= 4 and secret in text:
            found.append(f"the secret value appears on {label}")
    return found


def run_exe(args: list[str], cwd: Path, *, stdin: bytes | None = None,
            env: dict[str, str] | None = None, timeout: float = 120) -> tuple[str, str, int]:
    """Run the installed `toolbox-tui` and return (stdout, stderr, exit code)."""
    run_env = dict(os.environ if env is None else env)
    run_env.pop("TOOLBOX_TUI_DEBUG", None)
    run_env["NO_COLOR"] = "1"
    proc = subprocess.run([EXE, *args], cwd=cwd, input=stdin if stdin is not None else b"",
                          capture_output=True, env=run_env, timeout=timeout)
    return (proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"),
            proc.returncode)


def tree_digest(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every regular file under `root` (relative path -> digest), to prove no edits."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for name in filenames:
            p = Path(dirpath, name)
            if p.is_file() and not p.is_symlink():
                out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def catches(pid: int, signum: int) -> bool:
    """Whether process `pid` has a handler for `signum` (its SigCgt mask in /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    except (OSError, ValueError):
        pass
    return False


def started_main(proc: "subprocess.Popen", timeout: float = 60) -> bool:
    """Wait until the installed command has routed SIGTERM (the first thing its entry point does,
    before it loads the commands); False when it ended or did not get there within `timeout` seconds. On a
    loaded machine the interpreter's own start-up can take longer than a signal's planned delay,
    and a signal that lands before `main` is not the case under test."""
    import signal as _signal

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if catches(proc.pid, _signal.SIGTERM):
            return True
        time.sleep(0.01)
    return False
