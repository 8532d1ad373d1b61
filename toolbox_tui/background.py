"""Work started in the background while the caller goes on (engine connect, prerequisite probes).

Always a daemon thread, never a `ThreadPoolExecutor`: the interpreter joins an executor's threads
when it exits, and a thread blocked for good kept an interrupted `toolbox-tui up` from ever
ending. Seen under load: a SIGHUP that lands inside an import in the main thread can leave
Python's import lock held, so a helper thread that imports next (docker, keyring's crypto) waits
forever; joined at exit, that hung the command for good. A daemon thread is simply dropped.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any, Callable


def start(fn: Callable[..., Any], *args: Any, name: str) -> "Future[Any]":
    """`fn(*args)` in a daemon thread; its result (or exception) through the returned Future."""
    future: Future[Any] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future
