"""Health panel: a service's HTTP health endpoint, probed through its published port (Pilot)."""

from __future__ import annotations

import pytest

pytest.importorskip("textual")

from textual.widgets import DataTable, Static  # noqa: E402

from toolbox_tui.screens.dashboard.app import DashboardApp  # noqa: E402
from toolbox_tui.live.stack import LiveStack  # noqa: E402

from tests.helpers.waiting import pilot_until  # noqa: E402


@pytest.mark.engine
async def test_health_panel_shows_http_status_and_latency(web, project_name) -> None:
    source = LiveStack(project_name, services=("web",))
    app = DashboardApp(project_name, source, services=("web",))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard
        table = screen.query_one("#services", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("web"))
        await pilot.press("2")
        view = screen.query_one("#health-view", Static)

        def shown() -> str:
            from rich.console import Console

            console = Console(width=120, record=True, file=open("/dev/null", "w"))
            console.print(view.content)
            return console.export_text()

        ok = await pilot_until(pilot, lambda: "status 200" in shown(), timeout=30)
        assert ok, (screen.http, source.http and source.http._selected, shown())
        text = shown()
        assert "http http://127.0.0.1:" in text and "/health" in text
        assert "latency" in text and " ms" in text
        h = screen.http["web"]
        assert h.probes[-1].status == 200 and h.probes[-1].latency_ms > 0
    assert source.http is not None and not source.http._thread.is_alive()
