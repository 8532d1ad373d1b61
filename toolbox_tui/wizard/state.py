"""What the onboarding wizard remembers between runs: which steps were done, never any value.

The memory is only a starting point. On resume the wizard opens at the first step that is not
done, and every step re-checks the live state (doctor findings, secret statuses, container health)
before it shows anything, so a step recorded as done but broken since is shown as failing again.

Stored as `stack.state_dir/wizard.json` (the user's private state folder, never the repository):
`{"version": 1, "project": NAME, "mode": MODE, "done": [STEP, ...], "updated": UNIX_TIME}`.
Only step names go in; secret values, paths typed by the user and findings never do.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolbox_tui.atomic_files import atomic_write
from toolbox_tui.state_dir import UnsafeStateDir, ensure_state_dir

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack

STEPS = ("project", "prereq", "setup", "paths", "secrets", "review", "startup", "done")
"""Wizard steps in order; the names are the ids used in wizard.json and the step modules."""

OPTIONAL = ("setup",)
"""Steps shown only when the project has something for them (the set-up step its docs name);
a resumed wizard does not reopen them."""

STEP_TITLES = {
    "project": "Project", "prereq": "Prerequisites", "setup": "Set-up", "paths": "Paths",
    "secrets": "Secrets", "review": "Review", "startup": "Startup", "done": "Done",
}
"""Titles of the steps."""

STEP_SHORT = {
    "project": "Project", "prereq": "Prereqs", "setup": "Set-up", "paths": "Paths",
    "secrets": "Secrets", "review": "Review", "startup": "Startup", "done": "Done",
}
"""Labels in the step bar (all seven fit in 80 columns)."""

FILE_NAME = "wizard.json"
VERSION = 1


@dataclass
class WizardState:
    """Steps completed for one project (and mode). Mutable: the app marks steps as it goes."""

    project: str
    mode: str | None = None
    done: list[str] = field(default_factory=list)
    """Step names completed at least once, in STEPS order."""
    updated: int = 0

    def mark(self, step: str, done: bool = True) -> None:
        """Record `step` as done (or not). Unknown names are refused so typos cannot hide."""
        if step not in STEPS:
            raise ValueError(f"unknown wizard step {step!r}")
        items = set(self.done)
        if done:
            items.add(step)
        else:
            items.discard(step)
        self.done = [s for s in STEPS if s in items]

    def is_done(self, step: str) -> bool:
        return step in self.done

    def resume_step(self) -> str:
        """The first step not done yet (the project step when nothing is recorded)."""
        for step in STEPS:
            if step not in self.done and step not in OPTIONAL:
                return step
        return STEPS[-1]

    def start_step(self) -> str:
        """Where a resumed wizard opens: the first step not done, but never past Review (the
        stack is only ever started by a key press, never by remembered progress)."""
        step = self.resume_step()
        return step if STEPS.index(step) <= STEPS.index("review") else "review"

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "project": self.project, "mode": self.mode,
                "done": list(self.done), "updated": self.updated}


def state_path(stack: Stack) -> Path:

    return stack.state_dir / FILE_NAME


def load_state(stack: Stack) -> WizardState:
    """The remembered progress for `stack`; a fresh state when none, unreadable, or for another
    project/mode (the memory of a different stack says nothing about this one)."""
    fresh = WizardState(project=stack.name, mode=stack.mode)
    try:
        raw = json.loads(state_path(stack).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnsafeStateDir):
        return fresh
    if not isinstance(raw, dict) or raw.get("version") != VERSION:
        return fresh
    if raw.get("project") != stack.name or raw.get("mode") != fresh.mode:
        return fresh
    done = raw.get("done")
    if not isinstance(done, list):
        return fresh
    fresh.done = [s for s in STEPS if s in {str(d) for d in done}]
    updated = raw.get("updated")
    fresh.updated = int(updated) if isinstance(updated, (int, float)) else 0
    return fresh


def save_state(stack: Stack, state: WizardState) -> Path | None:
    """Write wizard.json atomically; returns its path, or None when the state dir is not writable
    (progress memory is a convenience: failing to save must never stop the wizard)."""
    state.updated = int(time.time())
    data = json.dumps(state.to_json(), indent=2) + "\n"
    try:
        path = state_path(stack)
        ensure_state_dir(path.parent)
        atomic_write(path, data.encode("utf-8"), mode=0o600)
    except (OSError, UnsafeStateDir):
        return None
    return path


def forget_state(stack: Stack) -> None:
    """Remove wizard.json (start over)."""
    try:
        state_path(stack).unlink()
    except (OSError, UnsafeStateDir):
        pass
