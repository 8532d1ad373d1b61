"""The multiplexed log view: filters, colours per service, batched writes into a `RichLog`.

Lines arrive already sanitized (`toolbox_tui.log_pipeline`). They are turned into
`rich.text.Text` (SGR colours via `Text.from_ansi`, never markup) and written a batch at a time
from a timer, so a flood costs one `RichLog.write` per tick, not one per line. Only the newest
`max_lines` are ever rendered; the full bounded history stays in the `LogStore` and is re-rendered
when a filter changes.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, replace
from typing import Iterable

from rich.text import Text
from textual.widgets import RichLog

from toolbox_tui.log_pipeline import LEVELS, LogLine

SERVICE_COLOURS = ("cyan", "magenta", "green", "yellow", "bright_blue", "bright_red",
                   "bright_cyan", "bright_magenta", "bright_green", "bright_yellow", "blue", "red")
"""Colour per service, by order of first appearance."""

LEVEL_STYLES = {"error": "bold red", "warn": "yellow"}


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


def parse_filter(text: str, base: LogFilter) -> LogFilter:
    """`service:web level:warn some regex` → a filter; bare words form the regex."""
    services: set[str] = set()
    level = ""
    rest = []
    for tok in text.split():
        low = tok.lower()
        if low.startswith(("service:", "svc:", "s:")):
            services.update(x for x in tok.split(":", 1)[1].split(",") if x)
        elif low.startswith(("level:", "l:")):
            v = low.split(":", 1)[1]
            level = {"warning": "warn", "err": "error"}.get(v, v)
            if level not in LEVELS:
                level = ""
        else:
            rest.append(tok)
    return replace(base, services=frozenset(services) if services else base.services,
                   min_level=level or base.min_level, pattern=" ".join(rest))


class LogView(RichLog):
    """A `RichLog` of `LogLine`s that remembers which line is which (for jump-to-error)."""

    def __init__(self, *, max_lines: int = 5000, id: str | None = None) -> None:
        super().__init__(max_lines=max_lines, wrap=False, markup=False, highlight=False,
                         auto_scroll=True, id=id)
        self.shown: deque[LogLine] = deque(maxlen=max_lines)
        """The lines in the widget, in order (one rendered row each: no wrapping)."""
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

    def colour_for(self, service: str) -> str:
        colour = self.colours.get(service)
        if colour is None:
            colour = self.colours[service] = SERVICE_COLOURS[len(self.colours) % len(SERVICE_COLOURS)]
            self.name_width = min(16, max(self.name_width, len(service)))
        return colour

    def set_filter(self, flt: LogFilter) -> None:
        self.filter = flt
        self._pattern = flt.compiled()

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
        """Write the lines that pass the filter, as one batch. Returns how many were written."""
        keep = [ln for ln in lines if self.matches(ln)]
        if not keep:
            return 0
        if len(keep) > self.shown.maxlen:  # only the newest can stay visible anyway
            keep = keep[-self.shown.maxlen:]
        self.shown.extend(keep)
        self.write(Text("\n").join(self.to_text(ln) for ln in keep))
        return len(keep)

    def add_note(self, text: str) -> None:
        """A dim line of our own (not a log line): kept in step with `shown` as a blank entry."""
        self.shown.append(LogLine("", "", "", 0, "", "", 0))
        self.write(Text(text, style="dim italic", no_wrap=True, overflow="ignore"))

    def rebuild(self, lines: Iterable[LogLine]) -> None:
        """Replace the content (after a filter or timestamp change)."""
        self.clear()
        self.shown.clear()
        self.add(lines)

    def plain_lines(self) -> list[str]:
        """What the widget holds, as plain text (tests and copy)."""
        return [strip.text for strip in self.lines]

    def next_error(self, after: int) -> int | None:
        """Index of the first error line below row `after`, wrapping around; None if none."""
        shown = self.shown
        n = len(shown)
        for k in range(1, n + 1):
            i = (after + k) % n
            if shown[i].level == "error":
                return i
        return None
