"""The user's config file: keys and theme (toolbox_tui/user_config.py, screens/user_config.py).

The reader's rules on real files; the keymap and theme applied to the real dashboard app (Pilot):
the new key answers, the old one no longer does, problems are shown with file:line; and the
installed `toolbox-tui config` command on the same files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.dashboard import make_app, settle
from toolbox_tui import user_config
from toolbox_tui.screens.user_config import all_bindings, check

EXE = str(Path(sys.executable).with_name("toolbox-tui"))
"""The installed command."""


def _write(home: Path, text: str | bytes) -> Path:
    path = home / "toolbox-tui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _env(home: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(home), "HOME": "/nonexistent"}


def test_the_path_follows_xdg(tmp_path: Path) -> None:
    assert user_config.config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "toolbox-tui/config.toml"
    # relative XDG_CONFIG_HOME is ignored (the XDG rule), ~/.config is used
    assert user_config.config_path({"XDG_CONFIG_HOME": "rel", "HOME": "/h"}) == Path("/h/.config/toolbox-tui/config.toml")


def test_no_file_is_no_settings_and_no_problem(tmp_path: Path) -> None:
    cfg = user_config.load(_env(tmp_path))
    assert not cfg.found and cfg.keys == {} and cfg.theme is None and cfg.problems == []


def test_entries_are_read_with_their_lines(tmp_path: Path) -> None:
    _write(tmp_path, 'theme = "nord"\n\n[keys]\n"dashboard.restart" = "ctrl+r"\n'
                     "dashboard.pause = ['5', 'f6']\n'dashboard.filter' = \"slash, f\"\n")
    cfg = user_config.load(_env(tmp_path))
    assert cfg.problems == []
    assert cfg.theme == "nord" and cfg.theme_line == 1
    assert cfg.keys == {"dashboard.restart": "ctrl+r", "dashboard.pause": "5,f6",
                        "dashboard.filter": "slash,f"}
    assert cfg.key_lines == {"dashboard.restart": 4, "dashboard.pause": 5, "dashboard.filter": 6}


@pytest.mark.parametrize("text, line, words", [
    ('theme = "nord"\n[keys\n', 2, "not valid TOML"),
    ("colour = 3\n", 1, "unknown setting 'colour'"),
    ("theme = 4\n", 1, "theme must be a theme name"),
    ("keys = 'r'\n", 1, "keys must be a table"),
    ('[keys]\n"dashboard.restart" = 5\n', 2, "dashboard.restart: keys must be a string"),
    ('[keys]\n"dashboard.restart" = "ctrl r"\n', 2, "keys must be a string"),
    ('[keys]\n"dashboard.restart" = ""\n', 2, "keys must be a string"),
])
def test_a_bad_entry_is_named_with_its_line_and_left_out(tmp_path: Path, text: str, line: int,
                                                           words: str) -> None:
    cfg = user_config.load(_env(tmp_path))
    assert cfg.problems == []
    _write(tmp_path, text)
    cfg = user_config.load(_env(tmp_path))
    assert [p.line for p in cfg.problems] == [line], cfg.problems
    assert words in cfg.problems[0].message
    assert "dashboard.restart" not in cfg.keys


@pytest.mark.parametrize("how", ["fifo", "huge", "binary", "directory"])
def test_a_file_that_cannot_be_read_is_one_problem(tmp_path: Path, how: str) -> None:
    path = tmp_path / "toolbox-tui" / "config.toml"
    path.parent.mkdir(parents=True)
    if how == "fifo":
        os.mkfifo(path)  # would block a plain open() for good
    elif how == "huge":
        path.write_bytes(b"# " + b"x" * (2 * 1024 * 1024))
    elif how == "binary":
        path.write_bytes(b'theme = "\xff\xfe"\n')
    else:
        path.mkdir()
    cfg = user_config.load(_env(tmp_path))
    assert cfg.found and cfg.keys == {} and len(cfg.problems) == 1
    assert "not used" in cfg.problems[0].message or "not read" in cfg.problems[0].message


def test_every_binding_of_the_faces_has_an_id_and_ids_name_one_action() -> None:
    bindings = all_bindings()
    assert len(bindings) > 40
    ids = {b.id for b in bindings}
    assert {"dashboard.restart", "wizard.next", "dialog.yes", "app.quit"} <= ids


def test_unknown_ids_themes_and_clashes_are_problems(tmp_path: Path) -> None:
    _write(tmp_path, '[keys]\n"dashboard.restrat" = "x"\n"dashboard.filter" = "i"\n'
                     '"dashboard.pause" = "5"\n')
    keymap, problems = check(user_config.load(_env(tmp_path)))
    assert keymap == {"dashboard.filter": "i", "dashboard.pause": "5"}
    text = [(p.line, p.message) for p in problems]
    assert (2, next(m for ln, m in text if "dashboard.restrat" in m)) in text
    clash = [(ln, m) for ln, m in text if "given to both" in m]
    assert clash == [(3, clash[0][1])] and "dashboard.inspect" in clash[0][1]
    # a clash resolved by moving the other binding too is not one
    _write(tmp_path, '[keys]\n"dashboard.filter" = "i"\n"dashboard.inspect" = "slash"\n')
    assert check(user_config.load(_env(tmp_path)))[1] == []
    _write(tmp_path, 'theme = "no-such-theme"\n')
    problems = check(user_config.load(_env(tmp_path)))[1]
    assert len(problems) == 1 and problems[0].line == 1 and "nord" in problems[0].message


async def test_the_dashboard_answers_to_the_users_keys_and_theme(tmp_path: Path, monkeypatch) -> None:
    _write(tmp_path, 'theme = "nord"\n[keys]\n"dashboard.pause" = "5"\n"dashboard.nope" = "x"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    app = make_app()
    notices: list[str] = []
    real_notify = app.notify
    monkeypatch.setattr(app, "notify", lambda message, **kw: (notices.append(message),
                                                              real_notify(message, **kw)))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.dashboard
        assert app.theme == "nord"
        await pilot.press("p")  # the default key no longer pauses
        await pilot.pause()
        assert screen.paused is False
        await pilot.press("5")
        await pilot.pause()
        assert screen.paused is True
        assert any("config.toml:4" in n and "dashboard.nope" in n for n in notices), notices
        titles = [c.help for c in app.get_system_commands(screen) if "Pause" in c.title]
        assert titles == ["dashboard.pause: pause"]


def test_the_config_command_lists_problems_and_bindings(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    run = lambda *a: subprocess.run([EXE, "config", *a], env=env, capture_output=True,  # noqa: E731
                                    text=True, timeout=60, stdin=subprocess.DEVNULL)
    proc = run()
    assert proc.returncode == 0 and "not there" in proc.stdout, proc.stderr
    path = _write(tmp_path, '[keys]\n"dashboard.restart" = "ctrl+r"\n"x\\u001b]0;pwned\\u0007" = "y"\n')
    proc = run()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "dashboard.restart = ctrl+r" in proc.stdout
    assert f"{path}:3: no binding has the id" in proc.stdout
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    doc = json.loads(run("--json").stdout)
    assert doc["keys"] == {"dashboard.restart": "ctrl+r"} and doc["problems"][0]["line"] == 3
    row = next(r for r in doc["bindings"] if r["id"] == "dashboard.restart")
    assert row["keys"] == "ctrl+r" and row["default"] == "r" and row["changed"]
    listing = run("--bindings").stdout
    assert "dashboard.restart" in listing and "(yours)" in listing and "wizard.next" in listing
