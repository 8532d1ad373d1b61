"""Fix runs on disk: each applied plan is a folder under `STATE/runs/<UTC timestamp>/` with a
backup of every file it touched and a journal of what it did; `FixError` says what went wrong
with one (user-facing; `rolled_back` says what state is left).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from toolbox_tui.errors import EXIT_FAIL, ToolboxError

RUNS_DIR = "runs"

JOURNAL = "journal.json"

JOURNAL_VERSION = 2
"""2: runs live in the private state folder and record `root` and `allow_outside`."""


class FixError(ToolboxError):
    """The plan could not be applied (or undone). User-facing; `rolled_back` says what state is left."""

    exit_code = EXIT_FAIL

    def __init__(self, message: str, hint: str = "", *, rolled_back: bool = False,
                 run_dir: Path | None = None, leftovers: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.hint = hint
        self.rolled_back = rolled_back
        self.run_dir = run_dir
        self.leftovers = leftovers


def list_runs(state_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Runs newest first, with their journals (unreadable journals are skipped)."""
    runs = Path(state_dir) / RUNS_DIR
    out = []
    if not runs.is_dir():
        return out
    for d in sorted(runs.iterdir(), reverse=True):
        try:
            journal = json.loads((d / JOURNAL).read_text("utf-8"))
        except (OSError, ValueError):
            continue
        out.append((d, journal))
    return out
