"""Step 6 — Startup: a row per service with progress and state, the log tail of the service being
started, and on failure the diagnosis panel with what to do.

One thread worker runs `WizardBackend.run_startup` (materialize secrets, `compose up -d`,
`wait_healthy`, `diagnose`); the log pipeline runs its own threads. Both only post the messages
below — tests post the very same ones. Container text is sanitized by the engine and rendered as
`rich.text.Text`, never as markup.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, RichLog, Static

from toolbox_tui.screens.stylesheets import load_css
from toolbox_tui.screens.wizard.step_base import StepScreen
from toolbox_tui.wizard.backend import StartupOutcome

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack

LOG_KEEP = 200
"""Log lines kept per service for the tail panel."""

STATE_STYLE = {"done": "green", "failed": "bold red", "pending": "yellow"}


class Progress(Message):
    """A `startup.ServiceProgress` from `docker compose up`."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class Health(Message):
    """A `engine.containers.ServiceState` change (the health wait's verdict)."""

    def __init__(self, state: Any) -> None:
        super().__init__()
        self.state = state


class Logs(Message):
    """A `log_pipeline.LogBatch`."""

    def __init__(self, batch: Any) -> None:
        super().__init__()
        self.batch = batch


class StackMaterialized(Message):
    """The secret files are written; `stack` has the override applied."""

    def __init__(self, stack: Stack) -> None:
        super().__init__()
        self.stack = stack


class StartupFinished(Message):
    def __init__(self, outcome: StartupOutcome) -> None:
        super().__init__()
        self.outcome = outcome


def diagnosis_text(diags: tuple[Any, ...]) -> Text:
    out = Text()
    for d in diags:
        for i, line in enumerate(d.lines()):
            out.append(line + "\n", style="bold red" if i == 0 else ("cyan" if "hint:" in line else ""))
        out.append("\n")
    return out


def compose_state(ev: Any) -> Text:
    """The State cell from a Compose progress event, while the engine's own state is not known:
    the health wait starts only after `compose up` ends, and never when it fails."""
    word = ev.status.lower()
    if ev.phase == "error":
        why = "" if not ev.detail or ev.detail.startswith("Container ") else f": {ev.detail}"
        return Text(f"{word}{why}", style="bold red")
    if word == "healthy":
        return Text("healthy (Compose)", style="green")
    if ev.phase in ("running", "done"):
        return Text(f"{word} (Compose)", style="yellow" if word == "exited" else "green")
    return Text(f"{word}…", style="dim")


class StartupStep(StepScreen):
    """Starts the stack on entry; r retries after a failure."""

    STEP = "startup"
    CSS = load_css("step_startup.tcss")
    BINDINGS = [
        Binding("r", "retry", "Retry", id="startup.retry"),
        Binding("l", "follow", "Follow log", id="startup.follow", show=False),
    ]
    """r starts again after a failure; l makes the log follow the service being started again."""

    def __init__(self) -> None:
        super().__init__()
        self.progress: dict[str, str] = {}
        """service -> Compose status word."""
        self.states: dict[str, Any] = {}
        """service -> latest ServiceState."""
        self.logs: dict[str, deque[Any]] = {}
        """service -> last LOG_KEEP LogLines (sanitized)."""
        self.current: str | None = None
        """Service whose log is shown (the one being started, unless the user picked one)."""
        self.pinned = False
        self.outcome: StartupOutcome | None = None
        self.pipeline: Any = None

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Starting the stack", style="bold"), classes="section-title")
        yield DataTable(id="startup-table", cursor_type="row")
        yield Static("", id="log-title")
        yield RichLog(id="startup-log", max_lines=LOG_KEEP, wrap=False, markup=False, highlight=False)
        with VerticalScroll(id="diagnosis"):
            yield Static("", id="diagnosis-text")

    def on_mount(self) -> None:
        table = self.query_one("#startup-table", DataTable)
        width = max(40, self.size.width - 6)
        names = list(self.wizard.stack.services)
        # whole names (up to half the width): `agent-coordinator-worker` is not `agent-coordinat…`
        name_w = min(max([7, *map(len, names)]), width // 2)
        table.add_column("Service", key="service", width=name_w)
        table.add_column("Compose", key="compose", width=12)
        table.add_column("State", key="state", width=max(10, width - name_w - 12))
        for name in self.wizard.stack.services:
            table.add_row(Text(name), Text("waiting", style="dim"), Text(""), key=name)
        self.query_one("#diagnosis").display = False
        self.start()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.wizard.start_requested and self.wizard.startup_state in ("idle", "failed", "cancelled"):
            self.start()

    # --- running --------------------------------------------------------------------------------

    def start(self) -> None:
        wizard = self.wizard
        if wizard.startup_state == "running":
            return
        wizard.startup_state = "running"
        wizard.start_requested = False
        wizard.mark(self.STEP, False)
        self.outcome = None
        self.query_one("#diagnosis").display = False
        self.query_one("#startup-log").display = True
        self.set_status("Writing secret files and starting containers…")
        backend = wizard.backend
        stack, store = wizard.stack, wizard.store

        def work() -> None:
            outcome = backend.run_startup(
                stack, store, on_progress=lambda ev: self.post_message(Progress(ev)),
                on_state=lambda st: self.post_message(Health(st)),
                on_stack=lambda s: self.post_message(StackMaterialized(s)))
            self.post_message(StartupFinished(outcome))

        self.run_job("starting the stack", work)
        self.refresh_bindings()

    def job_failed(self, message: Any) -> None:
        cancel = getattr(self.wizard.backend, "cancel", None)
        quitting = cancel is not None and cancel.is_set()  # an error caused by stop_waiting()
        self.wizard.startup_state = "cancelled" if quitting else "failed"
        self.refresh_bindings()

    def on_stack_materialized(self, message: StackMaterialized) -> None:
        self.wizard.materialized = True
        self.wizard.stack = message.stack
        if self.pipeline is None:
            backend = self.wizard.backend

            def start_logs() -> None:
                self.pipeline = backend.start_logs(message.stack, lambda b: self.post_message(Logs(b)))

            self.run_worker(start_logs, thread=True, group="logs", exit_on_error=False)

    def on_progress(self, message: Progress) -> None:
        ev = message.event
        if not ev.service or ev.service not in self.wizard.stack.services:
            if ev.phase == "warning":
                self.set_status(f"compose: {ev.detail}", "yellow")
            return
        self.progress[ev.service] = ev.status
        style = "red" if ev.phase == "error" else "green" if ev.phase in ("running", "done") else "yellow"
        self._cell(ev.service, "compose", Text(ev.status, style=style))
        if ev.service not in self.states:  # until the health wait reports (it starts after up)
            self._cell(ev.service, "state", compose_state(ev))
        if ev.phase in ("create", "start", "running") and not self.pinned:
            self._follow(ev.service)

    def on_health(self, message: Health) -> None:
        st = message.state
        self.states[st.service] = st
        text = Text(st.reason or st.state, style=STATE_STYLE.get(st.verdict, ""))
        self._cell(st.service, "state", text)
        if not self.pinned and st.verdict != "done" and (
                self.current is None or self.states.get(self.current) is None
                or self.states[self.current].verdict == "done"):
            self._follow(st.service)
        done = sum(1 for s in self.states.values() if s.verdict == "done")
        self.set_status(f"Waiting for health checks: {done}/{len(self.wizard.stack.services)} ready.")

    def on_logs(self, message: Logs) -> None:
        for line in message.batch.lines:
            self.logs.setdefault(line.service, deque(maxlen=LOG_KEEP)).append(line)
            if line.service == self.current:
                self.query_one("#startup-log", RichLog).write(Text.from_ansi(line.text))

    def on_startup_finished(self, message: StartupFinished) -> None:
        out = message.outcome
        self.outcome = out
        wizard = self.wizard
        # cancelled (the wizard is quitting): containers may be up, the launcher brings them down
        wizard.startup_state = "ok" if out.ok else "cancelled" if out.cancelled else "failed"
        if out.ok:
            self.set_status(out.summary + " Press n.", "green")
        else:
            self.set_status(out.summary + " r retries, Esc goes back.", "bold red")
            if out.diagnoses:
                self.query_one("#diagnosis-text", Static).update(diagnosis_text(out.diagnoses))
                self.query_one("#diagnosis").display = True
                self.query_one("#startup-log").display = False
        self.refresh_bindings()
        if out.ok:
            self.stop_logs()
            wizard.complete(self.STEP)

    # --- table and log --------------------------------------------------------------------------

    def _cell(self, service: str, column: str, value: Text) -> None:
        table = self.query_one("#startup-table", DataTable)
        try:
            table.update_cell(service, column, value, update_width=False)
        except Exception:  # noqa: BLE001 - a service that is not a row (profiles)
            pass

    def _follow(self, service: str) -> None:
        if service == self.current:
            return
        self.current = service
        self.query_one("#log-title", Static).update(Text(f"Log of {service}", style="bold"))
        log = self.query_one("#startup-log", RichLog)
        log.clear()
        for line in self.logs.get(service, ()):
            log.write(Text.from_ansi(line.text))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key is not None and event.row_key.value:
            self.pinned = True
            self._follow(str(event.row_key.value))
            if self.outcome is not None and not self.outcome.ok:
                self.query_one("#diagnosis").display = False
                self.query_one("#startup-log").display = True

    def action_follow(self) -> None:
        self.pinned = False

    def action_retry(self) -> None:
        if self.wizard.startup_state != "running":
            self.start()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        running = self.wizard.startup_state == "running"
        if action == "retry":
            return None if running or self.wizard.startup_state == "ok" else True
        if action == "back" and running:
            return None
        return super().check_action(action, parameters)

    def next_blocked(self) -> str:
        if self.wizard.startup_state == "running":
            return "the stack is starting"
        if self.wizard.startup_state != "ok":
            return "the stack is not healthy yet (r retries)"
        return ""

    def on_unmount(self) -> None:
        self.stop_logs()

    def stop_logs(self) -> None:
        """Stop the log readers off the UI thread (stop() joins them)."""
        pipe, self.pipeline = self.pipeline, None
        if pipe is not None:
            threading.Thread(target=pipe.stop, name="wizard-logs-stop", daemon=True).start()
