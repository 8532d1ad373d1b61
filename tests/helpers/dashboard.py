"""Deterministic data for the dashboard's Pilot tests (the messages the engine threads post) and
reading its services table."""

from __future__ import annotations

from typing import Any

from toolbox_tui.engine.containers import HealthProbe, ServiceState
from toolbox_tui.live.events import EngineStatus, StackEvent
from toolbox_tui.live.log_lines import LogBatch, LogLine
from toolbox_tui.live.stats import ServiceStats

NOW = 1_795_000_000.0


def fake_states() -> list[ServiceState]:
    return [
        ServiceState("web", "a" * 64, "demo-web-1", "running", "healthy", 0, 0, NOW - 3725,
                     ports=("127.0.0.1:8080->80/tcp",), image="busybox",
                     health_log=(HealthProbe(start="2026-11-27T10:00:01.000000000Z", exit_code=0,
                                             output="ok"),)),
        ServiceState("api", "b" * 64, "demo-api-1", "running", "unhealthy", 3, 2, NOW - 65,
                     image="busybox",
                     health_log=(HealthProbe(start="2026-11-27T10:00:01.000000000Z", exit_code=0,
                                             output="ok"),
                                 HealthProbe(start="2026-11-27T10:00:02.000000000Z", exit_code=1,
                                             output="connection refused"))),
        ServiceState("worker", "c" * 64, "demo-worker-1", "exited", "", 0, 5, 0.0, exit_code=137,
                     oom_killed=True, image="busybox"),
    ]


def fake_lines(n: int = 30) -> list[LogLine]:
    out = []
    svcs = ("web", "api", "worker")
    for i in range(n):
        svc = svcs[i % 3]
        level = "error" if i % 7 == 3 else ("warn" if i % 5 == 1 else "info")
        text = f"{level.upper()} request {i} handled" if svc != "worker" else \
            f"\x1b[32mjob {i}\x1b[0m done [@click=app.quit]"
        out.append(LogLine(svc, svc[0] * 12, f"2026-11-27T10:00:{i:02d}.000000000Z",
                           0, text, level if svc != "worker" else "", i + 1))
    return out


def feed(screen: Any) -> None:
    """Post what the engine threads would: states, stats, engine status, events, log lines."""
    from toolbox_tui.screens.dashboard.messages import (EngineUpdate, EventArrived, LogsArrived,
                                                       StateUpdate, StatsUpdate)

    for st in fake_states():
        screen.post_message(StateUpdate(st))
    screen.post_message(StatsUpdate(ServiceStats("web", 12.5, 30 * 2**20, 2**30,
                                                 (1, 5, 12.5, 40, 80, 12.5))))
    screen.post_message(StatsUpdate(ServiceStats("api", 1.0, 5 * 2**20, 2**30, (0.0, 1.0))))
    screen.post_message(EngineUpdate(EngineStatus(True, "engine connected")))
    screen.post_message(EventArrived(StackEvent(NOW - 10, "worker", "oom", "")))
    screen.post_message(EventArrived(StackEvent(NOW - 9, "worker", "die", "exit code 137")))
    screen.post_message(EventArrived(StackEvent(NOW - 5, "api", "health:unhealthy", "")))
    screen.post_message(LogsArrived(LogBatch(tuple(fake_lines()))))


def make_app() -> Any:
    """The dashboard app with no engine, for the messages `feed` posts (clock fixed at NOW)."""
    from toolbox_tui.screens.dashboard.app import DashboardApp

    return DashboardApp("demo", None, services=("web", "api", "worker"), clock=lambda: NOW)


async def settle(pilot: Any) -> None:
    """Feed the app and wait until the stats reached the table and animations are done."""
    feed(pilot.app.dashboard)
    await pilot.pause(2.3)  # stats reach the table every STATS_FLUSH_DELAY seconds
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.1)


def cell(screen: Any, service: str, column: str) -> str:
    """The plain text of one cell of the services table (`column` is the column key)."""
    from textual.widgets import DataTable

    value = screen.query_one("#services", DataTable).get_cell(service, column)
    return getattr(value, "plain", str(value))
