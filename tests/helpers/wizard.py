"""Making the wizard app for Pilot tests and reading its screen."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from tests.helpers.waiting import pilot_until

SIZE = (100, 32)


def make_app(root: Path, name: str, **kw) -> Any:
    """The wizard app on the project at `root` under project name `name` (a real backend unless
    `backend=` is given)."""
    from toolbox_tui.compose.project import ProjectOptions, load_stack
    from toolbox_tui.screens.wizard.app import WizardApp
    from toolbox_tui.wizard.backend import WizardBackend

    opts = ProjectOptions(project_name=name, cwd=str(root))
    stack = load_stack(opts)
    return WizardApp(stack, opts, kw.pop("backend", None) or WizardBackend(), **kw)


def fix_paths(root: Path) -> None:
    """Apply the default fixes with the CLI (the same engine the Paths step uses)."""
    proc = subprocess.run([sys.executable, "-m", "toolbox_tui", "fix", "--apply", "--yes"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert (root / "infrastructure/docker/compose/.env").is_file(), proc.stdout + proc.stderr


async def wait_for(pilot: Any, cond: Callable[[], Any], timeout: float = 30.0,
                   what: str = "condition") -> None:
    """`pilot_until`, failing with the screen and its status line when `cond` never holds."""
    if not await pilot_until(pilot, cond, timeout):
        raise AssertionError(f"timed out waiting for {what}; screen={pilot.app.screen!r}, "
                             f"status={status(pilot.app)!r}")


def status(app: Any) -> str:
    """The current step's status line."""
    try:
        return str(app.screen.query_one("#step-status").render())
    except Exception:  # noqa: BLE001
        return ""


def screen_text(app: Any) -> str:
    """Everything on screen as plain text (from the SVG export, tags stripped)."""
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")
