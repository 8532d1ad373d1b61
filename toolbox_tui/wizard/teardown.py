"""Ending a wizard startup that did not complete: the `docker compose` children this process
started, the event streams it opened, and bringing the project down without a late create
slipping through. No textual here."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Callable

from toolbox_tui.engine.containers import project_filter

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack

COMPOSE_EXIT_WAIT = 15.0
"""Seconds the clean-up waits for a signalled `docker compose up` to exit before `down`."""


def own_children(comm: str, *, running: bool = False) -> list[int]:
    """PIDs of this process's direct children named `comm` (Linux /proc; [] elsewhere); with
    `running`, not those that have exited and wait to be reaped."""
    me = os.getpid()
    out = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        name = stat[stat.find("(") + 1: stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2:].split()
        if name == comm and fields and int(fields[1]) == me and not (running and fields[0] == "Z"):
            out.append(int(entry))
    return out



class ClosableClient:
    """A DockerClient proxy that remembers the event streams it opened, so a screen that goes
    away can close them and the thread blocked on one returns at once."""

    def __init__(self, client: Any) -> None:
        self._client = client
        """The real `docker.DockerClient`."""
        self.streams: list[Any] = []
        """Streams opened through `events()`, closed by `close_streams()`."""

    def events(self, *args: Any, **kwargs: Any) -> Any:
        stream = self._client.events(*args, **kwargs)
        self.streams.append(stream)
        return stream

    def close_streams(self) -> None:
        for s in self.streams:
            try:
                s.close()
            except Exception:  # noqa: BLE001 - closing a dead socket is fine
                pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def bring_down(stack: Stack, client: Callable[[], Any]) -> None:
    """Bring the project down after a startup that did not complete.

    First the `docker compose up` this process started must have exited (`stop_waiting`
    signalled it): a create it sent can still land after a `down` that ran meanwhile. Then
    `down`, repeated while the engine still lists containers of the project, and done only
    after 2 s without one (a container that lands later is force-removed). Raises
    RuntimeError (user-facing) when Compose refuses."""
    from toolbox_tui.engine import compose_cli
    from toolbox_tui.lifecycle.startup import compose_command

    end = time.monotonic() + COMPOSE_EXIT_WAIT
    while own_children("docker", running=True) and time.monotonic() < end:
        time.sleep(0.1)
    for _attempt in range(5):
        proc = compose_command(stack, ["down", "--timeout", "5"], timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"docker compose down failed: {compose_cli.clean_error(proc.stderr)}")
        if not _project_containers(client, stack.name):
            time.sleep(2.0)  # a create sent before Compose was stopped can land late (load)
            late = _project_containers(client, stack.name)
            if not late:
                return
            _remove_containers(client, late)  # landed after `down` listed the project
        time.sleep(0.5)


def _remove_containers(client: Callable[[], Any], ids: list[str]) -> None:
    """Force-remove containers of our project that a late create left behind."""
    for cid in ids:
        try:
            client().api.remove_container(cid, force=True)
        except Exception:  # noqa: BLE001 - gone already, or no engine: the next round says
            pass


def _project_containers(client: Callable[[], Any], project: str) -> list[str]:
    """Ids of the containers of `project` the engine lists ([] when it does not answer)."""
    try:
        found = client().api.containers(
            all=True, filters={"label": [project_filter(project)]})
    except Exception:  # noqa: BLE001 - no engine: nothing more to do here
        return []
    return [c["Id"] for c in found]

