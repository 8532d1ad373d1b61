"""Recorder for the hardening suite: every case writes one JSON line saying which fault or input
class it exercised, what the case was, and what happened.

`scripts/reliability_report.py` turns the file into `docs/reliability.md`, so the figures in the
docs always come from a real run. The file is `$TBX_RELIABILITY_OUT`, default
`.toolbox-tui-reliability.jsonl` in the repository root (gitignored).

Usage in a test:

    def test_x(record):
        record.case("compose YAML", "billion laughs")   # declare what this test covers
        ...                                              # assertions as usual
        record.note("exit 3, 'billion laughs' named")    # optional: what happened

One test may declare several cases (`record.case(...)` again, or `record.add(...)` for a case
already settled, e.g. one hypothesis example class). A case declared with `case()` gets its outcome
from the test's own result (pass/fail/skip), so a failing assertion is recorded as `fail` with the
assertion's first line as detail.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers.machine import REPO_ROOT


DEFAULT_OUT = REPO_ROOT / ".toolbox-tui-reliability.jsonl"
"""Where results go unless `TBX_RELIABILITY_OUT` says otherwise."""

_RECORDS_KEY = pytest.StashKey[list]()


def out_path() -> Path:
    """The JSON-lines file this run appends to."""
    return Path(os.environ.get("TBX_RELIABILITY_OUT") or DEFAULT_OUT)


@dataclass
class Recorder:
    """Collects the cases one test covers; the outcome is filled in from the test report."""

    nodeid: str
    pending: list[dict] = field(default_factory=list)
    """Cases declared with `case()`, whose outcome is the test's outcome."""
    settled: list[dict] = field(default_factory=list)
    """Cases recorded with `add()` with an explicit outcome."""

    def case(self, klass: str, name: str, detail: str = "") -> None:
        """Declare that this test covers `name` in fault/input class `klass`."""
        self.pending.append({"class": klass, "case": name, "detail": detail})

    def note(self, detail: str) -> None:
        """Set what happened for the most recently declared case."""
        if self.pending:
            self.pending[-1]["detail"] = detail

    def add(self, klass: str, name: str, outcome: str, detail: str = "") -> None:
        """Record a case whose outcome the test decided itself (`pass`, `fail`, `skip`)."""
        self.settled.append({"class": klass, "case": name, "outcome": outcome, "detail": detail})


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Recorder:
    """The per-test recorder (see the module docstring)."""
    rec = Recorder(request.node.nodeid)
    request.node.stash[_RECORDS_KEY] = rec  # type: ignore[assignment]
    return rec


def _write(rows: list[dict]) -> None:
    if not rows:
        return
    path = out_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=True) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    rec = item.stash.get(_RECORDS_KEY, None)  # type: ignore[arg-type]
    if rec is None:
        return
    # Decide once: at the call phase, or at setup/teardown when those fail or skip.
    if report.when == "call" or (report.when in ("setup", "teardown") and not report.passed):
        if getattr(item, "_tbx_recorded", False):
            return
        item._tbx_recorded = True  # type: ignore[attr-defined]
        status = "pass" if report.passed else "skip" if report.skipped else "fail"
        reason = ""
        if not report.passed and call.excinfo is not None:
            reason = str(call.excinfo.value).strip().splitlines()[0][:200] if str(call.excinfo.value).strip() else call.excinfo.typename
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        rows = []
        for c in rec.pending:
            detail = c["detail"] if status == "pass" else (reason or c["detail"])
            rows.append({"class": c["class"], "case": c["case"], "outcome": status,
                         "detail": detail, "test": rec.nodeid, "seconds": round(report.duration, 2),
                         "time": stamp})
        for c in rec.settled:
            rows.append({**c, "test": rec.nodeid,
                         "seconds": round(report.duration, 2), "time": stamp})
        _write(rows)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 256 KiB tmpfs (root only: CI runs as root); unmounted in a finalizer whatever happens."""
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
