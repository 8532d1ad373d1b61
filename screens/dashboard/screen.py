"""The live stack-health dashboard: services, health, multiplexed logs, events, actions.

`DashboardScreen` gets its data source in the constructor (a `toolbox_tui.live.stack.LiveStack`,
or None for a face driven only by messages). The source's threads never touch widgets: they
post the messages below, and tests drive the screen by posting the very same messages.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from collections import deque
from dataclasses import replace
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, RichLog, Static, TabbedContent, TabPane

from toolbox_tui.live.http_probe import HttpHealth
from toolbox_tui.live.logs import LEVELS, LogBatch, LogStore
from toolbox_tui.sanitize import strip_all
from toolbox_tui.engine.containers import ServiceState
from toolbox_tui.live.events import EngineStatus, StackEvent, format_uptime
from toolbox_tui.live.stats import ServiceStats, format_bytes, sparkline
from toolbox_tui.screens.dialogs import ConfirmDialog
from toolbox_tui.screens.stylesheets import load_css
from toolbox_tui.screens.terminal import route_signals
from toolbox_tui.errors import EXIT_INTERRUPTED
from toolbox_tui.screens.dashboard.log_view import LogFilter, LogView, parse_filter


# --- messages posted by the data source's threads (and by tests) ---------------------------

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


COLUMNS = (("service", "Service", None), ("state", "State", 10), ("health", "Health", 12),
           ("restarts", "↻", 2), ("uptime", "Up", 6), ("cpu", "CPU%", 5), ("mem", "Mem", 8),
           ("spark", "CPU hist", 8), ("ports", "Ports", 24))
"""Services table columns (key, label, fixed width or None for auto): fits 80 columns."""

STATE_STYLES = {"running": "green", "exited": "red", "dead": "bold red", "restarting": "yellow",
                "paused": "yellow", "created": "dim", "missing": "dim"}
HEALTH_STYLES = {"healthy": "green", "unhealthy": "bold red", "starting": "yellow"}
EVENT_STYLES = {"die": "red", "oom": "bold red", "kill": "red", "health:unhealthy": "bold red",
                "health:healthy": "green", "start": "green", "restart": "yellow", "stop": "yellow"}

RENDER_HZ = 15
"""Log view refreshes per second while lines arrive (the timer is paused when none do)."""

STATS_FLUSH_DELAY = 2.0
"""A significant stats change (see `STATS_SIGNIFICANT_*`) reaches the table within this many
seconds: every DataTable update re-renders the whole table, so one update for all services, not
one per sample."""

STATS_QUIET_DELAY = 10.0
"""Changes below the thresholds (an idle container's CPU wobbling between 1 and 2 %, its memory
by a few KiB as health probes run) wait up to this long, so an idle stack costs next to no CPU."""

STATS_SIGNIFICANT_CPU = 5.0
"""CPU percentage points that count as a significant change, unless old and new value are both
below `STATS_IDLE_CPU` (a health probe makes an idle container blip to a few percent)."""

STATS_IDLE_CPU = 10.0

STATS_SIGNIFICANT_MEM = 0.10
"""Relative memory change that counts as significant, if also more than `STATS_MIN_MEM_DELTA`."""

STATS_MIN_MEM_DELTA = 4 << 20


class DashboardScreen(Screen):
    """Services, health, logs and events of one Compose project."""

    CSS = load_css("dashboard.tcss")
    BINDINGS = [
        Binding("r", "restart", "Restart", id="dashboard.restart"),
        Binding("s", "stop_service", "Stop", id="dashboard.stop"),
        Binding("S", "start_service", "Start", id="dashboard.start"),
        Binding("U", "stack_up", "Up", id="dashboard.up", show=False),
        Binding("D", "stack_down", "Down", id="dashboard.down", show=False),
        Binding("slash", "filter", "Filter", id="dashboard.filter"),
        Binding("l", "cycle_level", "Level", id="dashboard.level"),
        Binding("v", "single_service", "One svc", id="dashboard.single"),
        Binding("p", "pause", "Pause", id="dashboard.pause"),
        Binding("f", "follow", "Follow", id="dashboard.follow", show=False),
        Binding("t", "timestamps", "Times", id="dashboard.timestamps", show=False),
        Binding("n", "next_error", "Next err", id="dashboard.next_error"),
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
        self.stats: dict[str, ServiceStats] = {}
        """Latest stats per service."""
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
        self._cells: dict[tuple[str, str], Any] = {}
        self._stats_dirty: set[str] = set()
        self._stats_shown: dict[str, ServiceStats] = {}
        self._stats_urgent = False
        self._stats_flushed_at = 0.0
        self._drain_timer: Any = None
        self._events: deque[StackEvent] = deque(maxlen=500)
        self.http: dict[str, HttpHealth] = {}
        """Latest HTTP endpoint probes per service (only the selected one is probed)."""

    # --- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        table: DataTable = DataTable(id="services", cursor_type="row", zebra_stripes=False)
        yield table
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
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#services", DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        for svc in self.declared:
            self._ensure_row(svc)
        self.query_one("#filter-input", Input).display = False
        self._render_status()
        self._render_log_status()
        self._drain_timer = self.set_interval(1 / RENDER_HZ, self._drain_logs, name="logs-render",
                                              pause=True)
        self._stats_flushed_at = time.monotonic()
        self.set_interval(STATS_FLUSH_DELAY, self._tick_table, name="table-tick")
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

    def _ensure_row(self, service: str) -> DataTable:
        table = self.query_one("#services", DataTable)
        if service not in table.rows:
            table.add_row(Text(service), Text("missing", "dim"), Text(""), "0", "-", "", "", "",
                          Text(""), key=service)
        return table

    def selected_service(self) -> str | None:
        table = self.query_one("#services", DataTable)
        if not table.row_count:
            return None
        row = min(max(table.cursor_row, 0), table.row_count - 1)
        return str(table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value)

    def on_state_update(self, message: StateUpdate) -> None:
        st = message.state
        old = self.states.get(st.service)
        self.states[st.service] = st
        with self.app.batch_update():
            table = self._ensure_row(st.service)
            cells = {
                "state": Text("OOM-killed", "bold red") if st.oom_killed and st.state != "running"
                else Text(st.state, STATE_STYLES.get(st.state, "")),
                "health": Text(st.health + (f" ×{st.failing_streak}" if st.failing_streak else ""),
                               HEALTH_STYLES.get(st.health, "")),
                "restarts": str(st.restarts),
                "uptime": self._uptime(st),
                "ports": Text(", ".join(st.ports)),
            }
            for key, value in cells.items():
                self._set_cell(st.service, key, value)
            if st.state != "running":
                for key in ("cpu", "mem"):
                    self._set_cell(st.service, key, "")
        if st.service == self.selected_service() and (old is None or old.health_log != st.health_log
                                                      or old != st):
            self._render_health()
        self._render_status()

    def on_stats_update(self, message: StatsUpdate) -> None:
        # Samples arrive once a second per container; coalesce them into one table update.
        s = message.stats
        self.stats[s.service] = s
        self._stats_dirty.add(s.service)
        if self._stats_significant(self._stats_shown.get(s.service), s):
            self._stats_urgent = True

    @staticmethod
    def _stats_significant(shown: ServiceStats | None, new: ServiceStats) -> bool:
        """Whether `new` should reach the table within STATS_FLUSH_DELAY (else STATS_QUIET_DELAY)."""
        if shown is None:
            return True
        cpu_delta = abs(new.cpu_percent - shown.cpu_percent)
        if cpu_delta >= STATS_SIGNIFICANT_CPU and max(new.cpu_percent, shown.cpu_percent) >= STATS_IDLE_CPU:
            return True
        mem_delta = abs(new.mem_bytes - shown.mem_bytes)
        return mem_delta > STATS_MIN_MEM_DELTA and mem_delta > STATS_SIGNIFICANT_MEM * shown.mem_bytes

    def _flush_stats(self) -> None:
        """Show the samples gathered since the last tick (called inside a batch update)."""
        for svc in sorted(self._stats_dirty):
            s = self._stats_shown[svc] = self.stats[svc]
            self._ensure_row(svc)
            self._set_cell(svc, "cpu", f"{s.cpu_percent:4.0f}")
            self._set_cell(svc, "mem", format_bytes(s.mem_bytes))
            self._set_cell(svc, "spark", Text(sparkline(s.history, 8, top=100.0), "cyan"))
        self._stats_dirty.clear()
        self._stats_urgent = False
        self._stats_flushed_at = time.monotonic()

    def _set_cell(self, service: str, column: str, value: Any) -> None:
        """`update_cell` only when the cell shows something new (each update repaints)."""
        key = (service, column)
        if self._cells.get(key) == value:
            return
        self._cells[key] = value
        self.query_one("#services", DataTable).update_cell(service, column, value)

    def _tick_table(self) -> None:
        """Every STATS_FLUSH_DELAY: significant new stats, else (every STATS_QUIET_DELAY) small
        ones, and uptimes, in one update (each update re-renders the whole table)."""
        table = self.query_one("#services", DataTable)
        now = self.clock()
        with self.app.batch_update():
            if self._stats_dirty and (self._stats_urgent or time.monotonic() - self._stats_flushed_at
                                      >= STATS_QUIET_DELAY - 0.1):
                self._flush_stats()
            for svc, st in self.states.items():
                if st.state == "running" and svc in table.rows:
                    self._set_cell(svc, "uptime", self._uptime(st, now))

    def _uptime(self, st: ServiceState, now: float | None = None) -> str:
        """The uptime cell: `…` while the start time is not known (only the list answered)."""
        if not st.details and st.state == "running":
            return "…"
        return format_uptime(st.uptime(self.clock() if now is None else now))

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
        view = self.query_one("#health-view", Static)
        st = self.states.get(svc or "")
        if st is None:
            view.update(Text(f" {svc or 'no service'}: no container yet"))
            return
        head = Text(f" {st.service}", "bold")
        head.append(f"  container {st.container_name or '-'}  image {st.image or '-'}")
        if st.ports:
            head.append(f"\n ports {', '.join(st.ports)}")
        if st.exit_code is not None and st.state != "running":
            head.append(f"  exit code {st.exit_code}", "red" if st.exit_code else "")
        if not st.details:
            head.append("\n details pending: the engine has not answered `docker inspect` for this "
                        "container (a health-check exec that hangs holds its lock); state and "
                        "health are from the container list", "yellow")
        http = self._http_lines(st.service)
        if not st.health and not st.health_log:
            head.append("\n no health check defined for this service", "dim")
            view.update(head)
            return
        table = Table(box=None, expand=True, pad_edge=False, show_edge=False)
        table.add_column("time", no_wrap=True, width=12)
        table.add_column("exit", width=4, justify="right")
        table.add_column("output", overflow="fold")
        for probe in reversed(st.health_log):
            style = "green" if probe.exit_code == 0 else "red"
            table.add_row(Text(probe.start[11:23]), Text(str(probe.exit_code), style),
                          Text(probe.output))
        from rich.console import Group

        view.update(Group(head, Text(f" health {st.health}  failing streak {st.failing_streak}",
                                     HEALTH_STYLES.get(st.health, "")), *http, table))

    def _http_lines(self, service: str) -> list[Text]:
        h = self.http.get(service)
        if h is None or not h.probes:
            return []
        last = h.probes[-1]
        # the URL comes from the container's health-check command: free text like any label
        t = Text(f" http {strip_all(h.url, max_len=200)}  ")
        if last.status is not None:
            t.append(f"status {last.status}", "green" if last.ok else "bold red")
        else:
            t.append(f"error {last.error}", "bold red")
        t.append(f"  latency {last.latency_ms:.0f} ms")
        ok = sum(1 for p in h.probes if p.ok)
        spark = Text(f" latency {sparkline([p.latency_ms for p in h.probes], width=30)}", "cyan")
        spark.append(f"  {ok}/{len(h.probes)} ok", "dim")
        return [t, spark]

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

    # --- actions -----------------------------------------------------------------------------

    def _confirm_then(self, question: str, method: str, *args: str) -> None:
        if self.source is None:
            self.notify("not connected to a live stack", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                # never markup: the question holds service names from the engine ([/x] would
                # crash the toast, [@click=...] would become a live action)
                self.notify(f"{question.rstrip('?')}…", timeout=2, markup=False)
                self.run_worker(lambda: self._run_action(method, *args), thread=True,
                                group="actions", exclusive=False)

        self.app.push_screen(ConfirmDialog("Confirm", question), answered)

    def _run_action(self, method: str, *args: str) -> None:
        from toolbox_tui.live.stack import ActionError

        try:
            msg = getattr(self.source, method)(*args)
            self.post_message(ActionDone(msg))
        except ActionError as exc:
            self.post_message(ActionDone(str(exc), error=True))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(strip_all(message.message, max_len=1000), markup=False,
                    severity="error" if message.error else "information",
                    timeout=6 if message.error else 3)

    def _service_action(self, verb: str, method: str) -> None:
        svc = self.selected_service()
        if svc is None:
            self.notify("no service selected", severity="warning")
            return
        self._confirm_then(f"{verb} service {svc} of {self.project}?", method, svc)

    def action_restart(self) -> None:
        self._service_action("Restart", "restart")

    def action_stop_service(self) -> None:
        self._service_action("Stop", "stop_service")

    def action_start_service(self) -> None:
        self._service_action("Start", "start_service")

    def action_stack_up(self) -> None:
        self._confirm_then(f"Bring the whole stack {self.project} up?", "up")

    def action_stack_down(self) -> None:
        self._confirm_then(f"Take the whole stack {self.project} down (containers removed)?", "down")


class DashboardApp(App):
    """`toolbox-tui dashboard`: the dashboard screen on its own."""

    CSS = load_css("common.tcss")
    TITLE = "toolbox-tui dashboard"
    BINDINGS = [Binding("q", "quit", "Quit", id="app.quit"),
                Binding("ctrl+c", "interrupt", "Interrupt", id="app.interrupt", priority=True,
                        show=False)]
    """q quits (ctrl+q too, Textual's default); ctrl+c quits like a signal (exit 130); ctrl+p opens
    the command palette."""

    HANGUP_GRACE = 5.0
    """Seconds Textual may take to shut down after SIGHUP before the process leaves without it
    (with the terminal gone its writer thread can die and its shutdown block for good)."""

    def __init__(self, project: str, source: Any = None, *, services: tuple[str, ...] = (),
                 ring_size: int = 5000, clock=time.time, handle_signals: bool = False) -> None:
        super().__init__()
        self.handle_signals = handle_signals
        """Route SIGINT/SIGTERM/SIGHUP through the event loop (the installed command; not tests)."""
        self.clock = clock
        """Wall clock handed to the screen."""
        self.project = project
        """Compose project name."""
        self.source = source
        """Data source handed to the screen (None: driven by messages only)."""
        self.services = services
        self.ring_size = ring_size
        self.dashboard: DashboardScreen | None = None
        """The screen, once pushed."""

    def _on_signal(self, sig: int) -> None:
        if sig == signal.SIGHUP:
            # The dashboard only reads, so leaving without Textual's shutdown loses nothing.
            timer = threading.Timer(self.HANGUP_GRACE, os._exit, args=(EXIT_INTERRUPTED,))
            timer.daemon = True
            timer.start()
        self.action_interrupt()

    def action_interrupt(self) -> None:
        self.exit(EXIT_INTERRUPTED)

    def on_mount(self) -> None:
        if self.handle_signals:
            route_signals(self._on_signal)  # Ctrl-C, SIGTERM, SIGHUP (the SSH session dropped): exit 130
        self.dashboard = DashboardScreen(self.project, self.source, services=self.services,
                                         ring_size=self.ring_size, clock=self.clock)
        self.push_screen(self.dashboard)
        # Everything built so far (Textual, widgets, imports: ~50k objects) lives as long as the
        # app: take it out of the garbage collector's full collections, which otherwise walk it
        # every few seconds during a log flood (pauses of 30-100 ms on the 2-core VM).
        self.call_after_refresh(gc.freeze)

    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)
        if isinstance(screen, DashboardScreen):
            for b in DashboardScreen.BINDINGS:
                action = b.action
                yield SystemCommand(f"{b.description} ({b.key})", f"dashboard: {action}",
                                    lambda a=action: screen.run_action(a))
