"""The one way tests wait for something: poll a condition until it holds or a deadline passes.

`wait_until` for plain code (threads, subprocesses, the engine); `pilot_until` inside a Textual
Pilot, where the app must keep running between looks (`pilot.pause`). Both treat a condition that
raises as not holding yet (widgets not mounted, a file not written) and return the last answer.
"""

from __future__ import annotations

import time
from typing import Any, Callable


def wait_until(pred: Callable[[], Any], timeout: float, interval: float = 0.05) -> bool:
    """Call `pred` until it is true or `timeout` seconds pass; True when it held."""
    end = time.monotonic() + timeout
    while True:
        try:
            if pred():
                return True
        except Exception:  # noqa: BLE001 - not there yet
            pass
        if time.monotonic() >= end:
            return False
        time.sleep(interval)


async def pilot_until(pilot: Any, pred: Callable[[], Any], timeout: float = 30.0,
                      interval: float = 0.05) -> bool:
    """`wait_until` inside a Pilot test: the app runs between looks."""
    end = time.monotonic() + timeout
    while True:
        try:
            if pred():
                return True
        except Exception:  # noqa: BLE001 - widgets not mounted yet
            pass
        if time.monotonic() >= end:
            return False
        await pilot.pause(interval)
