"""Recording what a `StackWatcher` reports, for the live-state tests."""

from __future__ import annotations

from typing import Any, Callable

from tests.helpers.waiting import wait_until
from toolbox_tui.engine.containers import ServiceState
from toolbox_tui.live.events import EngineStatus, StackEvent, StackWatcher


class Recorder:
    """Every state, event and engine status a watcher reported, in order."""

    def __init__(self) -> None:
        self.states: list[ServiceState] = []
        self.events: list[StackEvent] = []
        self.engine: list[EngineStatus] = []

    def wait(self, pred: Callable[["Recorder"], Any], timeout: float = 30.0) -> bool:
        return wait_until(lambda: pred(self), timeout)

    def latest(self, svc: str) -> ServiceState | None:
        for s in reversed(self.states):
            if s.service == svc:
                return s
        return None


def watcher_for(client: Any, name: str, rec: Recorder, **kw: Any) -> StackWatcher:
    """A started watcher of project `name` that reports into `rec` (stop() it)."""
    w = StackWatcher(client, name, on_state=rec.states.append, on_event=rec.events.append,
                     on_engine=rec.engine.append, **kw)
    w.start()
    return w
