"""The one output layer of the headless commands: every line a human reads goes through here.

Text reaching a terminal may quote the repository (service names, paths, Compose's own errors)
or the engine, which are untrusted: `out`, `note` and `error` strip escape sequences and control
characters from every line they print, so no command has to remember to. JSON goes out through
`emit`, which escapes every non-ASCII character (a C1 control or a bidi override in a name cannot
reach the terminal raw either).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from toolbox_tui.sanitize import plain_text

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack


def out(text: str = "", *, stderr: bool = False) -> None:
    """One or more lines for humans on stdout (or, for reports beside `--json`, stderr)."""
    stream = sys.stderr if stderr else sys.stdout
    stream.write(plain_text(text) + "\n")
    stream.flush()


def note(text: str) -> None:
    """A remark on stderr (`toolbox-tui: TEXT`), kept off stdout so `--json` stays parseable."""
    sys.stderr.write(f"toolbox-tui: {plain_text(text)}\n")


def error(message: str, hint: str = "", *, where: str = "") -> None:
    """`toolbox-tui: error: [where: ]message` and `  hint: ...` on stderr."""
    prefix = f"{where}: " if where and where not in message else ""
    sys.stderr.write(f"toolbox-tui: error: {plain_text(prefix + message)}\n")
    if hint:
        sys.stderr.write(f"  hint: {plain_text(hint)}\n")


def emit(payload: dict[str, Any]) -> None:
    """A JSON document on stdout."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
    sys.stdout.flush()


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

