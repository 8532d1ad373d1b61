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

import heapq
import itertools
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from toolbox_tui.engine.containers import SERVICE_LABEL, is_oneoff, parse_ts, project_filter
from toolbox_tui.sanitize import DEFAULT_MAX_LINE, display_name, sanitize_line


PARTIAL_CHUNK = 16 * 1024
"""The json-file/local drivers store a long line as pieces of this size, each timestamped."""

MAX_RAW_LINE = 1024 * 1024
"""A line without a newline longer than this (bytes) is emitted anyway, so memory stays bounded."""

_TS_RE = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?)(Z|[+-]\d\d:\d\d) ")
_SGR_RE = re.compile(r"\x1b\[[0-9;:]*m")
_PLAIN_ASCII = re.compile(rb"[^\x09\x20-\x7e]").search
"""Finds a byte that is not printable ASCII or tab; None means the line needs no cleaning."""
_LEVEL_RE = re.compile(
    r"\b(?:(?P<error>ERROR|ERR|FATAL|CRITICAL|CRIT|PANIC|EMERG|ALERT|Traceback|Exception)"
    r"|(?P<warn>WARNING|WARN)|(?P<info>INFO|NOTICE)|(?P<debug>DEBUG|TRACE))\b",
    re.IGNORECASE,
)
LEVELS = ("debug", "info", "warn", "error")
"""Log levels, least to most severe; `""` means none was recognised."""







def format_since(ns: int) -> str:
    """`since` for the logs API with full nanosecond precision (`SECONDS.NANOS`)."""
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


def detect_level(text: str) -> str:
    """`error`/`warn`/`info`/`debug` from the first level word in a line, or `""`."""
    m = _LEVEL_RE.search(_SGR_RE.sub("", text) if "\x1b" in text else text, 0, 200)
    if not m:
        return ""
    return m.lastgroup or ""


class LogLine(NamedTuple):
    """One sanitized log line of one service.

    Immutable like the frozen dataclasses elsewhere, but a `NamedTuple` so that `LogStore` can
    keep it as a plain tuple (see `LineRing`) and hand it back unchanged."""

    service: str
    """Compose service name as shown (`sanitize.display_name`: cleaned, unique)."""
    container: str
    """Short id of the container that wrote it."""
    ts: str
    """Engine timestamp (RFC 3339, nanoseconds) of the line's first piece; `""` if none."""
    ts_ns: int
    """The same as nanoseconds since the epoch (0 when unknown)."""
    text: str
    """Sanitized text; may contain SGR colour sequences (render with `Text.from_ansi`)."""
    level: str = ""
    """Recognised level (`LEVELS`) or `""`."""
    seq: int = 0
    """Global arrival order, increasing across all services (set by the pipeline)."""


@dataclass(frozen=True, slots=True)
class LogBatch:
    """Lines delivered together, in arrival order; plus stream status notes."""

    lines: tuple[LogLine, ...] = ()
    """The new lines."""
    notes: tuple[str, ...] = field(default=())
    """Human-readable stream events (`web: reattached to 3f2a…`), already sanitized."""


class LineSplitter:
    """Rebuild `(first_ts, last_ts, payload)` lines from arbitrary chunks of a timestamped stream."""

    def __init__(self, timestamps: bool = True, max_raw: int = MAX_RAW_LINE) -> None:
        self.timestamps = timestamps
        """Whether each line starts with the engine's timestamp and a space."""
        self.max_raw = max_raw
        """Emit a line without newline once it is this long (bytes)."""
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> list[tuple[bytes, bytes, bytes]]:
        if self._buf:
            data = bytes(self._buf) + chunk
            self._buf.clear()
        else:
            data = chunk
        parts = data.split(b"\n")
        rest = parts.pop()
        line = self._line
        out = [line(raw) for raw in parts]
        if len(rest) >= self.max_raw:
            out.append(line(rest))
        elif rest:
            self._buf += rest
        return out

    def flush(self) -> list[tuple[bytes, bytes, bytes]]:
        """The last line when the stream ended without a newline."""
        if not self._buf:
            return []
        line = self._line(bytes(self._buf))
        self._buf.clear()
        return [line]

    def _line(self, raw: bytes) -> tuple[bytes, bytes, bytes]:
        if raw[-1:] == b"\r":
            raw = raw[:-1]
        if not self.timestamps:
            return b"", b"", raw
        if raw[30:31] == b" " and raw[29:30] == b"Z" and raw[10:11] == b"T":
            first = raw[:30]
            payload = raw[31:]
        else:
            m = _TS_RE.match(raw)
            if not m:
                return b"", b"", raw
            first = raw[: m.end() - 1]
            payload = raw[m.end():]
        last = first
        if len(payload) > PARTIAL_CHUNK and _TS_RE.match(payload, PARTIAL_CHUNK):
            # A long line stored as 16 KiB pieces: drop the timestamps between the pieces.
            parts = []
            pos = 0
            while True:
                m2 = _TS_RE.match(payload, pos + PARTIAL_CHUNK) if len(payload) > pos + PARTIAL_CHUNK else None
                if not m2:
                    parts.append(payload[pos:])
                    break
                parts.append(payload[pos: pos + PARTIAL_CHUNK])
                last = payload[m2.start(): m2.end() - 1]
                pos = m2.end()
            payload = b"".join(parts)
        return first, last, payload


def dechunk(fp: Any, block: int = 1 << 16) -> Iterator[bytes]:
    """The body of an HTTP/1.1 chunked response read straight from its socket file: each read
    returns whatever arrived (low latency), decoded in bulk (high throughput)."""
    buf = b""
    while True:
        data = fp.read1(block)
        if not data:
            return
        buf = buf + data if buf else data
        n = len(buf)
        pos = 0
        out = []
        while True:
            nl = buf.find(b"\r\n", pos)
            if nl < 0:
                break
            size = int(buf[pos:nl].split(b";", 1)[0] or b"0", 16)
            if size == 0:
                if out:
                    yield b"".join(out)
                return
            end = nl + 2 + size
            if end + 2 > n:
                break
            out.append(buf[nl + 2: end])
            pos = end + 2
        buf = buf[pos:]
        if out:
            yield b"".join(out)


def demux_frames(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Payloads of the engine's multiplexed stdout/stderr frames (8-byte headers), joined per
    network chunk: one cheap pass instead of two socket reads per frame."""
    buf = b""
    for chunk in chunks:
        buf = buf + chunk if buf else chunk
        n = len(buf)
        pos = 0
        out = []
        while n - pos >= 8:
            size = int.from_bytes(buf[pos + 4: pos + 8], "big")
            end = pos + 8 + size
            if end > n:
                break
            out.append(buf[pos + 8: end])
            pos = end
        buf = buf[pos:]
        if out:
            yield b"".join(out)


@dataclass
class _Resume:
    container: str = ""
    last_ns: int = 0
    same_count: int = 0
    """How many lines ending exactly at `last_ns` were delivered (identical timestamps happen)."""


class LineRing(deque):
    """One service's recent lines, kept as plain tuples and read back as `LogLine`s.

    A plain tuple of strings and ints is untracked by the cyclic garbage collector; a `LogLine`
    (like any class instance) is not. 65k held lines as objects made every full collection walk
    them: 100-350 ms pauses every ~2.5 s on the 2-core VM during a flood — a frozen screen."""

    __slots__ = ()

    def __iter__(self) -> Iterator[LogLine]:
        return map(LogLine._make, deque.__iter__(self))

    def __getitem__(self, i):  # type: ignore[override]
        return LogLine._make(deque.__getitem__(self, i))

    def append(self, line: LogLine) -> None:  # type: ignore[override]
        deque.append(self, tuple(line))

    def extend(self, lines: Iterable[LogLine]) -> None:  # type: ignore[override]
        deque.extend(self, map(tuple, lines))


class LogStore:
    """Bounded history: a ring of lines per service, merged back in arrival order on demand."""

    def __init__(self, ring_size: int = 5000) -> None:
        self.ring_size = ring_size
        """Lines kept per service; older ones fall off."""
        self.rings: dict[str, LineRing] = {}
        """Service name → its recent lines (iterating yields `LogLine`s)."""

    def add(self, lines: Iterable[LogLine]) -> None:
        rings = self.rings
        for line in lines:
            ring = rings.get(line.service)
            if ring is None:
                ring = rings[line.service] = LineRing(maxlen=self.ring_size)
            ring.append(line)

    def lines(self, services: Iterable[str] | None = None, limit: int | None = None) -> list[LogLine]:
        """Lines of `services` (all when None), oldest first; the last `limit` of them."""
        names = list(self.rings) if services is None else [s for s in services if s in self.rings]
        merged = heapq.merge(*(self.rings[n] for n in names), key=lambda ln: ln.seq)
        if limit is None:
            return list(merged)
        return list(deque(merged, maxlen=limit))

    def __len__(self) -> int:
        return sum(len(r) for r in self.rings.values())


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
            if len(payload) <= max_line and _PLAIN_ASCII(payload) is None:
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
