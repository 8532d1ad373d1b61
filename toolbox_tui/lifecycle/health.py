"""Wait until a started Compose project is healthy, driven by the engine's event stream.

Why not `docker compose up --wait`: it fails at the first `unhealthy` even when the health check
would recover, treats one-shot services (migrations, seeders) as failures when they exit, and
cannot say *why* something is not healthy. Here:

* the event stream (container events of the project's label, probes' `exec_*` noise ignored) is
  opened *before* the one `containers.list` that reads the initial state, so nothing that happens
  in between is lost; afterwards state changes come from events only, no polling loop;
* a service is done when each of its containers is `running` and, if it has a health check,
  `healthy`; a one-shot service (exited 0 and not restarted by policy) counts as done;
* `unhealthy` is not final (health can recover before the deadline); what ends the wait early is a
  container that exits non-zero with restart policy `no`, or a restart loop (>= 3 restarts);
* a container without a health check counts as running once it has stayed up `SETTLE` seconds,
  so a process that dies at once is seen dying instead of being reported ready;
* a reader thread feeds events through a queue; the waiting thread blocks on that queue until
  the next event, settle time or deadline, then closes the stream (`CancellableStream.close()`),
  so no thread is left blocked on the socket. `HealthWaiter.cancel()` does the same from a UI;
* the event stream only ends when the engine goes away (dockerd stopped or restarted closes it):
  then the wait ends at once with `WaitResult.engine_lost` set instead of running to the deadline
  or reporting a timeout, and a call that fails for the same reason does the same. Resuming is the
  caller's choice (`up` says to re-run it; the dashboard's watcher reconnects by itself).
  A stopping dockerd first stops every container (a `kill` event, then `die` with 143/137) and
  only then closes the stream, so a container that died after a stop request does not end the
  wait as a service failure at once: the wait gives the engine `STOP_GRACE` seconds to go away.

Nothing here prints: changes go to `on_change(ServiceState)`.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from toolbox_tui.engine.containers import (
    INSPECT_WAIT, ServiceState, attrs_from_list, inspect_bounded, list_attrs, project_filter,
)
from toolbox_tui.lifecycle.startup import restart_policy
from toolbox_tui.lifecycle.tracker import HealthTracker
from toolbox_tui.sanitize import sanitize_oneline

if TYPE_CHECKING:
    from toolbox_tui.compose.model import ComposeProject

SETTLE = 1.0
"""Seconds a container without a health check must have been up before it counts as running:
a process that dies at once is then seen to die instead of being reported ready."""
STOP_GRACE = 15.0
"""Seconds to wait, after a container died on a stop/kill request, for the event stream to end
(dockerd stops containers with their stop timeout, 10 s by default, before it exits)."""
_STOP = object()


@dataclass(frozen=True)
class WaitResult:
    ok: bool
    states: Mapping[str, ServiceState]
    elapsed: float
    timed_out: bool = False
    stopped_early: str | None = None
    """The service whose terminal failure ended the wait before the deadline."""
    engine_lost: str | None = None
    """Why the wait could not go on (the engine's event stream ended, a call to it failed), in
    one sentence; None while the engine answered."""

    @property
    def not_ready(self) -> list[str]:
        return [s for s, st in self.states.items() if not st.done]


class HealthWaiter:
    """One wait, cancellable from another thread (the wizard's Startup screen on unmount).

    A reader thread iterates the engine's event stream and hands events over a queue; this
    thread blocks on the queue until the next moment something can change: an event, the end of
    a settle window, or the deadline. On exit the stream is closed (`CancellableStream.close()`)
    so the reader is never left blocked on the socket.
    """

    def __init__(self, stack: ComposeProject, client: Any, *, timeout: float = 120,
                 on_change: Callable[[ServiceState], None] | None = None,
                 services: Iterable[str] | None = None, settle: float = SETTLE) -> None:
        self.stack = stack
        self.client = client
        self.timeout = timeout
        """Seconds from `run()` until the wait gives up."""
        self.on_change = on_change
        """Called (from the waiting thread) with each service whose state changed."""
        self._explicit = services
        self.services = list(services) if services is not None else \
            list(stack.services)
        self.settle = settle
        """Seconds a container without a health check must stay up to count as running."""
        self._queue: queue.Queue[Any] = queue.Queue()
        self._stream: Any = None
        self._cancelled = threading.Event()
        self._reader_error: str = ""
        """Why the event stream ended, when it ended with an error."""

    def cancel(self) -> None:
        """End `run()` now (thread-safe); it returns what it knows."""
        self._cancelled.set()
        self._queue.put(_STOP)
        self._close()

    def _close(self) -> None:
        stream = self._stream
        if stream is not None:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing a broken socket must not raise
                pass

    def _reader(self) -> None:
        try:
            for ev in self._stream:
                self._queue.put(ev)
        except Exception as exc:  # noqa: BLE001 - the socket closed under us (engine gone, or us)
            self._reader_error = _short_error(exc)
        finally:
            self._queue.put(_STOP)

    def _engine_stopping(self, tracker: HealthTracker, grace: float) -> str | None:
        """After a container died on a stop request: if the event stream ends within `grace`
        seconds, dockerd was stopping (the reason, for `engine_lost`); None if it did not."""
        end = time.monotonic() + grace
        while not self._cancelled.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                ev = self._queue.get(timeout=left)
            except queue.Empty:
                return None
            if ev is _STOP:
                if self._cancelled.is_set():
                    return None
                return "the engine stopped its containers and closed its event stream" + (
                    f" ({self._reader_error})" if self._reader_error else "")
            if isinstance(ev, dict) and tracker.apply(ev):
                tracker.publish()
        return None

    def run(self) -> WaitResult:
        import docker
        import requests

        engine_errors = (requests.exceptions.RequestException, docker.errors.DockerException, OSError)

        t0 = time.monotonic()
        deadline = t0 + self.timeout
        policies = {n: restart_policy(s) for n, s in self.stack.services.items()}
        label = project_filter(self.stack.name)

        def inspect(cid: str) -> Mapping[str, Any] | None:
            try:
                got = inspect_bounded(self.client, [cid])
            except docker.errors.APIError:
                return None
            if cid in got:
                return got[cid]
            listed = self.client.api.containers(all=True, filters={"id": cid})
            return attrs_from_list(listed[0]) if listed else None

        tracker = HealthTracker(self.services, policies=policies, on_change=self.on_change,
                                inspect=inspect, settle=self.settle,
                                extend=self._explicit is None)
        stopped: str | None = None
        lost: str | None = None

        def result() -> WaitResult:
            states = tracker.states()
            ok = all(st.done for st in states.values()) and lost is None
            return WaitResult(ok=ok, states=states, elapsed=time.monotonic() - t0,
                              timed_out=not ok and stopped is None and lost is None
                              and not self._cancelled.is_set(),
                              stopped_early=stopped, engine_lost=lost)

        # Subscribe first (replaying the last second), then read the state once: nothing that
        # happens in between is lost, and events older than the snapshot are dropped below.
        try:
            self._stream = self.client.events(decode=True, since=int(time.time()) - 1,
                                              filters={"type": "container", "label": [label]})
        except engine_errors as exc:
            lost = f"the engine did not answer: {_short_error(exc)}"
            return result()
        reader = threading.Thread(target=self._reader, name="tbx-health-events", daemon=True)
        reader.start()
        try:
            list_ns = time.time_ns()
            for attrs in list_attrs(self.client, label,
                                    min(INSPECT_WAIT, max(0.5, deadline - time.monotonic()))):
                tracker.add_attrs(attrs)
            tracker.publish()
            stopped = tracker.first_failure()
            while stopped is None and not tracker.all_done() and not self._cancelled.is_set():
                now = time.monotonic()
                if now >= deadline:
                    break
                wake = tracker.next_settle()
                wait = deadline - now if wake is None else min(deadline - now, max(0.01, wake - time.time()))
                try:
                    ev = self._queue.get(timeout=wait)
                except queue.Empty:
                    tracker.publish()  # a settle window ended
                    continue
                if ev is _STOP:
                    if not self._cancelled.is_set():
                        # Nothing but the engine ends this stream: dockerd stopped or restarted.
                        lost = "the engine closed its event stream" + (
                            f" ({self._reader_error})" if self._reader_error else "")
                    break
                if not isinstance(ev, dict) or int(ev.get("timeNano") or 0) < list_ns:
                    continue
                if tracker.apply(ev):
                    tracker.publish()
                    stopped = tracker.first_failure()
                if stopped is not None and tracker.stopped_on_request(stopped):
                    lost = self._engine_stopping(tracker, min(STOP_GRACE, max(0.0, deadline - now)))
                    if lost is not None:
                        stopped = None  # not the service's fault: the engine went away
                        break
        except engine_errors as exc:  # list/inspect failed mid-wait
            if self._cancelled.is_set():
                return result()
            lost = f"a call to the engine failed: {_short_error(exc)}"
        finally:
            self._close()
            reader.join(2)
        return result()


def _short_error(exc: BaseException) -> str:
    """A requests/docker exception in one sanitized line (their texts nest reprs of reprs)."""
    text = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
    return sanitize_oneline(f"{type(exc).__name__}: {text}", max_len=200)


def engine_gone(client: Any, timeout: float = 5.0) -> str | None:
    """None when the engine answers `/_ping` within `timeout` seconds, else why not (one line).

    For callers that saw a failure and must tell "the engine went away" from "a service failed".
    A stopping dockerd closes its listener first but still answers on connections already open
    (the client's pool), so a fresh connection is tried first.
    """
    from toolbox_tui.engine.client import EngineUnavailable, client_endpoint, probe_endpoint

    ep = client_endpoint(client)
    if ep is not None:
        try:
            probe_endpoint(ep, timeout=timeout)
        except EngineUnavailable as exc:
            return sanitize_oneline(str(exc), max_len=200)
    try:
        api = client.api
        resp = api.get(api._url("/_ping"), timeout=timeout)
        if resp.status_code == 200:
            return None
        return f"the engine answered /_ping with HTTP {resp.status_code}"
    except Exception as exc:  # noqa: BLE001 - requests.ConnectionError, timeouts, docker errors
        return f"the engine does not answer: {_short_error(exc)}"


def wait_healthy(stack: ComposeProject, client: Any, *, timeout: float = 120,
                 on_change: Callable[[ServiceState], None] | None = None,
                 services: Iterable[str] | None = None, settle: float = SETTLE) -> WaitResult:
    """Block until every service is done, one fails for good, or `timeout` seconds pass.

    `stack` needs `name` and `services` (a Stack or `startup.ProjectRef`); `client` is a
    `docker.DockerClient`. In a UI, build a `HealthWaiter` in a worker thread and `cancel()` it
    on unmount.
    """
    return HealthWaiter(stack, client, timeout=timeout, on_change=on_change, services=services,
                        settle=settle).run()


def snapshot(stack: ComposeProject, client: Any,
             attrs: Iterable[Mapping[str, Any]] | None = None) -> dict[str, ServiceState]:
    """Current state of every service from one container list (for verify and diagnosis), or
    from `attrs` already read with `list_attrs`."""
    names = list(stack.services)
    policies = {n: restart_policy(s) for n, s in stack.services.items()}
    tracker = HealthTracker(names, policies=policies)
    for a in list_attrs(client, project_filter(stack.name)) if attrs is None else attrs:
        tracker.add_attrs(a)
    return tracker.states()


def describe(st: ServiceState) -> str:
    """One line for humans: `web: healthy`, `worker: exited with code 1`."""
    return sanitize_oneline(f"{st.service}: {st.reason or st.state}")
