"""The multiplexed log view: filters, colours per service, only the visible rows rendered.

Lines arrive already sanitized (`toolbox_tui.live.logs`). `LogView` keeps the newest
`max_lines` of them as data (a deque of `LogLine`) and turns a line into `rich.text.Text` (SGR
colours via `Text.from_ansi`, never markup) only when it is on screen (`render_line`, the Line
API, like toolong's log view). Adding 20k lines a second is then a deque extend plus one
refresh, not 20k renders; the full bounded history stays in the `LogStore` and is re-shown when
a filter changes.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, replace
from typing import Iterable

from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from toolbox_tui.live.log_lines import LEVELS, LineRing, LogLine

SERVICE_COLOURS = ("cyan", "magenta", "green", "yellow", "bright_blue", "bright_red",
                   "bright_cyan", "bright_magenta", "bright_green", "bright_yellow", "blue", "red")
"""Colour per service, by order of first appearance."""

LEVEL_STYLES = {"error": "bold red", "warn": "yellow"}

ROW_CACHE = 160
"""Rendered rows kept (a few screens' worth): each is a `Strip` of segments plus Textual's
per-strip caches, a dozen objects the garbage collector walks; the visible ones are enough."""


@dataclass(frozen=True)
class LogFilter:
    """What the log view shows."""

    services: frozenset[str] | None = None
    """Only these services; None: all."""
    min_level: str = ""
    """Hide lines below this level (`warn` shows warn and error); `""`: everything."""
    pattern: str = ""
    """Regular expression (case-insensitive) lines must match; matches are highlighted."""

    def compiled(self) -> re.Pattern[str] | None:
        if not self.pattern:
            return None
        try:
            return re.compile(self.pattern, re.IGNORECASE)
        except re.error:
            return re.compile(re.escape(self.pattern), re.IGNORECASE)

    def describe(self) -> str:
        parts = []
        if self.services is not None:
            parts.append("service=" + ",".join(sorted(self.services)))
        if self.min_level:
            parts.append(f"level>={self.min_level}")
        if self.pattern:
            parts.append(f"/{self.pattern}/")
        return " ".join(parts) or "all"


_TOKEN = re.compile(r'(?:[^\s"]+|"[^"]*"?)+')
"""A word, where a double-quoted part may hold spaces: `service:"svc-twin ~db144d"`."""


def parse_filter(text: str, base: LogFilter) -> LogFilter:
    """`service:web level:warn some regex` → a filter; bare words form the regex. A service name
    with spaces (a cleaned label shows a digest suffix: `svc ~db144d`) is written in quotes."""
    services: set[str] = set()
    level = ""
    rest = []
    for tok in _TOKEN.findall(text):
        low = tok.lower()
        if low.startswith(("service:", "svc:", "s:")):
            value = tok.split(":", 1)[1].replace('"', "")
            services.update(x for x in value.split(",") if x)
        elif low.startswith(("level:", "l:")):
            v = low.split(":", 1)[1]
            level = {"warning": "warn", "err": "error"}.get(v, v)
            if level not in LEVELS:
                level = ""
        else:
            rest.append(tok)
    return replace(base, services=frozenset(services) if services else base.services,
                   min_level=level or base.min_level, pattern=" ".join(rest))


class LogView(ScrollView, can_focus=True):
    """The newest `max_lines` `LogLine`s; renders only the rows on screen (jump-to-error too).
    Text can be selected with the mouse (`get_selection`: our plain, sanitized rows)."""

    ALLOW_SELECT = True

    DEFAULT_CSS = """
    LogView {
        background: $surface;
        color: $foreground;
        overflow-y: scroll;
        overflow-x: auto;
    }
    """

    def __init__(self, *, max_lines: int = 5000, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        """Most rows held (older ones fall off the top)."""
        self.shown: LineRing = LineRing(maxlen=max_lines)
        """The rows, in order (one each: no wrapping). A note of ours has `service == ""`.
        Held as plain tuples: invisible to the garbage collector (see `LineRing`)."""
        self.auto_scroll = True
        """Follow the end as lines arrive."""
        self.colours: dict[str, str] = {}
        """Service → colour, assigned on first sight."""
        self.show_timestamps = False
        """Prefix each line with its time of day (UTC)."""
        self.name_width = 8
        """Width of the service-name column."""
        self.filter = LogFilter()
        """The filter in force."""
        self._pattern: re.Pattern[str] | None = None
        self._level_rank = {lv: i for i, lv in enumerate(LEVELS)}
        self._serials: deque[int] = deque(maxlen=max_lines)
        self._next_serial = 0
        self._widest = 0
        self._generation = 0
        self._cache: LRUCache[tuple, Strip] = LRUCache(ROW_CACHE)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def colour_for(self, service: str) -> str:
        colour = self.colours.get(service)
        if colour is None:
            colour = self.colours[service] = SERVICE_COLOURS[len(self.colours) % len(SERVICE_COLOURS)]
            self.name_width = min(16, max(self.name_width, len(service)))
        return colour

    def set_filter(self, flt: LogFilter) -> None:
        self.filter = flt
        self._pattern = flt.compiled()
        self._generation += 1

    def matches(self, line: LogLine) -> bool:
        flt = self.filter
        if flt.services is not None and line.service not in flt.services:
            return False
        if flt.min_level and self._level_rank.get(line.level, -1) < self._level_rank[flt.min_level]:
            return False
        if self._pattern is not None and not self._pattern.search(line.text):
            return False
        return True

    def to_text(self, line: LogLine) -> Text:
        """One display row; untrusted text goes in as `Text`, never as markup."""
        colour = self.colour_for(line.service)
        out = Text(no_wrap=True, overflow="ignore")
        if self.show_timestamps:
            out.append((line.ts[11:23] if len(line.ts) >= 23 else line.ts.ljust(12)) + " ", "dim")
        out.append(line.service[: self.name_width].ljust(self.name_width), colour)
        out.append(" │ ", colour)
        body = Text.from_ansi(line.text, no_wrap=True) if "\x1b" in line.text else Text(line.text)
        style = LEVEL_STYLES.get(line.level)
        if style and "\x1b" not in line.text:
            body.stylize(style)
        if self._pattern is not None:
            body.highlight_regex(self._pattern, style="reverse")
        out.append_text(body)
        return out

    def add(self, lines: Iterable[LogLine]) -> int:
        """Append the lines that pass the filter. Nothing is rendered here: only the rows that
        end up on screen are, at the next refresh. Returns how many were added."""
        flt = self.filter
        if flt.services is None and not flt.min_level and self._pattern is None:
            keep = lines if isinstance(lines, (list, tuple)) else list(lines)
        else:
            keep = [ln for ln in lines if self.matches(ln)]
        if not keep:
            return 0
        if len(keep) > self.max_lines:  # only the newest can stay anyway
            keep = keep[-self.max_lines:]
        colours = self.colours
        for svc in dict.fromkeys(ln.service for ln in keep):  # colours by order of first sight
            if svc not in colours:
                self.colour_for(svc)
        self._widest = max(self._widest, max(len(ln.text) for ln in keep))
        self._append(keep)
        return len(keep)

    def add_note(self, text: str) -> None:
        """A dim line of our own (not a log line), e.g. a gap in the stream."""
        self._append([LogLine("", "", "", 0, text, "", 0)])

    def _append(self, rows: list[LogLine]) -> None:
        dropped = max(0, len(self.shown) + len(rows) - self.max_lines)
        first = self._next_serial
        self._next_serial += len(rows)
        self.shown.extend(rows)
        self._serials.extend(range(first, self._next_serial))
        self._resize()
        if self.auto_scroll:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        elif dropped:  # keep the rows the reader looks at in place
            self.scroll_to(y=max(0, self.scroll_offset.y - dropped), animate=False,
                           immediate=True)
        self.refresh()

    def _resize(self) -> None:
        prefix = self.name_width + 3 + (13 if self.show_timestamps else 0)
        size = Size(prefix + self._widest, len(self.shown))
        if size != self.virtual_size:
            self.virtual_size = size
        if self.auto_scroll:
            # max_scroll_y follows the new virtual size now, not at the next layout
            self.scroll_target_y = self.max_scroll_y

    def clear(self) -> None:
        self.shown.clear()
        self._serials.clear()
        self._widest = 0
        self._generation += 1
        self._cache.clear()
        self.virtual_size = Size(0, 0)
        self.refresh()

    def rebuild(self, lines: Iterable[LogLine]) -> None:
        """Replace the content (after a filter or timestamp change)."""
        self.clear()
        self.add(lines)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        idx = scroll_y + y
        style = self.rich_style
        if idx >= len(self.shown):
            return Strip.blank(width, style)
        key = (self._serials[idx], scroll_x, width, self._generation, self.show_timestamps,
               self.name_width)
        selection = self.text_selection
        strip = self._cache.get(key) if selection is None else None
        if strip is None:
            span = selection.get_span(idx) if selection is not None else None
            strip = self._row_strip(self.shown[idx], span).crop_extend(scroll_x, scroll_x + width,
                                                                       style)
            strip = strip.apply_offsets(scroll_x, idx)  # maps the mouse to (column, row)
            if selection is None:
                self._cache[key] = strip
        return strip.apply_style(style)

    def _row_strip(self, line: LogLine, span: tuple[int, int] | None = None) -> Strip:
        text = self._row_text(line)
        if "\t" in text.plain:
            text.expand_tabs()
        if span is not None:
            start, end = span
            text.stylize(self.screen.get_component_rich_style("screen--selection"), start,
                         len(text) if end == -1 else end)
        return Strip(list(text.render(self.app.console, end="")))

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text: our rows as plain text (sanitized; no colour sequences)."""
        return selection.extract("\n".join(self.plain_lines())), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()

    def visible_lines(self) -> list[str]:
        """The rows on screen now, as plain text."""
        top = int(self.scroll_offset.y)
        return self.plain_lines(top, top + self.scrollable_content_region.height)

    def _row_text(self, line: LogLine) -> Text:
        if not line.service:
            return Text(line.text, style="dim italic", no_wrap=True, overflow="ignore")
        return self.to_text(line)

    def plain_lines(self, start: int = 0, stop: int | None = None) -> list[str]:
        """What the widget holds (rows `start` to `stop`), as plain text, one entry per row
        (tests, selection and copy)."""
        shown = self.shown
        out = []
        for i in range(start, len(shown) if stop is None else min(stop, len(shown))):
            text = self._row_text(shown[i])
            if "\t" in text.plain:
                text.expand_tabs()
            out.append(text.plain)
        return out

    def next_error(self, after: int) -> int | None:
        """Index of the first error line below row `after`, wrapping around; None if none."""
        shown = self.shown
        n = len(shown)
        for k in range(1, n + 1):
            i = (after + k) % n
            if shown[i].level == "error":
                return i
        return None
