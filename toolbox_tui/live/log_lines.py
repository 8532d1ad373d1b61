"""Log lines: what one is (service, container, time, level, sanitized text), how the engine's
byte streams become whole lines (`LineSplitter`: frames split anywhere, TTY bytes one at a time,
long lines cut into 16 KiB timestamped pieces), and where they are kept (`LineRing`, `LogStore`:
bounded per service).
"""

from __future__ import annotations

import heapq
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, NamedTuple

PARTIAL_CHUNK = 16 * 1024
"""The json-file/local drivers store a long line as pieces of this size, each timestamped."""

MAX_RAW_LINE = 1024 * 1024
"""A line without a newline longer than this (bytes) is emitted anyway, so memory stays bounded."""

_TS_RE = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?)(Z|[+-]\d\d:\d\d) ")

_SGR_RE = re.compile(r"\x1b\[[0-9;:]*m")

NOT_PLAIN_ASCII = re.compile(rb"[^\x09\x20-\x7e]").search
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
        if b"\n" not in chunk and len(self._buf) + len(chunk) < self.max_raw:
            # A line arriving in small pieces: append, do not re-copy what is buffered (a long
            # line fed byte by byte was quadratic: 90 kB took 37 s of CPU).
            self._buf += chunk
            return []
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
