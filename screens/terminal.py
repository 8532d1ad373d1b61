"""The interactive faces in a real terminal: its size, and signals.

SIGINT, SIGTERM and SIGHUP end an app like Ctrl-C, through its event loop, and are then held off
while it cleans up.
Without routing, SIGTERM/SIGHUP kill the process at once (exit 143/129, the terminal left raw in
the alternate screen with mouse reporting on, a half-started stack left behind) and a real SIGINT
ends `asyncio.run` quietly with exit 1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Callable

ROUTED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals that end an app like Ctrl-C, and that are held off while it cleans up."""


def route_signals(on_signal: Callable[[int], None]) -> None:
    """Call `on_signal(signum)` from the running event loop for each of ROUTED (the handlers go
    when the loop closes). Main thread only; elsewhere nothing is routed."""
    loop = asyncio.get_running_loop()
    for sig in ROUTED:
        try:
            loop.add_signal_handler(sig, on_signal, sig)
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
            pass


def hold_signals() -> None:
    """Ignore ROUTED from now on, until the process exits (main thread only).

    A second signal must not kill the process half way through bringing a stack down: a closing
    terminal sends SIGHUP more than once, impatient tools repeat SIGTERM. SIG_IGN is inherited by
    the `docker compose down` the clean-up runs, which is in the same process group."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:  # remove_signal_handler() resets to the default first: no signal may land in between
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, ROUTED)
    except (AttributeError, OSError, ValueError):
        blocked = None
    try:
        for sig in ROUTED:
            try:
                if loop is not None:
                    loop.remove_signal_handler(sig)  # else loop.close() would reset it to the default
                signal.signal(sig, signal.SIG_IGN)
            except (ValueError, RuntimeError, OSError):  # not the main thread
                pass
    finally:
        if blocked is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)  # pending ones are now ignored


def use_real_terminal_size() -> None:
    """Drop COLUMNS/LINES from the environment when the terminal can tell its own size.

    Textual sizes its screen with `shutil.get_terminal_size`, which prefers those variables:
    exported by a shell profile, `script` or a CI runner they pin the screen to a stale size
    (an 80x24 layout in a 160x45 terminal, the rest blank) and every resize is ignored. Children
    (`docker compose`) do not need them either."""
    try:
        os.get_terminal_size(sys.__stdout__.fileno())
    except (OSError, AttributeError, ValueError):
        return  # no terminal to ask: leave the caller's choice
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
