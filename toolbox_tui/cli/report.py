"""Render checks for a terminal (grouped by area, coloured unless NO_COLOR) or as JSON."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Iterable, TextIO

from toolbox_tui.cli.output import Styled, project_json, write_line
from toolbox_tui.compose.model import Stack
from toolbox_tui.findings import AREAS, FAIL, KIND_TEXT, PASS, SKIP, WARN, Check, kind_of, summarize
from toolbox_tui.sanitize import plain_text as _plain

AREA_TITLES = {"prereq": "Prerequisites", "compose": "Compose", "paths": "Paths",
               "secrets": "Secrets", "env": "Environment", "overrides": "Overrides", "docs": "Docs"}
_MARK = {PASS: "✓", FAIL: "✗", WARN: "!", SKIP: "-"}
_COLOR = {PASS: "32", FAIL: "31", WARN: "33", SKIP: "90"}
GROUP_AT = 3
"""More warnings of one kind than this are one line in the default report."""


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
    # Every failure is shown; warnings of one kind beyond GROUP_AT are one line (`-v`: all).
    by_kind: dict[tuple[str, str], list[Check]] = {}
    for x in checks:
        if x.status == WARN:
            by_kind.setdefault((x.area, kind_of(x)), []).append(x)
    single = {m.id for ms in by_kind.values() if len(ms) <= GROUP_AT for m in ms}
    grouped: dict[str, dict[str, list[Check]]] = {}
    if not verbose:
        for (area, kind), ms in by_kind.items():
            if len(ms) > GROUP_AT:
                grouped.setdefault(area, {})[kind] = ms

    said: set[tuple[str, str]] = set()

    def write_check(x: Check) -> None:
        where = (f"  ({rel(x.file)}" + (f":{x.line}" if x.line else "") + ")") if x.file else ""
        line("  ", c(_COLOR[x.status], _MARK[x.status]), " ", x.title, c("90", where))
        key = (kind_of(x), x.hint)
        if not verbose and x.hint and key in said:
            return  # the same kind with the same next step: said once, above
        said.add(key)
        if x.detail and x.status != PASS and (verbose or x.status != WARN):
            for detail_line in _plain(x.detail).splitlines()[:8]:
                line("      ", detail_line)
        if x.hint and x.status in (FAIL, WARN, SKIP):
            line(c("36", f"      → {x.hint}"))

    for area in AREAS:
        group = [x for x in checks if x.area == area]
        if not group:
            continue
        counts = summarize(group)
        line()
        line(c("1", AREA_TITLES.get(area, area)),
             c("90", f"  {counts[PASS]} ok, {counts[FAIL]} failing, {counts[WARN]} warnings"))
        if verbose:
            shown = group
        else:
            shown = [x for x in group if x.status == FAIL or (x.status == SKIP and area != "prereq")]
            shown += [x for x in group if x.status == WARN and x.id in single]
        if not shown and not grouped.get(area):
            line(c("32", "  ✓ all good"))
        for x in shown:
            write_check(x)
        for kind, members in grouped.get(area, {}).items():
            files = {m.file for m in members if m.file}
            text = KIND_TEXT.get(kind, f"{kind} warnings")
            in_files = f" in {len(files)} file(s)" if len(files) > 1 else (
                f" in {rel(next(iter(files)))}" if files else "")
            line("  ", c(_COLOR[WARN], _MARK[WARN]), f" {len(members)} {text}{in_files}",
                 c("90", " — `-v` lists them"))
            hints = {m.hint for m in members}
            if len(hints) == 1 and members[0].hint:
                line(c("36", f"      → {members[0].hint}"))
    s = summarize(checks)
    verdict = c("31", f"{s[FAIL]} failing") if s[FAIL] else c("32", "nothing failing")
    line()
    line(verdict, f", {s[WARN]} warnings, {s[PASS]} passed, {s[SKIP]} skipped.")
