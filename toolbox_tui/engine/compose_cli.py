"""Run the user's `docker compose` (v2) in its machine-readable modes.

Compose is the authority on what a project means; this module is the one place that starts it.
Secret values never go through here: they travel in files the secret store wrote.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping, Sequence

from toolbox_tui.errors import ToolboxError


def popen(argv: Sequence[str], **kw: Any) -> subprocess.Popen:
    """`subprocess.Popen` for `docker compose`, in a process group of its own so that `stop`
    reaches Compose itself. The docker CLI runs Compose as a child process (a CLI plugin) and a
    SIGKILL to the CLI cannot be forwarded: killing only the CLI left the plugin running (a
    `config` of a billion-laughs file the doctor had refused grew to 24 GB after its doctor was
    gone). The group also keeps a terminal's Ctrl-C from reaching Compose behind our back: we
    decide (`run(finish_on_interrupt=True)` lets it finish, the others stop it)."""
    return subprocess.Popen(list(argv), start_new_session=True, **kw)


def stop(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Send `sig` to a `popen` process and everything it started (the Compose plugin); reaped
    by the caller's `wait`/`communicate`."""
    try:
        os.killpg(proc.pid, sig)
    except OSError:  # the group is gone already (or not ours): the process itself, if it lives
        try:
            proc.send_signal(sig)
        except OSError:
            pass


def _communicate(argv: Sequence[str], env: Mapping[str, str], timeout: float | None,
                 cwd: str | None) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(capture_output=True)` with `popen`/`stop`: a timeout or an interrupt stops
    the whole group, then is raised."""
    with popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(env),
               cwd=cwd, stdin=subprocess.DEVNULL, errors="replace") as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException:  # TimeoutExpired, KeyboardInterrupt
            stop(proc)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)


class ComposeError(ToolboxError):
    """`docker compose` failed; `message` is Compose's own words, cleaned for users."""

    def __init__(self, message: str, returncode: int = 1, stderr: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr


class ComposeNotInstalled(ComposeError):
    """No docker CLI, or no Compose v2 plugin behind `docker compose`."""


_NOT_INSTALLED = re.compile(r"'compose' is not a docker command|unknown command.*compose|"
                            r"unknown shorthand flag.*in -p|unknown flag: --project-directory")


@dataclass(frozen=True)
class ComposeInfo:
    version: str
    """Compose version as reported (`2.40.3`)."""
    docker: str
    """Path of the docker CLI used."""

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", self.version)[:3])


def docker_cli() -> str | None:
    return shutil.which("docker")


class _NotFound(Exception):
    """No Compose v2 behind `docker compose` (not cached: the next call looks again)."""


@lru_cache(maxsize=1)
def _found() -> ComposeInfo:
    docker = docker_cli()
    if not docker:
        raise _NotFound
    try:
        proc = subprocess.run([docker, "compose", "version", "--short"], capture_output=True,
                              text=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        raise _NotFound from None
    version = proc.stdout.strip().lstrip("v")
    if proc.returncode != 0 or not re.match(r"\d+\.\d+", version):
        raise _NotFound
    return ComposeInfo(version=version, docker=docker)


def compose_info() -> ComposeInfo | None:
    """The Compose v2 plugin behind `docker compose`, or None when there is none. Only a plugin
    that answered is remembered: a slow or missing answer is asked again next time (a long-running
    dashboard must not be stuck with one bad moment)."""
    try:
        return _found()
    except _NotFound:
        return None


compose_info.cache_clear = _found.cache_clear  # type: ignore[attr-defined]


def compose_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for a Compose child: the user's, without ANSI noise, plus `extra`."""
    env = dict(os.environ)
    env.setdefault("COMPOSE_ANSI", "never")
    env["COMPOSE_MENU"] = "false"
    if extra:
        env.update(extra)
    return env


def run(args: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float | None = 300,
        cwd: str | None = None, check: bool = False,
        finish_on_interrupt: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `docker compose ARGS` and capture its output.

    Raises ComposeNotInstalled when there is no docker CLI or no Compose v2 plugin (told apart
    from Compose's own errors by the CLI's "not a docker command" answer, so no extra
    `docker compose version` call is needed on the hot path).

    `finish_on_interrupt`: a KeyboardInterrupt (Ctrl-C; SIGTERM/SIGHUP in the CLI) does not kill
    Compose (the others stop it at once, which can leave a recreate half done: the old container
    renamed or gone, no new one); Compose is waited for (within `timeout`), then the interrupt is
    raised again. For operations a rollback must be able to build on."""
    docker = docker_cli()
    if docker is None:
        raise ComposeNotInstalled("the docker CLI is not on PATH", returncode=127)
    argv = [docker, "compose", *args]
    try:
        if finish_on_interrupt:
            proc = _run_to_completion(argv, compose_env(env), timeout, cwd)
        else:
            proc = _communicate(argv, compose_env(env), timeout, cwd)
    except subprocess.TimeoutExpired:
        raise _timed_out(args, timeout) from None
    return _finished(proc, check)


def _timed_out(args: Sequence[str], timeout: float | None) -> ComposeError:
    return ComposeError(f"`docker compose {args[-1] if args else ''}` did not finish within "
                        f"{timeout or 0:.0f} s", returncode=124)


def _finished(proc: subprocess.CompletedProcess[str], check: bool) -> subprocess.CompletedProcess[str]:
    """`run`'s verdict on a finished Compose: not installed, failed (with `check`), or the result."""
    if proc.returncode != 0 and _NOT_INSTALLED.search(proc.stderr or ""):
        raise ComposeNotInstalled("Docker Compose v2 is not installed (`docker compose` is not a "
                                  "docker command here)", returncode=127, stderr=proc.stderr)
    if check and proc.returncode != 0:
        raise ComposeError(clean_error(proc.stderr), proc.returncode, proc.stderr)
    return proc


def _run_to_completion(argv: list[str], env: Mapping[str, str], timeout: float | None,
                       cwd: str | None) -> subprocess.CompletedProcess[str]:
    """`subprocess.run` that lets the child finish when interrupted (see `run`)."""
    import time

    interrupted: KeyboardInterrupt | None = None
    deadline = None if timeout is None else time.monotonic() + timeout
    with popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
               env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, errors="replace") as proc:
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                out, err = proc.communicate(timeout=left)
                break
            except KeyboardInterrupt as exc:  # again and again: Compose still finishes
                interrupted = interrupted or exc
            except subprocess.TimeoutExpired:
                stop(proc)
                proc.communicate()
                raise
    if interrupted is not None:
        raise interrupted
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def clean_error(stderr: str) -> str:
    """Compose's error text without the noise of warnings and progress lines."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if not re.match(r'^(time=|WARN|level=warn)', ln, re.I)]
    return "\n".join(errors or lines) or "docker compose failed without a message"


def config_json(project_args: Sequence[str], *, env: Mapping[str, str] | None = None,
                timeout: float = 60) -> dict[str, Any]:
    """`docker compose ... config --format json`, parsed. Raises ComposeError on failure.
    A `prefetch_config` of the same arguments (and the user's environment) is used instead of a
    new run."""
    early = _PREFETCHED.pop(tuple(project_args), None) if env is None else None
    proc = early.result() if early is not None else \
        run([*project_args, "config", "--format", "json"], env=env, timeout=timeout)
    if proc.returncode != 0:
        raise ComposeError(clean_error(proc.stderr), proc.returncode, proc.stderr)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise ComposeError(f"`docker compose config` printed invalid JSON: {exc}") from None


class ConfigPrefetch:
    """`docker compose ARGS config --format json` started ahead of need (`prefetch_config`), so
    Compose (a Go binary: most of its time is its own start-up) runs while we load the project
    ourselves. Only what `config_json` asks for with exactly these arguments uses it; `discard`
    (always, when the caller is done) kills a run nobody used, so a file Compose would block on
    (a FIFO our loader refuses) never leaves a Compose behind."""

    def __init__(self, project_args: Sequence[str], timeout: float) -> None:
        self.args = tuple(project_args)
        self._argv = [*project_args, "config", "--format", "json"]
        self._timeout = timeout
        self._proc: subprocess.Popen[str] | None = None
        self._done: Any = None
        docker = docker_cli()
        if docker is None:
            return
        try:
            self._proc = popen([docker, "compose", *self._argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=compose_env(),
                               stdin=subprocess.DEVNULL, errors="replace")
        except OSError:
            return
        from toolbox_tui.background import start

        self._done = start(self._proc.communicate, name="compose-config-prefetch")

    def result(self) -> subprocess.CompletedProcess[str]:
        """What `run` would have returned (or raised) for these arguments."""
        if self._proc is None or self._done is None:  # could not start: run it now, as before
            return run(self._argv, timeout=self._timeout)
        from concurrent.futures import TimeoutError as NotYet  # the builtin only from 3.11

        try:
            out, err = self._done.result(timeout=self._timeout)
        except NotYet:
            self.discard()
            raise _timed_out(self._argv, self._timeout) from None
        return _finished(subprocess.CompletedProcess(self._proc.args, self._proc.returncode,
                                                     out, err), check=False)

    def discard(self) -> None:
        """Forget it; a Compose still running is killed."""
        if _PREFETCHED.get(self.args) is self:
            del _PREFETCHED[self.args]
        if self._proc is not None and self._proc.poll() is None:
            stop(self._proc)
            self._proc.wait()


_PREFETCHED: dict[tuple[str, ...], ConfigPrefetch] = {}
"""Prefetched `config` runs by project arguments, until `config_json` takes one."""


def prefetch_config(project_args: Sequence[str], *, timeout: float = 60) -> ConfigPrefetch:
    """Start `docker compose ARGS config --format json` now; `config_json(ARGS)` takes its result.
    The caller must `discard()` it when done (whether it was used or not)."""
    early = ConfigPrefetch(project_args, timeout)
    _PREFETCHED[early.args] = early
    return early


def parse_ndjson(text: str) -> list[dict[str, Any]]:
    """NDJSON (Compose >= 2.21) or a JSON array (older), as a list of objects."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            data = json.loads(text)
            return [d for d in data if isinstance(d, dict)]
        except json.JSONDecodeError:
            pass
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out
