"""Log ingest+render throughput and memory, against `docker compose logs -f` in the same run.

    python benchmarks/bench_logs.py [--services 13] [--lines 40000]

Creates a throw-away Compose project (`tbxtest-bench-*`, busybox image, removed at the end) whose
N services each print L lines then idle. Measured, one after the other on the same containers:
  baseline  `docker compose logs -f` reading every line (stdout counted, i.e. to /dev/null)
  dashboard the real DashboardApp (headless, 120x40) with a LiveStack reading the same logs
            from the start, until the screen has received every line and rendered the last batch
            (timed from the moment the screen exists; the baseline includes Compose's start-up)
Prints lines/s of both, the ratio (goal >= 0.5) and the process RSS after all lines (goal < 150 MB),
then after a second pass of all lines (flat: bounded rings).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMAGE = os.environ.get("TBX_TEST_IMAGE", "toolbox-tui/busybox:test")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def compose_file(n: int, lines: int) -> str:
    out = ["services:"]
    for i in range(n):
        out += [f"  s{i:02d}:", f"    image: {IMAGE}",
                "    command: [\"sh\", \"-c\", \"i=0; while [ $$i -lt " + str(lines) + " ]; do "
                "i=$$((i+1)); echo \\\"INFO svc" + str(i) + " request $$i handled in 12ms path=/api/v1/items\\\"; "
                "done; echo END; sleep 3600\"]"]
    return "\n".join(out) + "\n"


def wait_written(args: list[str], n: int, timeout: float = 300) -> None:
    end = time.time() + timeout
    while time.time() < end:
        ids = subprocess.run(["docker", "compose", *args, "ps", "-q"], capture_output=True,
                             text=True).stdout.split()
        done = 0
        for cid in ids:
            tail = subprocess.run(["docker", "logs", "--tail", "1", cid], capture_output=True,
                                  text=True).stdout.strip()
            done += tail == "END"
        if len(ids) == n and done == n:
            return
        time.sleep(1)
    raise SystemExit("the flood containers did not finish writing in time")


def baseline(args: list[str], total: int) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen(["docker", "compose", *args, "logs", "-f", "--no-color"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    seen = 0
    assert proc.stdout is not None
    while seen < total:
        chunk = proc.stdout.read1(1 << 20)
        if not chunk:
            break
        seen += chunk.count(b"\n")
    dt = time.perf_counter() - t0
    proc.kill()
    proc.wait()
    if seen < total:
        raise SystemExit(f"baseline saw only {seen} of {total} lines")
    return dt


async def dashboard(name: str, services: tuple[str, ...], total: int,
                    args: list[str] | None = None) -> tuple[float, float, float]:
    """Seconds to ingest+render `total` lines, RSS then, and (with `args`) RSS after the
    containers were restarted and printed all their lines once more (0 without `args`)."""
    from toolbox_tui.screens.dashboard.app import DashboardApp
    from toolbox_tui.live.stack import LiveStack

    source = LiveStack(name, services=services, initial_tail="all")  # type: ignore[arg-type]
    app = DashboardApp(name, source, services=services)
    rss2 = 0.0
    async with app.run_test(size=(120, 40)) as pilot:
        while app.dashboard is None:
            await asyncio.sleep(0.001)
        # the clock starts when the screen exists (its on_mount starts the streams): the app's own
        # start-up (~0.5 s headless) is not log throughput
        t0 = time.perf_counter()
        screen = app.dashboard
        while screen.lines_received < total:
            await asyncio.sleep(0.02)
        await pilot.pause(0.1)  # last batch drained into the view
        dt = time.perf_counter() - t0
        rss = rss_mb()
        if args:
            subprocess.run(["docker", "compose", *args, "restart", "-t", "0"], check=True,
                           capture_output=True)
            end = time.time() + 300
            while screen.lines_received < 2 * total and time.time() < end:
                await asyncio.sleep(0.05)
            await pilot.pause(0.2)
            rss2 = rss_mb()
    return dt, rss, rss2


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=13)
    ap.add_argument("--lines", type=int, default=40_000, help="lines per service")
    ap.add_argument("--rss-only", metavar="PROJECT", help=argparse.SUPPRESS)
    ap.add_argument("--compose-file", help=argparse.SUPPRESS)
    a = ap.parse_args()
    total = a.services * (a.lines + 1)
    if a.rss_only:
        services = tuple(f"s{i:02d}" for i in range(a.services))
        base_rss = rss_mb()
        _, rss, rss2 = asyncio.run(dashboard(a.rss_only, services, total,
                                             ["-p", a.rss_only, "-f", a.compose_file]))
        print(f"RSS at start (python + imports):  {base_rss:.0f} MB")
        print(f"RSS after {total:,} lines:          {rss:.0f} MB   (goal < 150 MB)")
        print(f"RSS after {2 * total:,} lines:        {rss2:.0f} MB   (flat: bounded rings; "
              f"containers restarted and printed everything again)")
        return 0
    name = f"tbxtest-bench-{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory(prefix="tbx-bench-") as d:
        f = Path(d) / "compose.yaml"
        f.write_text(compose_file(a.services, a.lines))
        args = ["-p", name, "-f", str(f)]
        try:
            subprocess.run(["docker", "compose", *args, "up", "-d", "--quiet-pull"], check=True,
                           capture_output=True)
            t = time.time()
            wait_written(args, a.services)
            print(f"{a.services} services wrote {total:,} lines in {time.time() - t:.1f}s")
            base = baseline(args, total)
            services = tuple(f"s{i:02d}" for i in range(a.services))
            ours, _, _ = asyncio.run(dashboard(name, services, total))
            base2 = baseline(args, total)
            ours2, _, _ = asyncio.run(dashboard(name, services, total))
            b = min(base, base2)
            o = min(ours, ours2)
            print(f"baseline `docker compose logs -f`: {total / base:,.0f} / {total / base2:,.0f} lines/s")
            print(f"dashboard ingest+render:          {total / ours:,.0f} / {total / ours2:,.0f} lines/s")
            print(f"ratio (best of 2 each):           {b / o:.2f}   (goal >= 0.5)")
            # memory in a fresh process (this one holds two finished apps' garbage)
            subprocess.run([sys.executable, __file__, "--rss-only", name, "--services",
                            str(a.services), "--lines", str(a.lines), "--compose-file", str(f)],
                           check=True)
        finally:
            subprocess.run(["docker", "compose", *args, "down", "-v", "-t", "1"],
                           capture_output=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from toolbox_tui.screens.dashboard import app as _imported  # noqa: F401 - counted in the start RSS
    raise SystemExit(main())
