"""Reading the wizard's screen in Pilot tests."""

from __future__ import annotations

import html
import re
from typing import Any, Callable

from tests.helpers.waiting import pilot_until


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
