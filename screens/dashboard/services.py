"""The services table of the dashboard: one row per service (state, health, restarts, uptime,
CPU, memory, ports), updated cell by cell and only where a value changed (each update repaints
the whole table), with stats coalesced so an idle stack costs next to no CPU."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from toolbox_tui.engine.containers import ServiceState
from toolbox_tui.live.events import format_uptime
from toolbox_tui.live.stats import ServiceStats, format_bytes, sparkline

PORTS_WIDTH = 24
"""Cells of the Ports column at least; on a wider table it gets what the other columns leave
(`ServicesTable.fit_columns`). Below ~100 columns the table is wider than the screen and
scrolls sideways, as it always did; the cells are fitted either way."""

COLUMNS = (("service", "Service", None), ("state", "State", 10), ("health", "Health", None),
           ("restarts", "↻", None), ("uptime", "Up", 6), ("cpu", "CPU%", 5), ("mem", "Mem", 8),
           ("spark", "CPU hist", 8), ("ports", "Ports", PORTS_WIDTH))
"""Services table columns (key, label, fixed width or None for auto). A fixed width only where
the cell never holds more (State: `OOM-killed`, `restarting`; the formatted uptime, CPU, memory,
sparkline) or where the cell is fitted to it (Ports, `fit_ports`): a number or an address is
never cut silently (`unhealthy ×146` was shown as `unhealthy ×1` in 12 columns)."""


def fit_ports(ports: tuple[str, ...], width: int = 0) -> Text:
    """The published ports as whole entries within `width` cells (`/tcp`, the default, left
    out), then `+N` for those that do not fit; a first entry longer than `width` ends in a
    visible `…`. The inspect view shows them all."""
    width = width or PORTS_WIDTH
    shown = [p[:-4] if p.endswith("/tcp") else p for p in ports]
    for n in range(len(shown), 0, -1):
        text = ", ".join(shown[:n]) + (f" +{len(shown) - n}" if n < len(shown) else "")
        if len(text) <= width:
            return Text(text)
    rest = f" +{len(shown) - 1}" if len(shown) > 1 else ""
    return Text(shown[0][: width - len(rest) - 1] + "…" + rest) if shown else Text("")


AUTO_WIDTH = frozenset(key for key, _label, width in COLUMNS if width is None)


def _cell_len(value: Any) -> int:
    return value.cell_len if isinstance(value, Text) else len(str(value))


STATE_STYLES = {"running": "green", "exited": "red", "dead": "bold red", "restarting": "yellow",
                "paused": "yellow", "created": "dim", "missing": "dim"}
HEALTH_STYLES = {"healthy": "green", "unhealthy": "bold red", "starting": "yellow"}

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


class ServicesTable(DataTable):
    """The services table (`#services`). Rows are keyed by the service's shown name."""

    def __init__(self, clock: Callable[[], float] = time.time, **kw: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kw)
        self.clock = clock
        """Wall clock for uptimes (tests pin it)."""
        self.stats: dict[str, ServiceStats] = {}
        """Latest stats per service."""
        self._cells: dict[tuple[str, str], Any] = {}
        self._stats_dirty: set[str] = set()
        self._stats_shown: dict[str, ServiceStats] = {}
        self._stats_urgent = False
        self._stats_flushed_at = 0.0
        self._ports: dict[str, tuple[str, ...]] = {}
        self.ports_width = PORTS_WIDTH
        """Cells the Ports column has now."""

    def setup(self, declared: tuple[str, ...]) -> None:
        """The columns, and a row for each declared service (shown before it has a container)."""
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)
        for svc in declared:
            self.ensure_row(svc)
        self._stats_flushed_at = time.monotonic()

    def ensure_row(self, service: str) -> None:
        if service not in self.rows:
            self.add_row(Text(service), Text("missing", "dim"), Text(""), "0", "-", "", "", "",
                         Text(""), key=service)

    def selected(self) -> str | None:
        """The service under the cursor (None without rows)."""
        if not self.row_count:
            return None
        row = min(max(self.cursor_row, 0), self.row_count - 1)
        return str(self.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value)

    def show_state(self, st: ServiceState) -> None:
        """The row of `st.service` as `st` says (call inside a batch update)."""
        self.ensure_row(st.service)
        cells = {
            "state": Text("OOM-killed", "bold red") if st.oom_killed and st.state != "running"
            else Text(st.state, STATE_STYLES.get(st.state, "")),
            "health": Text(st.health + (f" ×{st.failing_streak}" if st.failing_streak else ""),
                           HEALTH_STYLES.get(st.health, "")),
            "restarts": str(st.restarts),
            "uptime": self.uptime(st),
        }
        self._ports[st.service] = st.ports
        for key, value in cells.items():
            self.set_cell(st.service, key, value)
        # last, once: the cells above (and a new row) may have widened a column, and so
        # narrowed Ports
        self.fit_columns()
        self.set_cell(st.service, "ports", fit_ports(st.ports, self.ports_width))
        if st.state != "running":
            for key in ("cpu", "mem"):
                self.set_cell(st.service, key, "")

    def add_stats(self, s: ServiceStats) -> None:
        """A new sample: shown at the next tick (soon when it is a significant change)."""
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
            self.ensure_row(svc)
            self.set_cell(svc, "cpu", f"{s.cpu_percent:4.0f}")
            self.set_cell(svc, "mem", format_bytes(s.mem_bytes))
            self.set_cell(svc, "spark", Text(sparkline(s.history, 8, top=100.0), "cyan"))
        self._stats_dirty.clear()
        self._stats_urgent = False
        self._stats_flushed_at = time.monotonic()

    def set_cell(self, service: str, column: str, value: Any) -> None:
        """`update_cell` only when the cell shows something new (each update repaints)."""
        key = (service, column)
        if self._cells.get(key) == value:
            return
        self._cells[key] = value
        self.update_cell(service, column, value, update_width=column in AUTO_WIDTH)

    def on_resize(self) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        """Give Ports what the other columns leave of the table's width, and fit each row's
        ports to it (whole entries, then `+N`)."""
        if not self.size.width or not self.columns:
            return
        pad = 2 * self.cell_padding
        used = 0
        for key, label, width in COLUMNS:
            if key == "ports":
                continue
            if width is None:
                width = max([len(label)] + [_cell_len(v) for (_svc, col), v in self._cells.items()
                                            if col == key] + ([max(map(len, self.rows_names()))]
                                                              if key == "service" else []))
            used += width + pad
        width = max(PORTS_WIDTH, self.scrollable_content_region.width - used - pad)
        if width == self.ports_width:
            return
        self.ports_width = width
        self.columns["ports"].width = width  # type: ignore[index]
        for svc, ports in self._ports.items():
            self.set_cell(svc, "ports", fit_ports(ports, width))
        self._require_update_dimensions = True
        self.refresh()

    def rows_names(self) -> list[str]:
        return [str(k.value) for k in self.rows] or [""]

    def tick(self, states: Mapping[str, ServiceState]) -> None:
        """Every STATS_FLUSH_DELAY: significant new stats, else (every STATS_QUIET_DELAY) small
        ones, and uptimes, in one update (each update re-renders the whole table)."""
        now = self.clock()
        with self.app.batch_update():
            if self._stats_dirty and (self._stats_urgent or time.monotonic() - self._stats_flushed_at
                                      >= STATS_QUIET_DELAY - 0.1):
                self._flush_stats()
            for svc, st in states.items():
                if st.state == "running" and svc in self.rows:
                    self.set_cell(svc, "uptime", self.uptime(st, now))

    def uptime(self, st: ServiceState, now: float | None = None) -> str:
        """The uptime cell: `…` while the start time is not known (only the list answered)."""
        if not st.details and st.state == "running":
            return "…"
        return format_uptime(st.uptime(self.clock() if now is None else now))
