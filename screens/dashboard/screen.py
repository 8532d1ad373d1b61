"""The live stack-health dashboard: services, health, multiplexed logs, events, actions.

`DashboardScreen` gets its data source in the constructor (a `toolbox_tui.live.stack.LiveStack`,
or None for a face driven only by messages). The source's threads never touch widgets: they
post the messages below, and tests drive the screen by posting the very same messages.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Input, RichLog, Static, TabbedContent, TabPane

from toolbox_tui.engine.containers import ServiceState
from toolbox_tui.live.events import EngineStatus, StackEvent
from toolbox_tui.live.http_probe import HttpHealth
from toolbox_tui.live.log_lines import LogStore
from toolbox_tui.live.stats import ServiceStats
from toolbox_tui.screens.dashboard.health import health_view
from toolbox_tui.screens.dashboard.log_view import LogFilter, LogView, parse_filter
from toolbox_tui.screens.dashboard.actions import StackActions
from toolbox_tui.screens.dashboard.log_actions import LogActions
from toolbox_tui.screens.dashboard.messages import (
    EngineUpdate, EventArrived, HttpUpdate, LogsArrived, StateUpdate, StatsUpdate,
)
from toolbox_tui.screens.dashboard.services import STATS_FLUSH_DELAY, ServicesTable
from toolbox_tui.screens.footer import CoalescedFooter
from toolbox_tui.screens.stylesheets import load_css

EVENT_STYLES = {"die": "red", "oom": "bold red", "kill": "red", "health:unhealthy": "bold red",
                "health:healthy": "green", "start": "green", "restart": "yellow", "stop": "yellow"}

RENDER_HZ = 15
"""Log view refreshes per second while lines arrive (the timer is paused when none do)."""


class DashboardScreen(StackActions, LogActions, Screen):
    """Services, health, logs and events of one Compose project."""

    CSS = load_css("dashboard.tcss")
    BINDINGS = [
        Binding("r", "restart", "Restart", id="dashboard.restart"),
        Binding("s", "stop_service", "Stop", id="dashboard.stop"),
        Binding("S", "start_service", "Start", id="dashboard.start"),
        Binding("e", "shell", "Shell", id="dashboard.shell"),
        Binding("i", "inspect", "Inspect", id="dashboard.inspect"),
        Binding("U", "stack_up", "Up", id="dashboard.up", show=False),
        Binding("D", "stack_down", "Down", id="dashboard.down", show=False),
        Binding("slash", "filter", "Filter", id="dashboard.filter"),
        Binding("l", "cycle_level", "Level", id="dashboard.level"),
        Binding("v", "single_service", "One svc", id="dashboard.single"),
        Binding("p", "pause", "Pause", id="dashboard.pause"),
        Binding("f", "follow", "Follow", id="dashboard.follow", show=False),
        Binding("t", "timestamps", "Times", id="dashboard.timestamps", show=False),
        Binding("n", "next_error", "Next err", id="dashboard.next_error"),
        Binding("w", "export_logs", "Export", id="dashboard.export"),
        Binding("c", "copy_lines", "Copy", id="dashboard.copy"),
        Binding("1", "tab('logs')", "Logs", id="dashboard.tab_logs", show=False),
        Binding("2", "tab('health')", "Health", id="dashboard.tab_health", show=False),
        Binding("3", "tab('events')", "Events", id="dashboard.tab_events", show=False),
        Binding("escape", "clear_filter", "Clear filter", id="dashboard.clear_filter", show=False),
        Binding("b", "back", "Back", id="dashboard.back"),
    ]
    """Every action has an id (remappable through Textual's keymap) and appears in the palette."""

    def __init__(self, project: str, source: Any = None, *, services: tuple[str, ...] = (),
                 ring_size: int = 5000, view_lines: int = 5000, name: str | None = None,
                 clock=time.time, back: bool = False) -> None:
        super().__init__(name=name)
        self.back = back
        """Opened from another screen (the wizard's Done step): b, or Esc with no filter, returns."""
        self.clock = clock
        """Wall clock for uptimes and event times (tests pin it)."""
        self.project = project
        """Compose project name (shown in the status line)."""
        self.source = source
        """A `LiveStack` (start/stop/consumed/restart/...) or None when driven by messages only."""
        self.declared = tuple(services)
        """Services from the compose files, shown before they have a container."""
        self.store = LogStore(ring_size)
        """Bounded per-service log history; the view is rebuilt from it when a filter changes."""
        self.states: dict[str, ServiceState] = {}
        """Latest state per service."""
        self.engine = EngineStatus(True, "connecting…")
        """Latest engine status."""
        self.paused = False
        """While paused the view does not move; lines keep arriving in the store."""
        self.view_lines = view_lines
        """Rows kept in the log widget."""
        self.lines_received = 0
        """Log lines received since mount (benchmarks, status)."""
        self._incoming: deque = deque(maxlen=view_lines)
        self._not_drawn = 0
        self._drain_timer: Any = None
        self._events: deque[StackEvent] = deque(maxlen=500)
        self.http: dict[str, HttpHealth] = {}
        """Latest HTTP endpoint probes per service (only the selected one is probed)."""

    # --- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield ServicesTable(clock=self.clock, id="services")
        with TabbedContent(initial="logs", id="panels"):
            with TabPane("Logs", id="logs"):
                yield Static(id="log-status")
                yield LogView(max_lines=self.view_lines, id="log")
                yield Input(placeholder="regex, service:NAME, level:warn — Enter applies, Esc clears",
                            id="filter-input")
            with TabPane("Health", id="health"):
                yield Static(id="health-view")
            with TabPane("Events", id="events"):
                yield RichLog(id="events-log", max_lines=1000, markup=False, highlight=False,
                              wrap=False)
        yield CoalescedFooter()

    def on_mount(self) -> None:
        table = self.table
        table.setup(self.declared)
        self.query_one("#filter-input", Input).display = False
        self._render_status()
        self._render_log_status()
        self._drain_timer = self.set_interval(1 / RENDER_HZ, self._drain_logs, name="logs-render",
                                              pause=True)
        self.set_interval(STATS_FLUSH_DELAY, lambda: self.table.tick(self.states), name="table-tick")
        table.focus()
        if self.source is not None:
            from toolbox_tui.live.stack import LiveSinks

            self.source.start(LiveSinks(
                on_state=lambda s: self.post_message(StateUpdate(s)),
                on_stats=lambda s: self.post_message(StatsUpdate(s)),
                on_event=lambda e: self.post_message(EventArrived(e)),
                on_engine=lambda e: self.post_message(EngineUpdate(e)),
                on_logs=lambda b: self.post_message(LogsArrived(b)),
                on_http=lambda h: self.post_message(HttpUpdate(h)),
            ))
            self._select_http()

    def on_unmount(self) -> None:
        # Close the streams so blocked reader threads end now, not at interpreter exit.
        if self.source is not None:
            self.source.stop()

    # --- services panel ----------------------------------------------------------------------

    @property
    def table(self) -> ServicesTable:
        return self.query_one("#services", ServicesTable)

    @property
    def stats(self) -> dict[str, ServiceStats]:
        """Latest stats per service."""
        return self.table.stats

    def selected_service(self) -> str | None:
        return self.table.selected()

    def on_state_update(self, message: StateUpdate) -> None:
        st = message.state
        old = self.states.get(st.service)
        self.states[st.service] = st
        with self.app.batch_update():
            self.table.show_state(st)
        if st.service == self.selected_service() and (old is None or old.health_log != st.health_log
                                                      or old != st):
            self._render_health()
        self._render_status()

    def on_stats_update(self, message: StatsUpdate) -> None:
        # Samples arrive once a second per container; the table coalesces them into one update.
        self.table.add_stats(message.stats)

    @on(DataTable.RowHighlighted, "#services")
    def _row_changed(self, event: DataTable.RowHighlighted) -> None:
        self._render_health()
        self._select_http()

    def _select_http(self) -> None:
        select = getattr(self.source, "select", None)
        if select is not None:
            select(self.selected_service())

    # --- status lines ------------------------------------------------------------------------

    def _render_status(self) -> None:
        total = len(self.states) or len(self.declared)
        running = sum(1 for s in self.states.values() if s.state == "running")
        healthy = sum(1 for s in self.states.values() if s.health == "healthy")
        unhealthy = sum(1 for s in self.states.values() if s.health == "unhealthy")
        t = Text()
        t.append(" ", "")
        t.append(self.project, "bold")
        t.append(f"  {running}/{total} running  {healthy} healthy")
        if unhealthy:
            t.append(f"  {unhealthy} unhealthy", "bold red")
        if self.engine.connected:
            t.append("  engine ok", "green")
        else:
            t.append(f"  engine lost: {self.engine.message}", "bold red")
            if self.engine.retry_in:
                t.append(f" (retry in {self.engine.retry_in:.0f}s)")
        self.query_one("#status", Static).update(t, layout=False)  # one row: no reflow

    def _render_log_status(self) -> None:
        log = self.query_one("#log", LogView)
        t = Text(" ")
        t.append("PAUSED" if self.paused else ("follow" if log.auto_scroll else "scroll"),
                 "bold yellow" if self.paused else "green")
        t.append(f"  filter: {log.filter.describe()}")
        t.append(f"  lines: {len(self.store)}", "dim")
        self.query_one("#log-status", Static).update(t, layout=False)  # one row: no reflow

    def on_engine_update(self, message: EngineUpdate) -> None:
        self.engine = message.status
        self._render_status()

    # --- health panel ------------------------------------------------------------------------

    def _render_health(self) -> None:
        svc = self.selected_service()
        self.query_one("#health-view", Static).update(
            health_view(svc, self.states.get(svc or ""), self.http.get(svc or "")))

    def on_http_update(self, message: HttpUpdate) -> None:
        self.http[message.health.service] = message.health
        if message.health.service == self.selected_service():
            self._render_health()

    # --- events panel ------------------------------------------------------------------------

    def on_event_arrived(self, message: EventArrived) -> None:
        ev = message.event
        self._events.append(ev)
        self._write_event(time.strftime("%H:%M:%S", time.gmtime(ev.time)), ev.service,
                          ev.action, ev.detail)

    def _write_event(self, when: str, service: str, action: str, detail: str) -> None:
        t = Text(f"{when} ")
        t.append(f"{service:<14} ", "bold")
        t.append(f"{action:<18}", EVENT_STYLES.get(action, ""))
        t.append(f" {detail}")
        self.query_one("#events-log", RichLog).write(t)

    # --- logs panel --------------------------------------------------------------------------

    def on_logs_arrived(self, message: LogsArrived) -> None:
        batch = message.batch
        self.lines_received += len(batch.lines)
        self.store.add(batch.lines)
        if not self.paused:
            overflow = len(self._incoming) + len(batch.lines) - self.view_lines
            if overflow > 0:
                self._not_drawn += overflow
            self._incoming.extend(batch.lines)
            self._drain_timer.resume()
        for note in batch.notes:
            self._write_event(time.strftime("%H:%M:%S", time.gmtime(self.clock())), "logs",
                              "reattach", note)
        if self.source is not None:
            self.source.consumed(len(batch.lines))

    def _drain_logs(self) -> None:
        """Move what arrived since the last tick into the view: a deque extend and one refresh
        (the view renders only the rows on screen). Idle: the timer pauses itself."""
        if not self._incoming or self.paused:
            self._drain_timer.pause()
            return
        lines = list(self._incoming)
        self._incoming.clear()
        log = self.query_one("#log", LogView)
        if self._not_drawn:  # more than view_lines arrived within one tick
            log.add_note(f"⋯ {self._not_drawn:,} lines not drawn during the flood "
                         f"(p pauses and shows the history)")
            self._not_drawn = 0
        log.add(lines)
        self._render_log_status()

    def _rebuild_logs(self) -> None:
        log = self.query_one("#log", LogView)
        self._incoming.clear()
        self._not_drawn = 0
        log.rebuild(self.store.lines(log.filter.services, limit=self.view_lines))
        self._render_log_status()

    def _set_filter(self, flt: LogFilter) -> None:
        self.query_one("#log", LogView).set_filter(flt)
        self._rebuild_logs()

    def action_filter(self) -> None:
        self.query_one(TabbedContent).active = "logs"
        box = self.query_one("#filter-input", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#filter-input")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        log = self.query_one("#log", LogView)
        self._set_filter(parse_filter(event.value, replace(log.filter, pattern="")))
        event.input.display = False
        self.query_one("#log", LogView).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self.back
        return True

    def action_back(self) -> None:
        if self.back:
            self.app.pop_screen()  # on_unmount stops the live source

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter-input", Input)
        if self.back and not box.display and self.query_one("#log", LogView).filter == LogFilter():
            self.action_back()
            return
        box.value = ""
        box.display = False
        self._set_filter(LogFilter())

    def action_cycle_level(self) -> None:
        log = self.query_one("#log", LogView)
        order = ("", "info", "warn", "error")
        nxt = order[(order.index(log.filter.min_level) + 1) % len(order)]
        self._set_filter(replace(log.filter, min_level=nxt))

    def action_single_service(self) -> None:
        log = self.query_one("#log", LogView)
        svc = self.selected_service()
        if log.filter.services is not None or svc is None:
            self._set_filter(replace(log.filter, services=None))
        else:
            self._set_filter(replace(log.filter, services=frozenset({svc})))

    def action_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self._rebuild_logs()
        self._render_log_status()

    def action_follow(self) -> None:
        log = self.query_one("#log", LogView)
        log.auto_scroll = not log.auto_scroll
        if log.auto_scroll:
            log.scroll_end(animate=False)
        self._render_log_status()

    def action_timestamps(self) -> None:
        log = self.query_one("#log", LogView)
        log.show_timestamps = not log.show_timestamps
        self._rebuild_logs()

    def action_next_error(self) -> None:
        log = self.query_one("#log", LogView)
        self.query_one(TabbedContent).active = "logs"
        idx = log.next_error(int(log.scroll_offset.y) if not log.auto_scroll else -1)
        if idx is None:
            self.notify("no error lines in view", timeout=2)
            return
        log.auto_scroll = False
        log.scroll_to(y=idx, animate=False)
        self._render_log_status()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
