"""The installed command's first code: route signals, then load the commands and run `main`.

Loading the commands takes a moment on a busy machine; a Ctrl-C, SIGTERM or SIGHUP in that moment
is remembered, not raised (an exception inside the import machinery can be lost or leave the
import lock held), and ends the command as "interrupted" (exit 130) once they are loaded. This
module imports nothing of the package before the handlers are in place, so the window left is
the interpreter's own start-up.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


def caused_by_interrupt(exc: BaseException) -> bool:
    """An interrupt, or an error an interrupt turned into: a signal that lands while a class is
    created comes out as `RuntimeError: Error calling __set_name__` with the KeyboardInterrupt as
    its cause."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


_DEFERRED: list[int] = []
"""A signal that came while a module was being imported, raised once the import is done."""

_RETRY_S = 0.01


def _importing(frame: FrameType | None) -> bool:
    """Whether Python's import machinery is on the stack (a module's own code runs under it)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """The headless commands' handler for SIGINT, SIGTERM and SIGHUP: a KeyboardInterrupt, so the
    rollback and clean-up paths run. Not inside an import (the commands load modules lazily, and so
    do the libraries): raised there, it can come out of a module lock's weakref callback, where it
    is printed as "Exception ignored" with a traceback and lost, or leave the import lock held.
    There the signal is kept and a 10 ms timer (SIGALRM, this handler too) raises it as soon as
    the import is done."""
    if signum == signal.SIGALRM:
        if not _DEFERRED:
            return
        signum = _DEFERRED[0]
    if _importing(frame):
        if signum not in _DEFERRED:
            _DEFERRED.append(signum)
        signal.signal(signal.SIGALRM, raise_interrupt)
        signal.setitimer(signal.ITIMER_REAL, _RETRY_S)
        return
    _DEFERRED.clear()
    raise KeyboardInterrupt(signal.Signals(signum).name)


def route_interrupts() -> dict:
    """Install `raise_interrupt` for SIGINT, SIGTERM and SIGHUP; returns the previous handlers
    (empty when not on the main thread: in-process callers keep theirs)."""
    saved = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            saved[sig] = signal.signal(sig, raise_interrupt)
        except (ValueError, OSError):  # not the main thread
            pass
    return saved


def cancel_deferred() -> None:
    """The command is over: no deferred interrupt is raised any more."""
    _DEFERRED.clear()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0)
    except (ValueError, OSError):
        pass


_PENDING: list[int] = []
"""Signals that came while the commands were loading (handled once they are loaded)."""


def _remember(signum: int, _frame: object) -> None:
    # No exception here: one raised inside the import machinery (a module lock's weakref callback)
    # is printed as "Exception ignored" and lost, and can leave Python's import lock held.
    _PENDING.append(signum)


def entry() -> None:
    """The installed command (and `python -m toolbox_tui`): `main`, then exit with its code."""
    previous = {sig: signal.signal(sig, _remember) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    from toolbox_tui.cli import dashboard, doctor, fix, lifecycle, secrets, up  # noqa: F401
    from toolbox_tui.cli.main import main
    from toolbox_tui.errors import EXIT_INTERRUPTED
    route_interrupts()  # `main` installs the same right away (it also serves in-process callers)
    del previous
    if _PENDING:
        sys.stderr.write("toolbox-tui: interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED)
    try:
        code = main(standalone=True)
    except BaseException as exc:  # noqa: BLE001 - an interrupt between main's handlers
        if not caused_by_interrupt(exc):
            raise
        sys.stderr.write("toolbox-tui: interrupted\n")
        code = EXIT_INTERRUPTED
    raise SystemExit(code)
