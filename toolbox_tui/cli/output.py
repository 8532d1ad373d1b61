"""The one output layer of the headless commands: every line a human reads goes through here.

Text reaching a terminal may quote the repository (service names, paths, Compose's own errors)
or the engine, which are untrusted: `out`, `note` and `error` strip escape sequences and control
characters from every line they print, so no command has to remember to. A line with colours is
built from parts (`write_line`): plain strings are untrusted and sanitized, and the only escape
sequences that reach the terminal are the SGR colours of `Styled` parts, added *after* their
text was sanitized. JSON goes out through `emit` / `emit_text` / `emit_record`, which escape every
non-ASCII character (a C1 control or a bidi override in a name cannot reach the terminal raw).
`tests/test_output_layer.py` checks that no other module of the CLI writes to stdout or stderr.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from toolbox_tui.sanitize import plain_text

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack


@dataclass(frozen=True)
class Styled:
    """A part of a line shown in an SGR colour (`code`, e.g. "31" or "1") when colour is on.
    `text` may be untrusted: it is sanitized like any other part."""

    code: str
    text: str


def write_line(stream: TextIO, *parts: "str | Styled", color: bool = False) -> None:
    """One or more lines on `stream`, built from parts: every part's text is sanitized; `Styled`
    parts are wrapped in their colour (only when `color`)."""
    chunks = []
    for part in parts:
        if isinstance(part, Styled):
            text = plain_text(part.text)
            chunks.append(f"\x1b[{part.code}m{text}\x1b[0m" if color and text else text)
        else:
            chunks.append(plain_text(part))
    stream.write("".join(chunks) + "\n")


def out(*parts: "str | Styled", stderr: bool = False) -> None:
    """One or more lines for humans on stdout (or, for reports beside `--json`, stderr)."""
    stream = sys.stderr if stderr else sys.stdout
    write_line(stream, *(parts or ("",)))
    stream.flush()


def note(text: str) -> None:
    """A remark on stderr (`toolbox-tui: TEXT`), kept off stdout so `--json` stays parseable."""
    sys.stderr.write(f"toolbox-tui: {plain_text(text)}\n")


def error(message: str, hint: str = "", *, where: str = "", kind: str = "error") -> None:
    """`toolbox-tui: error: [where: ]message` and `  hint: ...` on stderr (`kind` replaces
    "error", e.g. "internal error")."""
    prefix = f"{where}: " if where and where not in message else ""
    sys.stderr.write(f"toolbox-tui: {kind}: {plain_text(prefix + message)}\n"
                     if kind else f"toolbox-tui: {plain_text(prefix + message)}\n")
    if hint:
        sys.stderr.write(f"  hint: {plain_text(hint)}\n")
    sys.stderr.flush()


def emit(payload: dict[str, Any]) -> None:
    """A JSON document on stdout."""
    emit_text(json.dumps(payload, indent=2, default=str))


def emit_text(document: str) -> None:
    """A JSON document already serialized (`json.dumps` with its default `ensure_ascii`) on
    stdout; any raw control character left in it is escaped, so none reaches a terminal."""
    sys.stdout.write(_escape_controls(document) + "\n")
    sys.stdout.flush()


def emit_record(record: dict[str, Any]) -> None:
    """One NDJSON line on stdout (a streamed record: a log line...)."""
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()


def _escape_controls(text: str) -> str:
    """JSON text with C0/C1 controls and DEL outside strings' escapes turned into \\uXXXX
    (json.dumps with ensure_ascii already does this; this guards documents built otherwise)."""
    return _CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
"""What `_escape_controls` escapes: C0 but newline, DEL, C1 (one regex scan, not a Python loop
per character: a doctor report is ~30k characters)."""


def project_json(stack: "Stack") -> dict[str, Any]:
    """The `project` object of every command's JSON."""
    return {
        "name": stack.name,
        "project_dir": str(stack.project_dir),
        "files": [str(f) for f in stack.files],
        "env_files": [str(f) for f in stack.env_files],
        "profiles": list(stack.profiles),
        "mode": stack.mode,
        "manifest": str(stack.manifest.path) if stack.manifest else None,
        "services": sorted(stack.services),
    }

