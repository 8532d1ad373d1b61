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


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


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
    signal.signal(signal.SIGINT, previous[signal.SIGINT])  # Ctrl-C: KeyboardInterrupt again
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupt)  # `main` installs its own right away
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
