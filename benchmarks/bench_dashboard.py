"""Dashboard responsiveness under a log flood, and its CPU cost when the stack is idle.

    python benchmarks/bench_dashboard.py [--services 13] [--rate 20000] [--idle-seconds 60]

Two throw-away Compose projects (`tbxtest-bench-*`, busybox image, removed at the end):
  idle   N healthy services that print nothing: the real DashboardApp (headless, 120x40, live
         LiveStack: events, stats streams, log streams) runs for --idle-seconds; prints the
         process CPU time as % of one core (goal < 2%).
  flood  N services printing together about --rate lines/s (`yes | head` bursts, 10 a second;
         the rate they really offer is measured first with `docker compose logs -f`): while the
         dashboard follows them,
         a key (down/up in the services table) is posted every 150 ms; latency = key posted →
         the next frame the compositor hands to the display after the cursor moved (5 s cap). Prints p50/p95
         (goal p95 < 100 ms) and the line rate actually received.
Run it alone on the machine; figures on a noisy 2-core VM vary by ±30%.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMAGE = os.environ.get("TBX_TEST_IMAGE", "toolbox-tui/busybox:test")


def compose_text(n: int, per_service_rate: int | None) -> str:
    out = ["services:"]
    for i in range(n):
        if per_service_rate:
            # `yes | head` writes a burst in one go (a shell loop of `echo` tops out near 8k
            # lines/s for 13 services on 2 cores); 10 bursts a second, every 5th line a WARN.
            burst = max(1, per_service_rate // 10)
            cmd = ("while true; do yes \\\"INFO s" + str(i) + " request handled in 12ms "
                   "path=/api/v1/items status=200\\\" | head -n " + str(burst * 4 // 5) + "; "
                   "yes \\\"WARN s" + str(i) + " slow upstream 250ms\\\" | head -n "
                   + str(burst - burst * 4 // 5) + "; usleep 90000; done")
        else:
            cmd = "touch /tmp/ok; exec sleep 3600"
        out += [f"  s{i:02d}:", f"    image: {IMAGE}", f"    command: [\"sh\", \"-c\", \"{cmd}\"]",
                "    healthcheck:", "      test: [\"CMD\", \"true\"]", "      interval: 2s",
                "      timeout: 1s", "      retries: 3"]
    return "\n".join(out) + "\n"


def up(d: Path, name: str, text: str) -> list[str]:
    f = d / f"{name}.yaml"
    f.write_text(text)
    args = ["-p", name, "-f", str(f)]
    subprocess.run(["docker", "compose", *args, "up", "-d", "--wait", "--wait-timeout", "120"],
                   check=True, capture_output=True)
    return args


def offered_rate(args: list[str], seconds: float = 5.0) -> float:
    """Lines/s the flood containers write, as `docker compose logs -f` sees them (to /dev/null):
    what the load generator really offers, independent of the dashboard."""
    proc = subprocess.Popen(["docker", "compose", *args, "logs", "-f", "--no-color", "--since", "1s"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    t_end = time.perf_counter() + 1.5  # skip the `--since` backlog
    while time.perf_counter() < t_end:
        proc.stdout.read1(1 << 20)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        n += proc.stdout.read1(1 << 20).count(b"\n")
    dt = time.perf_counter() - t0
    proc.kill()
    proc.wait()
    return n / dt


def down(args: list[str]) -> None:
    subprocess.run(["docker", "compose", *args, "down", "-v", "-t", "0"], capture_output=True)


async def idle_cpu(name: str, services: tuple[str, ...], seconds: float) -> float:
    from toolbox_tui.screens.dashboard.app import DashboardApp
    from toolbox_tui.live.stack import LiveStack

    app = DashboardApp(name, LiveStack(name, services=services), services=services)
    async with app.run_test(size=(120, 40)):
        await asyncio.sleep(5)  # attach, first stats samples
        c0, t0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        return (time.process_time() - c0) / (time.perf_counter() - t0) * 100


async def key_latency(name: str, services: tuple[str, ...], presses: int) -> tuple[list[float], float]:
    from textual import events
    from textual.widgets import DataTable

    from toolbox_tui.screens.dashboard.app import DashboardApp
    from toolbox_tui.live.stack import LiveStack

    app = DashboardApp(name, LiveStack(name, services=services, initial_tail=0),
                       services=services)
    frames: list[float] = []
    async with app.run_test(size=(120, 40)):
        original = app._display

        def display(screen, renderable) -> None:  # every frame the compositor produces
            if renderable is not None:
                frames.append(time.perf_counter())
            original(screen, renderable)

        app._display = display  # type: ignore[method-assign]
        await asyncio.sleep(3)  # flood reaches steady state
        screen = app.dashboard
        table = screen.query_one("#services", DataTable)
        table.focus()
        lat: list[float] = []
        n0, t_start = screen.lines_received, time.perf_counter()
        for k in range(presses):
            key = "down" if k % 2 == 0 else "up"
            before = table.cursor_row
            t0 = time.perf_counter()
            app.post_message(events.Key(key, None))
            deadline = t0 + 5
            while table.cursor_row == before and time.perf_counter() < deadline:
                await asyncio.sleep(0.001)
            moved = time.perf_counter()
            while (not frames or frames[-1] < moved) and time.perf_counter() < deadline:
                await asyncio.sleep(0.001)
            lat.append((min(frames[-1] if frames else deadline, deadline) - t0) * 1000)
            await asyncio.sleep(0.15)
        rate = (screen.lines_received - n0) / (time.perf_counter() - t_start)
    return lat, rate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=13)
    ap.add_argument("--rate", type=int, default=20_000, help="aggregate lines/s of the flood")
    ap.add_argument("--idle-seconds", type=float, default=60)
    ap.add_argument("--presses", type=int, default=60)
    a = ap.parse_args()
    services = tuple(f"s{i:02d}" for i in range(a.services))
    tag = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="tbx-bench-") as d:
        idle_name, flood_name = f"tbxtest-bench-idle-{tag}", f"tbxtest-bench-flood-{tag}"
        args = up(Path(d), idle_name, compose_text(a.services, None))
        try:
            cpu = asyncio.run(idle_cpu(idle_name, services, a.idle_seconds))
            print(f"idle, {a.services} healthy services, {a.idle_seconds:.0f} s: "
                  f"{cpu:.2f}% of one core   (goal < 2%)")
        finally:
            down(args)
        args = up(Path(d), flood_name, compose_text(a.services, a.rate // a.services))
        try:
            offered = offered_rate(args)
            print(f"load generator offers {offered:,.0f} lines/s "
                  f"(`docker compose logs -f` to /dev/null, 5 s)")
            lat, rate = asyncio.run(key_latency(flood_name, services, a.presses))
            lat.sort()
            p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
            print(f"flood received at {rate:,.0f} lines/s ({a.services} services, target {a.rate:,})")
            print(f"keypress -> repaint: p50 {statistics.median(lat):.0f} ms, p95 {p95:.0f} ms, "
                  f"max {lat[-1]:.0f} ms   (goal p95 < 100 ms)")
        finally:
            down(args)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
