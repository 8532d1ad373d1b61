"""Running the project's own set-up step (`checks.setup_steps`): only after a yes, only inside
the repository, its output streamed line by line, sanitized.

A script step is the repository's code: it runs as the user, in the directory the docs run it
in, never through a shell (the argv the docs show, checked to hold no shell syntax), with the
user's environment and no terminal input unless the caller passes one. Just before it runs, the
script and the directory are resolved again: one that leads outside the repository now (a link
swapped in since it was found) is refused. A copy or a heredoc is done here, not by a shell: it
never overwrites a file that is there, and the file is written atomically.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, Callable

from toolbox_tui.atomic_files import atomic_write
from toolbox_tui.checks.setup_commands import COPY, REFUSED, RUNNERS, SCRIPT, WRITE, SetupStep
from toolbox_tui.checks.setup_steps import empty_value_fillers, find_setup_steps, needed_files
from toolbox_tui.errors import EXIT_FAIL, EXIT_INTERRUPTED, ToolboxError
from toolbox_tui.safe_read import CONFIG, ReadRefused, read_bytes, read_head, resolves_outside
from toolbox_tui.sanitize import sanitize_line, truncate

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack


def project_setup_steps(stack: Stack) -> list[SetupStep]:
    """The set-up steps of a loaded project: what its docs name before the first `up`, and a
    root or compose-directory script that writes the env file Compose needs and lacks."""
    from toolbox_tui.checks.env import env_checks

    try:
        fillers = empty_value_fillers(env_checks(stack), stack.root_dir())
    except Exception:  # noqa: BLE001 - the doctor reports what the env checks cannot read
        fillers = []
    return find_setup_steps(stack.root_dir(), stack.project_dir, stack.files,
                            needed_files(stack.project_dir, stack.env_files), fillers)


class SetupRefused(ToolboxError):
    """A set-up step toolbox-tui will not run (no yes, outside the repository, not runnable)."""

    exit_code = EXIT_FAIL


def _where(step: SetupStep, root: Path) -> str:
    return f"{os.path.relpath(step.doc, root)}:{step.line}"


def check_runnable(step: SetupStep, root: Path) -> None:
    """Raise SetupRefused when `step` must not run: refused by kind, or its script or directory
    resolves outside `root` (checked now, links followed)."""
    where = _where(step, root)
    if step.kind == REFUSED:
        raise SetupRefused(f"{where}: `{step.command}` is not run by toolbox-tui: {step.reason}",
                           "Read it, and run it yourself if you trust it.")
    for p in [step.cwd] + [x for x in (step.script, step.source, step.target) if x]:
        probe = p if os.path.lexists(p) else os.path.dirname(p)
        if resolves_outside(probe, root):
            raise SetupRefused(
                f"{where}: `{step.command}` leads outside the repository "
                f"({os.path.relpath(p, root)} resolves to {os.path.realpath(p)}); it was not run",
                "toolbox-tui only runs the repository's own files. Look at the link.")
    if step.kind == SCRIPT:
        prog = Path(step.cwd) / step.argv[1 if step.argv[0] in RUNNERS else 0]
        if os.path.realpath(prog) != os.path.realpath(step.script or ""):
            raise SetupRefused(f"{where}: {step.argv} no longer runs {step.script}; it was not run",
                               "Run `toolbox-tui setup` again to see what the docs name now.")


def _argv(step: SetupStep) -> list[str]:
    """A `./x.sh` that is not executable (a checkout without modes) runs with its shebang's
    shell, else sh — as `bash x.sh` would."""
    argv = list(step.argv)
    prog = Path(step.cwd) / argv[0]
    if argv[0] not in RUNNERS and not os.access(prog, os.X_OK):
        first = read_head(prog, 200).split(b"\n", 1)[0].decode("utf-8", "replace")
        shell = "bash" if "bash" in first else "sh"
        argv = [shutil.which(shell) or shell] + argv
    return argv


MAX_LINE_BYTES = 64 * 1024
"""The most of one output line kept (a script printing a 300 MB line without a newline is
shown cut, never held whole)."""
GRACE = 2.0
"""Seconds output is still read after the step has exited: a process it left in the background
that keeps the output open (`daemon &`) must not keep toolbox-tui waiting."""


def run_setup_step(step: SetupStep, root: Path, *, yes: bool,
                   on_line: Callable[[str], None], stop: threading.Event | None = None,
                   stdin: IO | int | None = subprocess.DEVNULL) -> int:
    """Run `step` in `root` after the user said yes; every output line goes to `on_line`
    (sanitized, one line at a time, each cut at `MAX_LINE_BYTES`). Returns the exit code (130
    when `stop` was set)."""
    root = root.resolve()
    if not yes:
        raise SetupRefused(f"`{step.command}` was not run: it needs your yes",
                           "Pass --yes to run it without asking (it is the repository's code: "
                           "read it first).")
    check_runnable(step, root)
    if step.kind in (COPY, WRITE):
        try:
            return _write(step, root, on_line)
        except ReadRefused as exc:
            raise SetupRefused(f"{_where(step, root)}: `{step.command}` was not done: {exc.message}",
                               exc.hint) from None
        except OSError as exc:
            raise SetupRefused(f"{_where(step, root)}: `{step.command}` was not done: "
                               f"{os.path.relpath(step.target or '', root)}: {exc.strerror}",
                               "Create the folder it writes into (or fix its permissions), then "
                               "run `toolbox-tui setup` again.") from None
    proc = subprocess.Popen(_argv(step), cwd=step.cwd, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert proc.stdout is not None
        left_behind = _pump(proc, os.dup(proc.stdout.fileno()), on_line, stop)
        code = proc.wait()
    except BaseException:
        _kill(proc)
        raise
    finally:
        if proc.stdout is not None:
            proc.stdout.close()
    if stop is not None and stop.is_set():
        return EXIT_INTERRUPTED
    if left_behind:
        on_line(f"({step.command} exited with {code}; a process it started still holds its output, "
                "which is no longer shown)")
    return code


def _pump(proc: subprocess.Popen, fd: int, on_line: Callable[[str], None],
          stop: threading.Event | None) -> bool:
    """Read the step's output from `fd` (closed here) line by line, each line bounded, until it
    ends, `stop` is set (the step is killed), or `GRACE` seconds after the step exited. True when
    the output was still open then (a background process of the step holds it)."""
    import selectors
    import time

    os.set_blocking(fd, False)
    line, dropped, exited_at = bytearray(), 0, None

    def flush() -> None:
        nonlocal dropped
        on_line(truncate(sanitize_line(bytes(line), keep_sgr=False, max_len=None),
                         extra_dropped=dropped))
        line.clear()
        dropped = 0

    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        try:
            while True:
                if stop is not None and stop.is_set():
                    _kill(proc)
                    return False
                if exited_at is None and proc.poll() is not None:
                    exited_at = time.monotonic()
                if exited_at is not None and time.monotonic() - exited_at > GRACE:
                    if line:
                        flush()
                    return True
                if not sel.select(0.2):
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    if line or dropped:
                        flush()
                    return False
                *done, rest = chunk.split(b"\n")
                for part in done:
                    room = MAX_LINE_BYTES - len(line)
                    line.extend(part[:room])
                    dropped += max(0, len(part) - room)
                    flush()
                room = MAX_LINE_BYTES - len(line)
                line.extend(rest[:room])
                dropped += max(0, len(rest) - room)
        finally:
            os.close(fd)


def _kill(proc: subprocess.Popen) -> None:
    """End the step's whole process group (a script's children too)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, PermissionError):
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _write(step: SetupStep, root: Path, on_line: Callable[[str], None]) -> int:
    target = Path(step.target or "")
    rel = os.path.relpath(target, root)
    if os.path.lexists(target):
        on_line(f"{rel} is already there; it was left as it is.")
        return 0
    if step.kind == COPY:
        src = Path(step.source or "")
        data = read_bytes(src, CONFIG)
        atomic_write(target, data, mode=src.stat().st_mode & 0o777)
        on_line(f"copied {os.path.relpath(src, root)} to {rel} ({len(data)} bytes)")
    else:
        atomic_write(target, step.content.encode())
        on_line(f"wrote {rel} ({len(step.content.splitlines())} lines)")
    return 0


