"""Getting lines out of the log view: `w` exports the filtered history to a file the user names
(0600, an existing file replaced only after a yes, its old content kept), `c` copies our own
sanitized text to the terminal's clipboard (OSC 52): the mouse selection, else the rows on screen."""

from __future__ import annotations

import os
import stat

import pytest

pytest.importorskip("textual")

from toolbox_tui.live.log_export import ExportError, ExportExists, export_lines  # noqa: E402
from toolbox_tui.live.log_lines import LogBatch, LogLine  # noqa: E402
from toolbox_tui.screens.dashboard.log_view import LogView  # noqa: E402
from toolbox_tui.screens.dashboard.messages import LogsArrived  # noqa: E402
from toolbox_tui.screens.dialogs import ConfirmDialog, TextDialog  # noqa: E402

from tests.helpers.dashboard import make_app, settle  # noqa: E402
from tests.helpers.waiting import pilot_until  # noqa: E402


def _notes(app) -> list[str]:
    return [n.message for n in app._notifications]


async def _type_path(pilot, app, path) -> None:
    assert await pilot_until(pilot, lambda: isinstance(app.screen, TextDialog), 10)
    box = app.screen.query_one("#dialog-input")
    # the folder is set, the file name typed: ~60 key presses per path took ~6 s on a loaded run
    box.value = str(path.parent) + os.sep
    box.cursor_position = len(box.value)
    await pilot.press(*path.name)
    await pilot.press("enter")


async def test_export_writes_the_filtered_view_0600_and_asks_before_replacing(tmp_path) -> None:
    app = make_app()
    target = tmp_path / "out.log"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.dashboard
        await pilot.press("l", "l", "l")  # level >= error
        assert screen.query_one("#log", LogView).filter.min_level == "error"
        await pilot.press("w")
        await _type_path(pilot, app, target)
        assert await pilot_until(pilot, lambda: target.exists() and any("wrote" in m for m in _notes(app)), 10)
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
        body = target.read_text().splitlines()
        assert body[0].startswith("# toolbox-tui logs of demo, filter: level>=error")
        assert len(body) > 1 and all("ERROR request" in ln for ln in body[1:])
        assert body[1].startswith("2026-11-27T10:00:03.000000000Z web | ERROR request 3")
        first = target.read_text()

        # it exists: no (n) leaves it alone, yes replaces it and keeps the old one as .bak
        await pilot.press("escape")  # clear the filter: everything, the worker's colours too
        await pilot.press("w")
        await _type_path(pilot, app, target)
        assert await pilot_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), 10)
        await pilot.press("n")
        assert await pilot_until(pilot, lambda: any("not written" in m for m in _notes(app)), 10)
        assert target.read_text() == first
        await pilot.press("w")
        await _type_path(pilot, app, target)
        assert await pilot_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), 10)
        await pilot.press("y")
        assert await pilot_until(pilot, lambda: "job 2 done" in target.read_text(), 10)
        assert (tmp_path / "out.log.bak").read_text() == first
        assert stat.S_IMODE(os.stat(tmp_path / "out.log.bak").st_mode) == 0o600
        text = target.read_text()
        assert "\x1b" not in text and "job 2 done [@click=app.quit]" in text  # plain, sanitized
        assert len(text.splitlines()) == 31

        # a directory that does not exist: said, nothing written
        await pilot.press("w")
        await _type_path(pilot, app, tmp_path / "nope" / "x.log")
        assert await pilot_until(pilot, lambda: any("does not exist" in m for m in _notes(app)), 10)
        assert app.is_running and app.screen is screen


def test_export_refuses_what_is_not_a_regular_file(tmp_path) -> None:
    line = LogLine("web", "w" * 12, "", 0, "\x1b[31mred\x1b[0m", "", 1)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ExportError) as err:
        export_lines(tmp_path / "fifo", [line], overwrite=True)
    assert "is not a regular file" in err.value.message
    (tmp_path / "f").write_text("old")
    with pytest.raises(ExportExists):
        export_lines(tmp_path / "f", [line])
    assert (tmp_path / "f").read_text() == "old"
    res = export_lines(tmp_path / "g", [line])
    assert res.lines == 1 and (tmp_path / "g").read_text() == "- web | red\n"


async def test_copy_sends_our_plain_text_with_osc52(monkeypatch) -> None:
    app = make_app()
    sent: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(app._driver, "write", lambda data: sent.append(data), raising=False)
        screen = app.dashboard
        hostile = LogLine("web", "w" * 12, "", 0, "evil tail done", "", 100)
        screen.post_message(LogsArrived(LogBatch((hostile,))))
        await pilot.pause(0.3)
        await pilot.press("c")
        assert await pilot_until(pilot, lambda: any("copied the rows on screen" in m
                                                    for m in _notes(app)), 10)
        clip = app._clipboard
        assert "web      │ evil tail done" in clip and "\x1b" not in clip
        assert "job 2 done [@click=app.quit]" in clip
        assert any(d.startswith("\x1b]52;c;") for d in sent)

        # a mouse selection in the log view: only what is selected
        log = screen.query_one("#log", LogView)
        log.auto_scroll = False
        log.scroll_to(y=0, animate=False)
        await pilot.pause(0.2)
        await pilot.mouse_down(log, offset=(0, 0))
        await pilot.hover(log, offset=(40, 1))
        await pilot.mouse_up(log, offset=(40, 1))
        await pilot.pause(0.2)
        await pilot.press("c")
        assert await pilot_until(pilot, lambda: any("copied the selection" in m
                                                    for m in _notes(app)), 10)
        rows = app._clipboard.split("\n")
        assert len(rows) == 2 and rows[0] == log.plain_lines(0, 1)[0]

        monkeypatch.setenv("TOOLBOX_TUI_NO_OSC52", "1")
        before = app._clipboard
        await pilot.press("c")
        assert await pilot_until(pilot, lambda: any("copy is off" in m for m in _notes(app)), 10)
        assert app._clipboard == before


def name_the_file(tmux, target) -> None:
    """w, then replace the proposed name with `target` and press Enter (each step seen on the
    pane first: keys typed before the dialog's input has focus would go elsewhere)."""
    from tests.helpers.waiting import wait_until

    tmux.keys("w")
    tmux.wait("Export the log view", 10)
    tmux.wait("-logs-", 10)  # the proposed name, in the focused input
    tmux.keys("C-u")
    assert wait_until(lambda: "-logs-" not in tmux.capture(), 10), tmux.capture()
    tmux.keys(str(target), literal=True)
    tmux.wait(target.name, 10)
    tmux.keys("Enter")


@pytest.mark.engine
def test_export_and_copy_in_tmux(docker_client, test_image, project_name, cleanup_project,
                                 tmp_path) -> None:
    """The installed command on a real stack: filter to errors, w writes exactly those lines to
    the named file (0600), c puts the rows on screen into tmux's clipboard buffer through OSC 52,
    a second w to the same file asks first."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from tests.helpers.ops_stack import make_ops_stack
    from tests.helpers.tmux import Tmux
    from tests.helpers.waiting import wait_until

    args = make_ops_stack(tmp_path, test_image, project_name, cleanup_project)
    exe = shutil.which("toolbox-tui") or str(Path(sys.executable).with_name("toolbox-tui"))
    target = tmp_path / "errors.log"
    tmux = Tmux("tbxexport")
    tmux.start(f"env TERM=xterm-256color {exe} dashboard {' '.join(args)}; echo DASH-EXIT=$?; "
               "sleep 30", width=120, height=40, cwd=tmp_path)
    tmux.run("set-option", "-g", "set-clipboard", "on")  # OSC 52 from the app makes a buffer
    try:
        assert wait_until(lambda: "app" in tmux.capture() and "running" in tmux.capture(), 40), \
            tmux.capture()
        tmux.keys("/")
        tmux.wait("regex, service:NAME", 10)
        tmux.keys("level:error", literal=True)
        tmux.keys("Enter")
        tmux.wait("filter: level>=error", 10)
        tmux.wait("app oops", 20)
        name_the_file(tmux, target)
        tmux.wait("wrote", 20)
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
        body = target.read_text().splitlines()
        assert body[0].startswith(f"# toolbox-tui logs of {project_name}, filter: level>=error")
        assert len(body) >= 2 and all(" app | app oops " in ln and ln.endswith("ERROR")
                                      for ln in body[1:]), body

        tmux.keys("c")
        tmux.wait("copied the rows on screen", 10)
        clip = subprocess.run(["tmux", "-L", tmux.socket, "show-buffer"], capture_output=True,
                              text=True, timeout=30).stdout
        assert "app oops" in clip and "\x1b" not in clip and "tick" not in clip, clip

        name_the_file(tmux, target)
        tmux.wait("Replace the file?", 10)
        tmux.keys("n")
        tmux.wait("not written", 10)
        assert target.read_text().splitlines() == body
        tmux.keys("q")
        tmux.wait("DASH-EXIT=0", 20)
    finally:
        tmux.kill()
