"""Log pipeline: line reassembly, sanitizing, bounds, and resuming without loss or duplicates.

Engine tests run real containers (labelled as a `tbxtest-` Compose project so `cleanup_project`
removes them) and compare what the pipeline delivered with what `docker logs -t` holds.
"""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings, strategies as st

from toolbox_tui.live.log_lines import (
    PARTIAL_CHUNK, LineSplitter, LogBatch, LogLine, LogStore, detect_level, format_since,
)
from toolbox_tui.live.logs import LogPipeline
from toolbox_tui.engine.containers import parse_ts
from toolbox_tui.sanitize import DEFAULT_MAX_LINE

TS = b"2026-11-27T10:00:00.000000001Z "


# --- pure --------------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=40).filter(lambda b: b"\n" not in b), min_size=1,
                max_size=20), st.data())
def test_splitter_any_chunking_gives_same_lines(payloads, data) -> None:
    stream = b"".join(TS + p + b"\n" for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=30)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
    sp = LineSplitter()
    out = []
    for c in chunks:
        out.extend(sp.feed(c))
    out.extend(sp.flush())
    assert [p for _, _, p in out] == [p.rstrip(b"\r") for p in payloads]
    assert all(first == TS[:-1] for first, _, _ in out)


def test_splitter_tty_bytes_and_crlf() -> None:
    sp = LineSplitter()
    out = []
    for b in TS + b"hello\r\n" + TS + b"world\r\n":
        out.extend(sp.feed(bytes([b])))
    assert [p for _, _, p in out] == [b"hello", b"world"]


def test_splitter_joins_16k_pieces() -> None:
    ts2 = b"2026-11-27T10:00:00.000000002Z "
    ts3 = b"2026-11-27T10:00:00.000000003Z "
    raw = TS + b"a" * PARTIAL_CHUNK + ts2 + b"b" * PARTIAL_CHUNK + ts3 + b"c" * 10 + b"\n"
    [(first, last, payload)] = LineSplitter().feed(raw)
    assert payload == b"a" * PARTIAL_CHUNK + b"b" * PARTIAL_CHUNK + b"c" * 10
    assert first == TS[:-1] and last == ts3[:-1]


def test_splitter_bounds_a_line_without_newline() -> None:
    sp = LineSplitter(max_raw=1000)
    out = sp.feed(TS + b"x" * 2000)
    assert len(out) == 1 and len(out[0][2]) == 2000 + 0  # emitted, buffer cleared
    assert sp.flush() == []


def test_splitter_line_in_small_pieces_is_bounded_and_whole() -> None:
    """Pieces without a newline are appended (not re-copied); the bound still holds."""
    sp = LineSplitter(max_raw=1000, timestamps=False)
    out = []
    for _ in range(2500):
        out.extend(sp.feed(b"y"))
    out.extend(sp.feed(b"z\n"))
    assert [len(p) for _, _, p in out] == [1000, 1000, 501]
    assert b"".join(p for _, _, p in out) == b"y" * 2500 + b"z"
    assert sp.flush() == []


def test_timestamps_and_levels() -> None:
    ns = parse_ts("2026-11-27T10:00:00.123456789Z")
    assert ns % 1_000_000_000 == 123456789
    assert format_since(ns).endswith(".123456789")
    assert parse_ts("2026-11-27T10:00:00Z") % 1_000_000_000 == 0
    assert detect_level("2026 [ERROR] boom") == "error"
    assert detect_level("level=warn msg=x") == "warn"
    assert detect_level("\x1b[32mINFO\x1b[0m ok") == "info"
    assert detect_level("nothing here") == ""


def test_store_is_bounded_and_merges_in_order() -> None:
    store = LogStore(ring_size=3)
    lines = [LogLine("ab"[i % 2], "c", "", 0, f"l{i}", "", i) for i in range(10)]
    store.add(lines)
    assert len(store) == 6
    assert [ln.text for ln in store.lines()] == ["l4", "l5", "l6", "l7", "l8", "l9"]
    assert [ln.text for ln in store.lines(["a"], limit=2)] == ["l6", "l8"]


# --- engine ------------------------------------------------------------------------------------

def _run(client, image: str, project: str, service: str, script: str, **kw):
    labels = {"com.docker.compose.project": project, "com.docker.compose.service": service,
              "com.docker.compose.oneoff": "False"}
    return client.containers.run(image, ["sh", "-c", script], detach=True, labels=labels, **kw)


class Collector:
    """Stands in for the screen: collects batches and acknowledges them."""

    def __init__(self) -> None:
        self.lines: list[LogLine] = []
        self.notes: list[str] = []
        self.pipeline: LogPipeline | None = None
        self.lock = threading.Lock()

    def __call__(self, batch: LogBatch) -> None:
        with self.lock:
            self.lines.extend(batch.lines)
            self.notes.extend(batch.notes)
        if self.pipeline:
            self.pipeline.consumed(len(batch.lines))

    def wait_for(self, pred, timeout: float = 20.0) -> bool:
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                if pred(self.lines):
                    return True
            time.sleep(0.05)
        return False


def _pipeline(client, project: str, **kw) -> tuple[LogPipeline, Collector]:
    col = Collector()
    kw.setdefault("initial_tail", "all")
    pl = LogPipeline(client, project, col, poll_interval=0.3, **kw)
    col.pipeline = pl
    pl.start()
    return pl, col


def _truth(client, cid: str) -> list[tuple[str, str]]:
    """(timestamp, text) of every line the engine holds for the container."""
    raw = client.api.logs(cid, timestamps=True, stdout=True, stderr=True)
    out = []
    for first, _last, payload in LineSplitter().feed(raw) + LineSplitter().flush():
        out.append((first.decode(), payload.decode("utf-8", "replace")))
    return out


@pytest.mark.engine
def test_long_line_invalid_utf8_and_hostile_text(docker_client, test_image, project_name,
                                                 cleanup_project) -> None:
    cleanup_project(project_name)
    script = ("printf 'x\\377\\376y\\n'; "
              "head -c 90000 /dev/zero | tr '\\0' L; echo; "
              "printf 'title\\033]0;pwn\\007 clear\\033[2J end\\n'; echo done; sleep 60")
    _run(docker_client, test_image, project_name, "app", script)
    # the `local` driver keeps raw bytes (json-file already replaces invalid UTF-8)
    _run(docker_client, test_image, project_name, "raw", "printf 'p\\377q\\n'; sleep 60",
         log_config={"type": "local"})
    pl, col = _pipeline(docker_client, project_name)
    try:
        assert col.wait_for(lambda ls: any(ln.text == "done" for ln in ls)
                            and any(ln.service == "raw" for ln in ls)), col.lines
    finally:
        pl.stop()
    app = [ln.text for ln in col.lines if ln.service == "app"]
    assert app[0] == "x\ufffd\ufffdy"
    long = app[1]
    assert long.startswith("L" * DEFAULT_MAX_LINE)
    assert long.endswith(f"[+{90_000 - DEFAULT_MAX_LINE:,} chars]"), long[-60:]
    assert "Z " not in long  # the 16 KiB piece timestamps were removed
    assert app[2] == "title clear end"
    assert app[3] == "done"
    assert [ln.text for ln in col.lines if ln.service == "raw"] == ["p\ufffdq"]


@pytest.mark.engine
def test_resume_after_drop_and_restart_without_loss_or_duplicates(
        docker_client, test_image, project_name, cleanup_project) -> None:
    cleanup_project(project_name)
    script = "i=0; while [ $i -lt 1500 ]; do i=$((i+1)); echo \"line $i\"; done; sleep 0.3; " \
             "for i in $(seq 1 40); do echo \"slow $i\"; sleep 0.05; done"
    c = _run(docker_client, test_image, project_name, "counter", script)
    pl, col = _pipeline(docker_client, project_name)
    try:
        assert col.wait_for(lambda ls: any(ln.text.startswith("slow 5") for ln in ls))
        # 1) the connection drops under the reader (what a daemon restart looks like to it)
        stream = pl._streams.get("counter")
        assert stream is not None
        stream.close()
        assert col.wait_for(lambda ls: any(ln.text == "slow 20" for ln in ls))
        # 2) the container restarts mid-stream: the reader reattaches to the same container
        c.restart(timeout=1)
        assert col.wait_for(lambda ls: sum(1 for ln in ls if ln.text == "line 1") == 2, 30)
        c.stop(timeout=1)
        c.wait(timeout=30)
        truth = _truth(docker_client, c.id)
        assert col.wait_for(lambda ls: len(ls) >= len(truth), 20)
        time.sleep(1.0)  # nothing more may arrive
    finally:
        pl.stop()
    got = [(ln.ts, ln.text) for ln in col.lines]
    assert len(got) == len(set(got)), "duplicates delivered"
    assert got == truth


@pytest.mark.engine
def test_backpressure_bounds_pending(docker_client, test_image, project_name, cleanup_project) -> None:
    cleanup_project(project_name)
    _run(docker_client, test_image, project_name, "flood",
         "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); echo \"flood $i\"; done; sleep 60")
    time.sleep(1.5)
    got: list[int] = []
    pl = LogPipeline(docker_client, project_name, lambda b: got.append(len(b.lines)),
                     initial_tail="all", max_pending=500, max_in_flight=1000, poll_interval=0.3)
    pl.start()
    try:
        time.sleep(2.0)
        # nobody acknowledged: the flusher stopped at the in-flight bound, readers at pending
        assert 1000 <= sum(got) < 1000 + 500 + 1024
        assert len(pl._pending) <= 500 + 1024
        pl.consumed(sum(got))
        end = time.time() + 20
        while sum(got) < 20000 and time.time() < end:
            pl.consumed(10_000)
            time.sleep(0.1)
        assert sum(got) == 20000
    finally:
        pl.stop()


@pytest.mark.engine
def test_stop_closes_streams_promptly(docker_client, test_image, project_name, cleanup_project) -> None:
    cleanup_project(project_name)
    _run(docker_client, test_image, project_name, "quiet", "echo one; sleep 60")
    pl, col = _pipeline(docker_client, project_name)
    assert col.wait_for(lambda ls: len(ls) == 1)
    t0 = time.time()
    pl.stop()
    assert time.time() - t0 < 3
    assert not any(t.is_alive() for t in pl._threads.values())
