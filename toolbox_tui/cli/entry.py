"""The installed command's first code: route signals, then load the commands and run `main`.

Loading the commands takes a moment on a busy machine; a Ctrl-C, SIGTERM or SIGHUP in that moment
ends the command as "interrupted" (exit 130) instead of a traceback or a silent -15. This module
imports nothing of the package before the handlers are in place, so the window left is the
interpreter's own start-up.
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


def entry() -> None:
    """The installed command (and `python -m toolbox_tui`): `main`, then exit with its code."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupt)  # `main` installs its own right away
    try:
        from toolbox_tui.cli.main import main
        from toolbox_tui.errors import EXIT_INTERRUPTED
    except BaseException as exc:  # noqa: BLE001 - only an interrupt is swallowed
        if not caused_by_interrupt(exc):
            raise
        sys.stderr.write("toolbox-tui: interrupted\n")
        raise SystemExit(130) from None
    try:
        code = main(standalone=True)
    except BaseException as exc:  # noqa: BLE001 - an interrupt between main's handlers
        if not caused_by_interrupt(exc):
            raise
        sys.stderr.write("toolbox-tui: interrupted\n")
        code = EXIT_INTERRUPTED
    raise SystemExit(code)
