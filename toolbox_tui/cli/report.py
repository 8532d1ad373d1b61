"""Render checks for a terminal (grouped by area, coloured unless NO_COLOR) or as JSON."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Iterable, TextIO

from toolbox_tui.cli.output import project_json
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
    stream = stream if stream is not None else sys.stdout  # now, not at import (redirections)
    checks = list(checks)
    color = use_color(stream)

    def c(code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    rel = lambda p: os.path.relpath(p, stack.root_dir()) if p else ""  # noqa: E731
    stream.write(c("1", f"toolbox-tui doctor — project {stack.name!r}") + "\n")
    stream.write(f"  files: {', '.join(rel(str(f)) for f in stack.files)}"
                 + (f"  (mode {stack.mode})" if stack.mode else "") + "\n")
    for area in AREAS:
        group = [x for x in checks if x.area == area]
        if not group:
            continue
        counts = summarize(group)
        stream.write("\n" + c("1", AREA_TITLES.get(area, area)) +
                     c("90", f"  {counts[PASS]} ok, {counts[FAIL]} failing, {counts[WARN]} warnings") + "\n")
        shown = [x for x in group if verbose or x.status in (FAIL, WARN)]
        if not shown:
            stream.write(c("32", "  ✓ all good") + "\n")
        for x in shown:
            stream.write(f"  {c(_COLOR[x.status], _MARK[x.status])} {_plain(x.title)}")
            if x.file:
                where = rel(x.file) + (f":{x.line}" if x.line else "")
                stream.write(c("90", f"  ({where})"))
            stream.write("\n")
            if x.detail and x.status != PASS:
                for line in _plain(x.detail).splitlines()[:8]:
                    stream.write(f"      {line}\n")
            if x.hint and x.status in (FAIL, WARN):
                stream.write(c("36", f"      → {_plain(x.hint)}") + "\n")
    s = summarize(checks)
    verdict = c("31", f"{s[FAIL]} failing") if s[FAIL] else c("32", "nothing failing")
    stream.write(f"\n{verdict}, {s[WARN]} warnings, {s[PASS]} passed, {s[SKIP]} skipped.\n")
