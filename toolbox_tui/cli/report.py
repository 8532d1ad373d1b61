"""Render checks for a terminal (grouped by area, coloured unless NO_COLOR) or as JSON."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Iterable, TextIO

from toolbox_tui.cli.output import Styled, project_json, write_line
from toolbox_tui.compose.model import Stack
from toolbox_tui.findings import AREAS, FAIL, PASS, SKIP, WARN, Check, summarize
from toolbox_tui.sanitize import plain_text as _plain

AREA_TITLES = {"prereq": "Prerequisites", "compose": "Compose", "paths": "Paths",
               "secrets": "Secrets", "env": "Environment", "overrides": "Overrides", "docs": "Docs"}
_MARK = {PASS: "✓", FAIL: "✗", WARN: "!", SKIP: "-"}
_COLOR = {PASS: "32", FAIL: "31", WARN: "33", SKIP: "90"}


def use_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


def to_json(stack: Stack | None, checks: list[Check], extra: dict[str, Any] | None = None) -> str:
    doc: dict[str, Any] = {
        "version": 1,
        "project": project_json(stack) if stack else None,
        "checks": [c.to_json() for c in checks],
        "summary": summarize(checks),
    }
    if extra:
        doc.update(extra)
    return json.dumps(doc, indent=2, default=str)


def render(stack: Stack, checks: Iterable[Check], *, stream: TextIO | None = None,
           verbose: bool = False) -> None:
    """The doctor report. Every line goes through `cli.output.write_line`: names, paths and
    texts from the repository are sanitized there; colours are `Styled` parts."""
    stream = stream if stream is not None else sys.stdout  # now, not at import (redirections)
    checks = list(checks)
    color = use_color(stream)

    def line(*parts: str | Styled) -> None:
        write_line(stream, *parts, color=color)

    c = Styled
    rel = lambda p: os.path.relpath(p, stack.root_dir()) if p else ""  # noqa: E731
    line(c("1", f"toolbox-tui doctor — project {stack.name!r}"))
    line(f"  files: {', '.join(rel(str(f)) for f in stack.files)}"
         + (f"  (mode {stack.mode})" if stack.mode else ""))
    for area in AREAS:
        group = [x for x in checks if x.area == area]
        if not group:
            continue
        counts = summarize(group)
        line()
        line(c("1", AREA_TITLES.get(area, area)),
             c("90", f"  {counts[PASS]} ok, {counts[FAIL]} failing, {counts[WARN]} warnings"))
        shown = [x for x in group if verbose or x.status in (FAIL, WARN)]
        if not shown:
            line(c("32", "  ✓ all good"))
        for x in shown:
            where = (f"  ({rel(x.file)}" + (f":{x.line}" if x.line else "") + ")") if x.file else ""
            line("  ", c(_COLOR[x.status], _MARK[x.status]), " ", x.title, c("90", where))
            if x.detail and x.status != PASS:
                for detail_line in _plain(x.detail).splitlines()[:8]:
                    line("      ", detail_line)
            if x.hint and x.status in (FAIL, WARN):
                line(c("36", f"      → {x.hint}"))
    s = summarize(checks)
    verdict = c("31", f"{s[FAIL]} failing") if s[FAIL] else c("32", "nothing failing")
    line()
    line(verdict, f", {s[WARN]} warnings, {s[PASS]} passed, {s[SKIP]} skipped.")
