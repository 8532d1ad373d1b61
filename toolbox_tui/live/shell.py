"""A shell in a service's container: which shell the image has, and the `docker exec` that runs it.

The interactive exec goes through the user's own `docker` binary (so it reaches the engine the way
`docker ps` does: `DOCKER_HOST`, the current context, its TLS or ssh set-up), never the SDK: the
terminal is handed over to it as it is, and `docker exec -it` does the raw mode, resizes and
Ctrl-C the same way as when the user types it. Before that, a non-interactive exec per candidate
shell (`bash`, then `sh`) finds one the image really has, so an image without bash (busybox,
alpine) gets `sh` instead of a `bash: executable file not found` the user has to read and retype.
No Textual here: the dashboard suspends itself around `ShellPlan.argv`, `toolbox-tui shell` runs
it directly.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Callable, Sequence

from toolbox_tui.engine import compose_cli
from toolbox_tui.engine.containers import ServiceState
from toolbox_tui.errors import EXIT_FAIL, ToolboxError
from toolbox_tui.sanitize import sanitize_oneline

SHELLS = ("bash", "sh")
"""Shells tried, in order of preference."""

PROBE_TIMEOUT = 20.0
"""Seconds one probing exec may take (a busy engine; a hung container is reported, not waited)."""


class ShellError(ToolboxError):
    """No shell can be opened in the service's container; the message says why and what to do."""

    exit_code = EXIT_FAIL


@dataclass(frozen=True)
class ShellPlan:
    """How to open an interactive shell in one service's container."""

    service: str
    """The service (its shown name)."""
    container: str
    """Container id."""
    shell: str
    """The shell found in the image (`bash`, `sh`), or the command the user asked for."""
    argv: tuple[str, ...]
    """`docker exec -it CONTAINER SHELL` (the user's docker binary)."""


Runner = Callable[[Sequence[str], float], "subprocess.CompletedProcess[str]"]


def _run(argv: Sequence[str], timeout: float) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(list(argv), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _docker() -> str:
    docker = compose_cli.docker_cli()
    if docker is None:
        raise ShellError("the docker command is not installed or not on PATH",
                         "install the Docker CLI (a shell is opened with `docker exec -it`)")
    return docker


def _not_runnable(state: ServiceState | None, service: str) -> ShellError | None:
    if state is None or not state.container_id or state.state == "missing":
        return ShellError(f"service {service} has no container",
                          "bring the stack up first (U in the dashboard, or `toolbox-tui up`)")
    if state.state != "running":
        what = "was OOM-killed" if state.oom_killed else f"is {state.state}"
        return ShellError(f"the container of service {service} {what}: a shell needs a running "
                          "container", "start it first (S in the dashboard, or `toolbox-tui "
                                       f"restart {service}`), then look at its logs if it stops again")
    return None


def plan_shell(service: str, state: ServiceState | None, *, command: Sequence[str] = (),
               run: Runner = _run, timeout: float = PROBE_TIMEOUT) -> ShellPlan:
    """The `docker exec -it` for a shell (or `command`) in `service`'s running container.

    Raises `ShellError` (user-facing) when the service has no running container, the engine
    refuses the exec, or the image has none of `SHELLS`."""
    problem = _not_runnable(state, service)
    if problem is not None:
        raise problem
    assert state is not None
    docker = _docker()
    cid = state.container_id
    if command:
        return ShellPlan(service, cid, " ".join(command), (docker, "exec", "-it", cid, *command))
    tried = []
    for shell in SHELLS:
        try:
            proc = run([docker, "exec", cid, shell, "-c", "exit 0"], timeout)
        except subprocess.TimeoutExpired:
            raise ShellError(f"the engine did not answer `docker exec` in the container of "
                             f"service {service} within {timeout:.0f} s",
                             f"check the container with `docker inspect {cid[:12]}`") from None
        except OSError as exc:
            raise ShellError(f"could not run {docker}: {exc.strerror or exc}",
                             "check the Docker CLI installation") from None
        if proc.returncode == 0:
            return ShellPlan(service, cid, shell, (docker, "exec", "-it", cid, shell))
        err = sanitize_oneline(proc.stderr or proc.stdout or "", max_len=300)
        if "not running" in err or "No such container" in err or "is paused" in err:
            raise ShellError(f"the engine refused a shell in service {service}: {err}",
                             "start the container first, then try again")
        if proc.returncode in (126, 127) or "executable file not found" in err or "no such file" in err.lower():
            tried.append(shell)
            continue
        raise ShellError(f"`docker exec` in service {service} failed (exit {proc.returncode}): "
                         f"{err or 'no message'}", "check the engine with `docker ps`")
    raise ShellError(f"the image of service {service} has no shell (tried {', '.join(tried)})",
                     "run a command it does have: `toolbox-tui shell "
                     f"{service} --cmd COMMAND`, or `docker exec -it {cid[:12]} COMMAND`")


def run_interactive(plan: ShellPlan) -> int:
    """Run the plan on the terminal we have (blocking); the exit code of `docker exec`."""
    try:
        return subprocess.call(list(plan.argv))
    except OSError as exc:
        raise ShellError(f"could not run {plan.argv[0]}: {exc.strerror or exc}",
                         "check the Docker CLI installation") from None


def ended_message(plan: ShellPlan, code: int) -> str:
    """What the user reads when the shell is over."""
    if code == 0:
        return f"shell in {plan.service} ended"
    if code < 0 or code in (137, 143):
        return f"shell in {plan.service} ended: killed (exit {code}); the container may have stopped"
    return f"shell in {plan.service} ended (exit {code})"
