"""The dashboard's face, driven by the same messages the engine threads post (no engine needed):
behaviour with deterministic data, SVG snapshots at 80x24 and 120x40, and the engine boundary."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("textual")

from textual.widgets import DataTable  # noqa: E402

from toolbox_tui.live.log_lines import LogBatch, LogLine  # noqa: E402
from toolbox_tui.screens.dashboard.app import DashboardApp  # noqa: E402
from toolbox_tui.screens.dashboard.log_view import LogView  # noqa: E402
from toolbox_tui.screens.dashboard.messages import LogsArrived, StateUpdate  # noqa: E402

from tests.helpers.dashboard import NOW, fake_states, make_app, settle  # noqa: E402
from tests.helpers.waiting import pilot_until  # noqa: E402

async def test_messages_drive_rows_in_place() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.dashboard
        table = screen.query_one("#services", DataTable)
        assert table.row_count == 3
        assert table.get_cell("api", "health").plain == "unhealthy ×3"
        assert table.get_cell("worker", "state").plain == "OOM-killed"
        assert table.get_cell("web", "uptime") == "1h02m"
        keys_before = list(table.rows)
        screen.post_message(StateUpdate(fake_states()[1].__class__(
            "api", "b" * 64, "demo-api-1", "running", "healthy", 0, 2, NOW - 65)))
        await pilot.pause(0.2)
        assert table.get_cell("api", "health").plain == "healthy"
        assert list(table.rows) == keys_before  # updated in place, never rebuilt
        log = screen.query_one("#log", LogView)
        assert len(log.shown) == 30
        rendered = "\n".join(log.plain_lines())
        assert "[@click=app.quit]" in rendered and "\x1b" not in rendered
        # jump to the next error line
        await pilot.press("n")
        await pilot.pause(0.1)
        assert not log.auto_scroll
        assert log.shown[int(log.scroll_offset.y)].level == "error" or log.max_scroll_y < 3
        # pause keeps lines in the store but freezes the view
        await pilot.press("p")
        screen.post_message(LogsArrived(LogBatch((LogLine("web", "w", "", 0, "late", "", 99),))))
        await pilot.pause(0.3)
        assert "late" not in [ln.text for ln in log.shown]
        await pilot.press("p")
        await pilot.pause(0.3)
        assert "late" in [ln.text for ln in log.shown]
        # timestamps toggle
        await pilot.press("t")
        await pilot.pause(0.1)
        assert log.plain_lines()[0].startswith("10:00:")
        # health tab shows the selected service's probes
        screen.post_message(StateUpdate(fake_states()[1]))
        table.move_cursor(row=table.get_row_index("api"))
        await pilot.press("2")
        await pilot.pause(0.3)
        assert screen.selected_service() == "api"
        svg = app.export_screenshot().replace("&#160;", " ")
        assert "connection refused" in svg


async def test_no_number_or_address_is_cut_silently() -> None:
    """A long failing streak and restart count are shown whole at 80 columns, and ports that do
    not fit are whole entries and `+N` (issue 17: `unhealthy ×146` was shown as `unhealthy ×1`,
    100+ restarts would lose a digit, and `127.0.0.1:8009` ended in `127.0.0.1:800`)."""
    import html
    import re

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.dashboard
        table = screen.query_one("#services", DataTable)
        api = fake_states()[1]
        screen.post_message(StateUpdate(api.__class__(
            "api", "b" * 64, "demo-api-1", "running", "unhealthy", 146, 1234, NOW - 65,
            ports=("127.0.0.1:8009->8009/tcp", "127.0.0.1:8443->443/tcp", "0.0.0.0:53->53/udp"))))
        assert await pilot_until(pilot, lambda: table.get_cell("api", "restarts") == "1234")
        await pilot.pause()  # until idle: the table sizes its columns then
        await pilot.pause(0.1)
        shown = {key: table.get_cell("api", key).plain if hasattr(table.get_cell("api", key), "plain")
                 else str(table.get_cell("api", key)) for key in ("health", "restarts", "ports")}
        assert shown["health"] == "unhealthy ×146" and shown["restarts"] == "1234"
        # Ports gets what the other columns leave (more than its 24 at 120 columns): whole
        # entries, then how many more
        assert table.ports_width > 24 and shown["ports"] == "127.0.0.1:8009->8009 +2"
        for key, text in shown.items():
            column = table.columns[key]  # type: ignore[index]
            assert column.get_render_width(table) - 2 * table.cell_padding >= len(text), key
        drawn = html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")
        assert all(text in drawn for text in shown.values()), drawn


@pytest.mark.parametrize("ports,width,shown", [
    ((), 24, ""),
    (("127.0.0.1:8080->80/tcp",), 24, "127.0.0.1:8080->80"),
    (("127.0.0.1:8009->8009/tcp", "127.0.0.1:8443->443/tcp", "0.0.0.0:53->53/udp"), 24,
     "127.0.0.1:8009->8009 +2"),
    (("127.0.0.1:8009->8009/tcp", "127.0.0.1:8443->443/tcp", "0.0.0.0:53->53/udp"), 61,
     "127.0.0.1:8009->8009, 127.0.0.1:8443->443, 0.0.0.0:53->53/udp"),
    (("[2001:db8:85a3::8a2e:370:7334]:8080->80/tcp",), 24, "[2001:db8:85a3::8a2e:37…"),
    (("[2001:db8:85a3::8a2e:370:7334]:8080->80/tcp", "127.0.0.1:1->1/tcp"), 24,
     "[2001:db8:85a3::8a2e… +1"),
])
def test_ports_are_whole_entries_then_a_count(ports, width, shown) -> None:
    from toolbox_tui.screens.dashboard.services import fit_ports

    text = fit_ports(ports, width).plain
    assert text == shown and len(text) <= width


async def test_no_source_actions_explain_themselves() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await pilot.pause(0.2)
        assert app.screen is app.dashboard  # no modal without a live stack


async def test_palette_lists_dashboard_actions() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.dashboard)]
        assert any(t.startswith("Restart") for t in titles)
        assert any(t.startswith("Next err") for t in titles)
        assert all(b.id for b in app.dashboard.BINDINGS)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot(snap_compare, size) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=settle)


def test_snapshot_no_color(snap_compare, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=settle)


def test_engine_modules_do_not_import_textual() -> None:
    mods = ["toolbox_tui.sanitize", "toolbox_tui.live.logs", "toolbox_tui.live.events",
            "toolbox_tui.live.stats", "toolbox_tui.live.stack", "toolbox_tui.cli.dashboard",
            "toolbox_tui.live.shell", "toolbox_tui.live.inspect", "toolbox_tui.live.log_export",
            "toolbox_tui.cli.ops"]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in mods)
            + "assert 'textual' not in sys.modules, 'textual imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_filter_syntax_quotes_service_names_with_spaces() -> None:
    """A cleaned label is shown with a digest suffix (`svc-twin ~db144d`): typed in quotes, it is
    one service; bare words still form the regex as typed."""
    from toolbox_tui.screens.dashboard.log_view import LogFilter, parse_filter

    base = LogFilter()
    f = parse_filter('service:"svc-twin ~db144d" level:warning boom', base)
    assert f.services == frozenset({"svc-twin ~db144d"}) and f.min_level == "warn"
    assert f.pattern == "boom"
    f = parse_filter('s:web,db "two  words" x', base)
    assert f.services == frozenset({"web", "db"}) and f.pattern == '"two  words" x'
    assert parse_filter("", base) == base


def fake_inspect():
    from toolbox_tui.live.inspect import from_attrs

    attrs = {
        "Id": "a" * 64, "Name": "/demo-web-1", "Image": "sha256:" + "f" * 64,
        "State": {"Status": "running"},
        "Config": {"Image": "busybox:test", "Cmd": ["httpd", "-f", "-p", "8080"],
                   "WorkingDir": "/www", "User": "1000",
                   "Env": ["PATH=/usr/bin:/bin", "API_TOKEN=tok-123", "DB_PASSWORD=from-keyring",
                           "LOG_LEVEL=info"],
                   "Labels": {"com.docker.compose.service": "web", "team": "ops\x1b]0;pwn\x07"},
                   "Healthcheck": {"Test": ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"],
                                   "Interval": 5_000_000_000, "Timeout": 2_000_000_000,
                                   "Retries": 3}},
        "HostConfig": {"RestartPolicy": {"Name": "unless-stopped"}, "Memory": 64 << 20,
                       "NanoCpus": 500_000_000, "PidsLimit": 100},
        "Mounts": [{"Type": "bind", "Source": "/srv/demo/www", "Destination": "/www", "RW": False}],
        "NetworkSettings": {"Ports": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]},
                            "Networks": {"demo_default": {"IPAddress": "172.18.0.2",
                                                          "Aliases": ["web"]}}},
    }
    return from_attrs("web", attrs, {"RepoDigests": []},
                      secret_vars={"DB_PASSWORD": "db_password"})


class InspectApp(DashboardApp):
    """The inspect view over the dashboard, with fixed data."""

    def on_mount(self) -> None:
        super().on_mount()
        from toolbox_tui.screens.dashboard.inspect_view import InspectScreen

        self.call_after_refresh(self.push_screen, InspectScreen(fake_inspect()))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_inspect(snap_compare, size) -> None:
    assert snap_compare(InspectApp("demo", None, services=("web",), clock=lambda: NOW),
                        terminal_size=size)


def test_snapshot_inspect_revealed(snap_compare) -> None:
    assert snap_compare(InspectApp("demo", None, services=("web",), clock=lambda: NOW),
                        terminal_size=(120, 40), press=["r"])


async def test_inspect_view_masks_and_never_holds_the_secret() -> None:
    app = InspectApp("demo", None, services=("web",), clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        from toolbox_tui.screens.dashboard.inspect_view import InspectScreen

        assert await pilot_until(pilot, lambda: isinstance(app.screen, InspectScreen), 10)
        view = app.screen
        assert "tok-123" not in view.text() and "from-keyring" not in view.text()
        await pilot.press("r")
        assert "tok-123" in view.text() and "from-keyring" not in view.text()
        assert "(from secret db_password: not shown)" in view.text()
        assert "pwn" not in app.export_screenshot()
        await pilot.press("escape")
        assert app.screen is app.dashboard
