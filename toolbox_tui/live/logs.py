"""Per-service log streams from the Docker engine, as bounded, sanitized batches.

One reader thread per service follows that service's current container through the engine API
(`/containers/ID/logs?follow=1&timestamps=1`). What comes off the wire is not line-aligned:
non-TTY frames split lines anywhere, TTY containers arrive a byte at a time, and the json-file
driver cuts a long line into 16 KiB pieces that each get their own timestamp. `LineSplitter`
rebuilds whole lines; every line is sanitized (`toolbox_tui.sanitize`) before it leaves here.

Timestamps make the streams resumable: when a stream ends (container restarted, daemon gone) the
reader reconnects with `since=<last timestamp seen>` and skips what it already delivered, so no
line is lost or shown twice. When the service's container is replaced (`up --force-recreate`,
new id, same service) the reader moves to the new one and reads it from its start.

Readers hand lines to one flusher thread that emits `LogBatch`es to the consumer's callback every
`flush_interval` while lines arrive, and sleeps without waking while none do. Backpressure instead of unbounded queues: a reader blocks while `max_pending`
lines wait for the flusher, and the flusher blocks while more than `max_in_flight` delivered lines
have not been acknowledged with `consumed(n)` — so a slow screen slows the readers down (the
engine keeps the logs) rather than growing memory.

No Textual here: the face wraps `on_batch` around `post_message`.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from toolbox_tui.engine.containers import SERVICE_LABEL, is_oneoff, parse_ts, project_filter
from toolbox_tui.live.log_lines import (
    NOT_PLAIN_ASCII, LineSplitter, LogBatch, LogLine, dechunk, demux_frames, detect_level,
    format_since,
)
from toolbox_tui.sanitize import DEFAULT_MAX_LINE, display_name, sanitize_line


@dataclass
class _Resume:
    container: str = ""
    last_ns: int = 0
    same_count: int = 0
    """How many lines ending exactly at `last_ns` were delivered (identical timestamps happen)."""


class LogPipeline:
    """Follow the logs of every service of Compose project `project`."""

    def __init__(self, client: Any, project: str, on_batch: Callable[[LogBatch], None], *,
                 services: Iterable[str] = (), initial_tail: int | str = 200,
                 max_line: int = DEFAULT_MAX_LINE, flush_interval: float = 0.05,
                 max_pending: int = 20_000, max_in_flight: int | None = 50_000,
                 poll_interval: float = 2.0) -> None:
        self.client = client
        """A `docker.DockerClient`; only its low-level `api` is used."""
        self.project = project
        """Compose project name; containers are found by its label."""
        self.on_batch = on_batch
        """Called from the flusher thread with each `LogBatch` (wrap `post_message` here)."""
        self.initial_tail = initial_tail
        """Lines of history read from containers that already ran when the pipeline started."""
        self.max_line = max_line
        """Longest line kept (characters); longer ones are cut with a marker."""
        self.flush_interval = flush_interval
        """Seconds between batches."""
        self.max_pending = max_pending
        """Readers wait while this many lines wait for the flusher."""
        self.max_in_flight = max_in_flight
        """The flusher waits while this many delivered lines are not `consumed()`; None: never."""
        self.poll_interval = poll_interval
        """How often a reader whose service has no running container looks again (events nudge
        it sooner through `notify`)."""
        self._services: set[str] = set()
        self._threads: dict[str, threading.Thread] = {}
        self._nudge: dict[str, threading.Event] = {}
        self._streams: dict[str, Any] = {}
        self._resume: dict[str, _Resume] = {}
        self._pending: list[LogLine] = []
        self._notes: list[str] = []
        self._cond = threading.Condition()
        self._in_flight = 0
        self._seq = itertools.count(1)
        self._stop = threading.Event()
        self._started_at = 0.0
        self._flusher: threading.Thread | None = None
        self.lines_read = 0
        """Lines delivered so far (for benchmarks and the status bar)."""
        self.bytes_read = 0
        """Bytes read off the log streams so far (approximate: readers add without a lock)."""
        for s in services:
            self._services.add(s)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Find the project's services and start one reader per service plus the flusher."""
        self._started_at = time.time()
        self._stop.clear()
        try:
            for c in self._list_containers():
                svc = c.get("Labels", {}).get(SERVICE_LABEL)
                if svc:
                    self._services.add(svc)
        except Exception:  # noqa: BLE001 - the daemon may be away; readers retry
            pass
        self._flusher = threading.Thread(target=self._flush_loop, name="logs-flush", daemon=True)
        self._flusher.start()
        for svc in sorted(self._services):
            self._spawn(svc)

    def stop(self) -> None:
        """Stop every thread: close the blocking streams so the readers return now."""
        self._stop.set()
        for ev in list(self._nudge.values()):
            ev.set()
        for stream in list(self._streams.values()):
            _close(stream)
        with self._cond:
            self._cond.notify_all()
        for t in list(self._threads.values()) + ([self._flusher] if self._flusher else []):
            t.join(timeout=2)

    def notify(self, service: str | None = None) -> None:
        """Something changed for `service` (or all): look for its container now."""
        if service and service not in self._services and not self._stop.is_set() and self._flusher:
            self._services.add(service)
            self._spawn(service)
        for name, ev in list(self._nudge.items()):
            if service is None or name == service:
                ev.set()

    def consumed(self, n: int) -> None:
        """The consumer has rendered `n` more delivered lines (releases backpressure)."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - n)
            self._cond.notify_all()

    @property
    def services(self) -> list[str]:
        return sorted(self._services)

    # --- engine ------------------------------------------------------------------------------

    def _list_containers(self, service: str | None = None) -> list[dict]:
        labels = [project_filter(self.project)]
        if service:
            labels.append(f"{SERVICE_LABEL}={service}")
        found = self.client.api.containers(all=True, filters={"label": labels})
        return [c for c in found if not is_oneoff(c.get("Labels"))]

    def _current(self, service: str) -> tuple[str, bool, int] | None:
        """(id, running, created) of the service's newest container, preferring a running one."""
        found = self._list_containers(service)
        if not found:
            return None
        found.sort(key=lambda c: (c.get("State") == "running", c.get("Created", 0)), reverse=True)
        c = found[0]
        return c["Id"], c.get("State") == "running", int(c.get("Created", 0))

    def _open(self, cid: str, since_ns: int, tail: int | str) -> Iterator[bytes]:
        api = self.client.api
        info = api.inspect_container(cid)
        tty = bool(info.get("Config", {}).get("Tty"))
        params: dict[str, Any] = {"stdout": 1, "stderr": 1, "timestamps": 1, "follow": 1,
                                  "tail": str(tail)}
        if since_ns:
            params["since"] = format_since(since_ns)
            params["tail"] = "all"
        res = api._get(api._url("/containers/{0}/logs", cid), params=params, stream=True)
        api._raise_for_status(res)
        from docker.types.daemon import CancellableStream

        api._disable_socket_timeout(api._get_raw_response_socket(res))
        raw = res.raw
        fp = getattr(getattr(raw, "_fp", None), "fp", None)
        if getattr(raw, "chunked", False) and hasattr(fp, "read1"):
            # The engine flushes one HTTP chunk per log message; urllib3 costs ~8 us per chunk.
            # Read what the socket has and undo the chunked framing in one pass instead.
            chunks: Iterator[bytes] = dechunk(fp)
        elif getattr(raw, "chunked", False) and hasattr(raw, "read_chunked"):
            chunks = raw.read_chunked(decode_content=False)
        else:  # not chunked (a proxy in between?): small reads keep latency low
            chunks = res.iter_content(4096 if not tty else 1, False)
        gen = chunks if tty else demux_frames(chunks)
        return CancellableStream(gen, res)

    # --- threads -----------------------------------------------------------------------------

    def _spawn(self, service: str) -> None:
        if service in self._threads:
            return
        self._nudge[service] = threading.Event()
        self._resume[service] = _Resume()
        t = threading.Thread(target=self._follow, args=(service,), name=f"logs-{service}",
                             daemon=True)
        self._threads[service] = t
        t.start()

    def _note(self, text: str) -> None:
        with self._cond:
            self._notes.append(text)
            self._cond.notify_all()

    def _follow(self, service: str) -> None:
        nudge = self._nudge[service]
        resume = self._resume[service]
        backoff = 0.5
        svc_label = display_name(service)
        while not self._stop.is_set():
            try:
                cur = self._current(service)
            except Exception:  # noqa: BLE001 - daemon gone: retry with backoff
                nudge.wait(backoff)
                nudge.clear()
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = 0.5
            if cur is None:
                nudge.wait(self.poll_interval)
                nudge.clear()
                continue
            cid, running, created = cur
            if cid != resume.container:
                first = not resume.container
                if resume.container:
                    self._note(f"{svc_label}: following new container {cid[:12]}")
                resume.container, resume.last_ns, resume.same_count = cid, 0, 0
                tail: int | str = self.initial_tail if (first and created < self._started_at - 2) else "all"
            else:
                tail = "all"
            if not running and resume.last_ns:
                # Nothing new can come from a stopped container we have read: wait for a change.
                nudge.wait(self.poll_interval)
                nudge.clear()
                continue
            try:
                self._read(service, svc_label, cid, resume, tail)
            except Exception:  # noqa: BLE001 - stream broke (daemon restart...): reconnect
                nudge.wait(min(backoff, 1.0))
                nudge.clear()
                continue
            if not running:
                nudge.wait(self.poll_interval)
                nudge.clear()

    def _read(self, service: str, svc_label: str, cid: str, resume: _Resume, tail: int | str) -> None:
        stream = self._open(cid, resume.last_ns, tail)
        self._streams[service] = stream
        splitter = LineSplitter()
        short = cid[:12]
        skip_before, skip_same = resume.last_ns, resume.same_count
        try:
            for chunk in stream:
                if self._stop.is_set():
                    break
                self.bytes_read += len(chunk)
                lines = splitter.feed(chunk)
                if lines:
                    self._deliver(service, svc_label, short, resume, lines, skip_before, skip_same)
            else:
                self._deliver(service, svc_label, short, resume, splitter.flush(), skip_before,
                              skip_same)
        finally:
            self._streams.pop(service, None)
            _close(stream)

    def _deliver(self, service: str, svc_label: str, short: str, resume: _Resume,
                 raw_lines: list[tuple[bytes, bytes, bytes]], skip_before: int,
                 skip_same: int) -> None:
        out = []
        max_line = self.max_line
        for first, last, payload in raw_lines:
            first_ns = parse_ts(first) if first else 0
            last_ns = parse_ts(last) if last is not first else first_ns
            if skip_before and first_ns:
                if first_ns < skip_before:
                    continue
                if first_ns == skip_before and skip_same > 0:
                    skip_same -= 1
                    continue
            if last_ns > resume.last_ns:
                resume.last_ns, resume.same_count = last_ns, 1
            elif last_ns == resume.last_ns:
                resume.same_count += 1
            if len(payload) <= max_line and NOT_PLAIN_ASCII(payload) is None:
                text = payload.decode("ascii")  # the common case: nothing to clean
            else:
                text = sanitize_line(payload, keep_sgr=True, max_len=max_line)
            out.append(LogLine(svc_label, short, first.decode("ascii", "replace"), first_ns, text,
                               detect_level(text), next(self._seq)))
        if not out:
            return
        with self._cond:
            while len(self._pending) >= self.max_pending and not self._stop.is_set():
                self._cond.wait(0.5)
            if not self._pending:
                self._cond.notify_all()  # wake the flusher (it sleeps while nothing is pending)
            self._pending.extend(out)

    def _flush_loop(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                # Idle stack: no wake-ups at all until a reader has something.
                while not self._pending and not self._notes and not self._stop.is_set():
                    self._cond.wait()
            time.sleep(self.flush_interval)  # let a batch gather
            with self._cond:
                if self.max_in_flight is not None:
                    while self._in_flight >= self.max_in_flight and not self._stop.is_set():
                        self._cond.wait(0.5)
                if not self._pending and not self._notes:
                    continue
                pending, self._pending = self._pending, []
                notes, self._notes = self._notes, []
                self._in_flight += len(pending)
                self._cond.notify_all()
            lines = tuple(pending)
            self.lines_read += len(lines)
            try:
                self.on_batch(LogBatch(lines, tuple(notes)))
            except Exception:  # noqa: BLE001 - a consumer error must not kill the pipeline
                pass


def _close(stream: Any) -> None:
    try:
        stream.close()
    except Exception:  # noqa: BLE001 - already closed / socket gone
        pass
