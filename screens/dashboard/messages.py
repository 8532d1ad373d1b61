"""The messages the dashboard's data source posts from its threads (and tests post the same).

The threads never touch a widget: each change becomes one of these, handled on the UI thread.
"""

from __future__ import annotations

from textual.message import Message

from toolbox_tui.engine.containers import ServiceState
from toolbox_tui.live.events import EngineStatus, StackEvent
from toolbox_tui.live.http_probe import HttpHealth
from toolbox_tui.live.log_lines import LogBatch
from toolbox_tui.live.stats import ServiceStats


class StateUpdate(Message):
    """A service's state changed."""

    def __init__(self, state: ServiceState) -> None:
        super().__init__()
        self.state = state


class StatsUpdate(Message):
    """A new CPU/memory sample for a service."""

    def __init__(self, stats: ServiceStats) -> None:
        super().__init__()
        self.stats = stats


class EventArrived(Message):
    """Something happened to a service (die, oom, restart, health change...)."""

    def __init__(self, event: StackEvent) -> None:
        super().__init__()
        self.event = event


class EngineUpdate(Message):
    """The engine went away or came back."""

    def __init__(self, status: EngineStatus) -> None:
        super().__init__()
        self.status = status


class LogsArrived(Message):
    """A batch of sanitized log lines."""

    def __init__(self, batch: LogBatch) -> None:
        super().__init__()
        self.batch = batch


class HttpUpdate(Message):
    """A new HTTP health probe of the selected service."""

    def __init__(self, health: HttpHealth) -> None:
        super().__init__()
        self.health = health


class ActionDone(Message):
    """An action finished in a worker thread."""

    def __init__(self, message: str, error: bool = False) -> None:
        super().__init__()
        self.message = message
        self.error = error


class ShellReady(Message):
    """The image's shell was found (a `live.shell.ShellPlan`): suspend and run it."""

    def __init__(self, plan: object) -> None:
        super().__init__()
        self.plan = plan


class InspectReady(Message):
    """The engine described the selected service's container (a `live.inspect.ServiceInspect`)."""

    def __init__(self, info: object) -> None:
        super().__init__()
        self.info = info
