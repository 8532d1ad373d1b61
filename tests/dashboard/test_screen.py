"""The dashboard against a real stack: rows, health flips, restart with confirmation, filters,
reattach after recreate, and hostile container output that must not reach the terminal."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("textual")

from textual.widgets import DataTable  # noqa: E402

from toolbox_tui.screens.dashboard.app import DashboardApp  # noqa: E402
from toolbox_tui.screens.dialogs import ConfirmDialog  # noqa: E402
from toolbox_tui.screens.dashboard.log_view import LogView  # noqa: E402
from toolbox_tui.live.stack import LiveStack  # noqa: E402

from tests.helpers.dashboard import cell  # noqa: E402
from tests.helpers.tmux import Tmux  # noqa: E402
from tests.helpers.waiting import pilot_until, wait_until  # noqa: E402

EVIL_SH = r"""
printf 'OSC-BEL:\033]0;pwn-bel\007 done1\n'
printf 'OSC-ST:\033]2;pwn-st\033\\ done2\n'
printf 'CLR:\033[2J done3\n'
printf 'LINK:\033]8;;http://pwn.example/\033\\click-me\033]8;;\033\\ done4\n'
printf 'DCS:\033Ppwn-dcs\033\\ done5\n'
printf 'C1:\302\23331m\302\235pwn-c1\302\234 done6\n'
printf 'RAWC1:\233\235raw\234 done7\n'
printf 'MARKUP:[@click=app.quit] [bold]x[/bold] done8\n'
printf 'COLOR:\033[31mred\033[0m done9 ERROR boom\n'
while true; do echo "evil tick"; sleep 1; done
"""

COMPOSE = """
# init: true — sh as PID 1 ignores SIGTERM, so every restart/stop would wait its full 10 s
services:
  web:
    image: {image}
    init: true
    command: sh -c 'mkdir -p /www && echo ok > /www/index.html && httpd -p 8080 -h /www; while true; do echo "web tick INFO"; sleep 0.5; done'
    ports: ["127.0.0.1::8080"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 1s
      retries: 2
  flip:
    image: {image}
    init: true
    command: sh -c 'touch /tmp/ok; while true; do echo "flip WARN tick"; sleep 0.5; done'
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ok"]
      interval: 1s
      timeout: 1s
      retries: 1
  evil:
    image: {image}
    init: true
    command: ["sh", "/evil.sh"]
    volumes: ["./evil.sh:/evil.sh:ro"]
"""

FORBIDDEN = ("pwn", "\x1b]", "\x1bP", "[2J", "\x9b", "\x9d", "\x9c", "\x07")


@pytest.fixture
def stack(docker_client, test_image, project_name, cleanup_project, tmp_path):
    """A running 3-service project; yields (name, compose args)."""
    (tmp_path / "evil.sh").write_text(EVIL_SH)
    f = tmp_path / "compose.yaml"
    f.write_text(COMPOSE.format(image=test_image))
    cleanup_project(project_name, files=[f], project_dir=tmp_path)
    args = ["--project-directory", str(tmp_path), "-p", project_name, "-f", str(f)]
    proc = subprocess.run(["docker", "compose", *args, "up", "-d", "--wait", "--wait-timeout", "60"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return project_name, args


def app_for(name: str, args: list[str]) -> DashboardApp:
    source = LiveStack(name, compose_args=args, services=("web", "flip", "evil"))
    return DashboardApp(name, source, services=("web", "flip", "evil"))


@pytest.mark.engine
async def test_rows_health_restart_filter_reattach(stack) -> None:
    name, args = stack
    app = app_for(name, args)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard
        assert await pilot_until(pilot, lambda: all(cell(screen, s, "state") == "running"
                                              for s in ("web", "flip", "evil")))
        assert await pilot_until(pilot, lambda: cell(screen, "web", "health") == "healthy")
        assert cell(screen, "web", "ports").startswith("127.0.0.1:")
        assert await pilot_until(pilot, lambda: cell(screen, "web", "cpu").strip() != "")
        table = screen.query_one("#services", DataTable)
        assert table.row_count == 3

        # health change shows (with the failing streak)
        flip_id = screen.states["flip"].container_id
        subprocess.run(["docker", "exec", flip_id, "rm", "/tmp/ok"], check=True, timeout=30)
        # (the row turns unhealthy from the container list first; the streak comes with the
        # inspect that follows)
        assert await pilot_until(pilot, lambda: cell(screen, "flip", "health").startswith("unhealthy ×"))
        assert any(e.service == "flip" and e.action == "health:unhealthy" for e in screen._events)

        # restart needs confirmation: "n" does nothing, "y" restarts
        table.focus()
        table.move_cursor(row=table.get_row_index("web"))
        await pilot.pause()
        assert screen.selected_service() == "web"
        web_started = screen.states["web"].started_at
        await pilot.press("r")
        assert await pilot_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await pilot.pause(1.0)
        assert screen.states["web"].started_at == web_started
        await pilot.press("r")
        assert await pilot_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        assert await pilot_until(pilot, lambda: screen.states["web"].started_at > web_started, 40)
        assert await pilot_until(pilot, lambda: any(e.service == "web" and e.action == "restart"
                                              for e in screen._events))

        # filters: service + regex (typed), level (key), single-service view (key)
        log = screen.query_one("#log", LogView)
        assert await pilot_until(pilot, lambda: {ln.service for ln in log.shown} >= {"web", "flip"})
        await pilot.press("slash")
        await pilot.press(*"service:flip tick")
        await pilot.press("enter")
        assert await pilot_until(pilot, lambda: len(log.shown) > 0)
        await pilot.pause(1.0)
        assert {ln.service for ln in log.shown} == {"flip"}
        assert "service=flip /tick/" in log.filter.describe()
        await pilot.press("escape")
        assert log.filter.describe() == "all"
        await pilot.press("l", "l")  # "" -> info -> warn
        assert log.filter.min_level == "warn"
        await pilot.pause(1.0)
        assert log.shown and all(ln.level in ("warn", "error") for ln in log.shown)
        await pilot.press("l", "l")  # -> error -> ""
        assert log.filter.min_level == ""
        await pilot.press("v")  # selected service is web
        await pilot.pause(1.0)
        assert {ln.service for ln in log.shown} == {"web"}
        await pilot.press("v")
        assert log.filter.services is None

        # the stream follows the service to its new container after a forced recreate
        old_id = screen.states["web"].container_id
        proc = subprocess.run(["docker", "compose", *args, "up", "-d", "--force-recreate", "web"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert await pilot_until(pilot, lambda: screen.states["web"].container_id not in ("", old_id), 40)
        new_short = screen.states["web"].container_id[:12]
        assert await pilot_until(pilot, lambda: any(ln.container == new_short
                                              for ln in screen.store.rings["web"]), 40)
        assert any(ln.container == old_id[:12] for ln in screen.store.rings["web"])


@pytest.mark.engine
async def test_hostile_output_never_reaches_the_screen(stack, tmp_path) -> None:
    name, args = stack
    app = app_for(name, args)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard
        log = screen.query_one("#log", LogView)
        assert await pilot_until(pilot, lambda: any("done9" in ln.text for ln in screen.store.rings.get("evil", ())))
        await pilot.pause(0.5)
        raw = [ln.text for ln in screen.store.rings["evil"]]
        # the raw text handed to the Log widget
        for text in raw:
            for bad in FORBIDDEN:
                assert bad not in text, (bad, text)
            assert not re.search(r"[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9f]", text), repr(text)
            assert not re.search(r"\x1b(?!\[[0-9;:]*m)", text), repr(text)
        assert any("click-me done4" in t for t in raw)
        # raw C1 bytes are invalid UTF-8: shown as U+FFFD, never as controls
        assert "RAWC1:\ufffd\ufffdraw\ufffd done7" in raw
        assert any("[@click=app.quit] [bold]x[/bold] done8" in t for t in raw)
        assert any(t == "COLOR:\x1b[31mred\x1b[0m done9 ERROR boom" for t in raw)
        # what the widget rendered, and the whole screen as SVG
        rendered = "\n".join(log.plain_lines())
        assert "MARKUP:[@click=app.quit] [bold]x[/bold] done8" in rendered
        assert "COLOR:red done9" in rendered
        for bad in FORBIDDEN:
            assert bad not in rendered
        svg = app.export_screenshot()
        assert "pwn" not in svg and "\x1b" not in svg and "\x9b" not in svg
        assert app.is_running  # [@click=app.quit] was text, not an action
        # the colour survived as a style, not as bytes
        red = [ln for ln in log.shown if "done9" in ln.text]
        assert red and "\x1b[31m" in red[0].text


@pytest.mark.engine
def test_installed_command_in_tmux(stack) -> None:
    """The real terminal: nothing hostile in `capture-pane -e`, the pane title is untouched."""
    name, _args = stack
    exe = shutil.which("toolbox-tui") or str(Path(sys.executable).with_name("toolbox-tui"))
    if not os.path.exists(exe):
        pytest.fail("the installed toolbox-tui command is missing")
    tmux = Tmux("tbxdash")
    # stale COLUMNS/LINES exported (a shell profile, CI): the dashboard must use the pane's size
    tmux.start(f"exec env COLUMNS=200 LINES=60 TERM=xterm-256color {exe} dashboard -p {name}",
               width=80, height=24)
    try:
        assert wait_until(lambda: "evil" in tmux.capture() and "running" in tmux.capture(), 30), \
            tmux.capture()
        # only the evil service's logs, so the hostile lines are on screen
        tmux.keys("/")
        assert wait_until(lambda: "regex, service:NAME" in tmux.capture(), 10), tmux.capture()
        tmux.keys("service:evil", "Enter")
        assert wait_until(lambda: "filter: service=evil" in tmux.capture(), 10), tmux.capture()
        time.sleep(1)  # the filtered lines are drawn on the next refresh
        screen_text = tmux.capture(escapes=True)
        title = tmux.run("display-message", "-p", "-t", tmux.target, "#{pane_title}")
        plain = tmux.capture()
        assert "running" in plain and "evil" in plain
        rows = plain.split("\n")
        assert "Restart" in rows[23] and max(map(len, rows)) <= 80, plain  # the footer at row 24
        assert "done8" in plain and "[@click=app.quit]" in plain
        assert "pwn" not in screen_text and "pwn" not in title
        # capture-pane -e only re-emits SGR; anything else would be the container's bytes
        assert not re.search(r"\x1b(?!\[[0-9;:]*m)", screen_text)
        tmux.keys("q")
        assert wait_until(lambda: not tmux.alive(), 10), "q did not quit"
    finally:
        tmux.kill()


@pytest.mark.engine
def test_attach_by_name_to_a_project_with_no_containers(docker_client, project_name, tmp_path) -> None:
    """`-p NAME` of a project the engine has no containers for: exit 3 naming it, both with and
    without --json (before any screen opens), never an empty dashboard."""
    exe = str(Path(sys.executable).with_name("toolbox-tui"))
    for extra in (["--json"], []):
        proc = subprocess.run([exe, "dashboard", "-p", project_name, *extra], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert proc.returncode == 3, (extra, proc.returncode, proc.stdout[-300:], proc.stderr[-300:])
        assert f"project {project_name} has no containers on this engine" in proc.stderr
        assert "docker compose ls -a" in proc.stderr and "Traceback" not in proc.stderr
