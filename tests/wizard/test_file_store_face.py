"""The wizard's encrypted file store (issue 18, "the operator has no Secret Service"): with no
keyring, `f` opens a masked passphrase dialog; a new store is created (asked twice), a wrong
passphrase is said in the dialog and retried, and the values then go to the real file on disk.

The Pilot test drives the app in-process; the tmux test drives the installed command in a real
terminal, with no D-Bus session at all (what an operator over SSH has)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from tests.helpers.wizard import SIZE, fix_paths, make_app, screen_text, wait_for

pytest.importorskip("textual")
from textual.widgets import Input  # noqa: E402

PASSPHRASE = "Passphrase-Canary-7f3a9c"
CANARY = "FileStoreCanary-3e1d6b8a2c"


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """A private XDG data folder: the store lands in `<it>/toolbox-tui/secrets.cfg`."""
    home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv("TOOLBOX_TUI_STORE", raising=False)
    return home


async def _unlock(pilot, app, *, twice: bool, passphrase: str = PASSPHRASE) -> None:
    from toolbox_tui.screens.dialogs import PassphraseDialog

    await wait_for(pilot, lambda: isinstance(app.screen, PassphraseDialog), what="passphrase dialog")
    dialog = app.screen
    first = dialog.query_one("#passphrase-1", Input)
    assert first.password, "the passphrase input is masked"
    await pilot.press(*passphrase)
    await pilot.press("enter")
    if twice:
        await pilot.press(*passphrase)
        await pilot.press("enter")
    assert passphrase not in screen_text(app)


async def test_file_store_created_unlocked_and_wrong_passphrase_retried(
        example_copy, project_name, no_keyring, data_home):  # noqa: F811
    from toolbox_tui.screens.dialogs import PassphraseDialog
    from toolbox_tui.secrets.store import open_file_store

    fix_paths(example_copy)
    store_file = data_home / "toolbox-tui" / "secrets.cfg"
    app = make_app(example_copy, project_name, start_step="secrets")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.entries, what="inventory")
        text = screen_text(app)
        assert "No secure keyring" in text and "create an encrypted file" in text
        await pilot.press("f")
        await _unlock(pilot, app, twice=True)
        await wait_for(pilot, lambda: app.store is not None, timeout=60, what="store created")
        assert app.store.label == "encrypted-file"
        assert "encrypted file" in screen_text(app)
        st = os.stat(store_file)
        assert stat.S_IMODE(st.st_mode) == 0o600 and stat.S_IMODE(os.stat(store_file.parent).st_mode) == 0o700
        await wait_for(pilot, lambda: screen.missing is not None and not screen.busy, what="check")
        inp = screen.query_one("#input-db_password", Input)
        inp.focus()
        await pilot.press(*CANARY)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not screen.busy and "db_password" not in (screen.missing or ["db_password"]),
                       timeout=30, what="saved")
        assert "stored in the encrypted file" in screen_text(app)
    assert CANARY.encode() not in store_file.read_bytes()
    assert PASSPHRASE.encode() not in store_file.read_bytes()
    # another app (a new process would do the same): wrong passphrase first, then the right one
    app = make_app(example_copy, project_name, start_step="secrets")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.entries, what="inventory")
        assert "unlock an encrypted file" in screen_text(app)
        before = store_file.read_bytes()
        await pilot.press("f")
        await _unlock(pilot, app, twice=False, passphrase="not-the-passphrase")
        dialog = app.screen
        await wait_for(pilot, lambda: "wrong passphrase" in screen_text(app), timeout=60, what="wrong")
        assert isinstance(app.screen, PassphraseDialog) and app.store is None
        assert dialog.query_one("#passphrase-1", Input).value == ""
        assert store_file.read_bytes() == before, "a wrong passphrase changes nothing"
        await _unlock(pilot, app, twice=False)
        await wait_for(pilot, lambda: app.store is not None, timeout=60, what="unlocked")
        await wait_for(pilot, lambda: screen.missing is not None and not screen.busy, what="check")
        assert "db_password" not in screen.missing
    assert open_file_store(project_name, lambda new, path: PASSPHRASE).get("db_password") == CANARY


@pytest.mark.engine
def test_installed_wizard_in_tmux_creates_and_unlocks_the_file_store(
        example_copy, example_ports, project_name, test_image, compose_ready, tmp_path):
    """The installed command in a real terminal, no D-Bus session at all: Secrets offers `f`;
    the masked dialog creates the store; a second run rejects a wrong passphrase in the dialog
    and opens with the right one. The passphrase never shows on the pane."""
    from tests.helpers.tmux import Tmux
    from tests.helpers.tmux import installed_command

    data = tmp_path / "xdg-data"
    store_file = data / "toolbox-tui" / "secrets.cfg"
    env = {"TBX_IMAGE": test_image, "XDG_DATA_HOME": str(data), "TERM": "xterm-256color"}
    command = ("env -u DBUS_SESSION_BUS_ADDRESS -u TOOLBOX_TUI_STORE "
               + " ".join(f"{k}={v}" for k, v in env.items())
               + f" {installed_command()} -p {project_name}; echo WIZARD-EXIT=$?; sleep 600")
    fix_paths(example_copy)
    tmux = Tmux("tbxfile")
    try:
        tmux.start(command, cwd=example_copy, width=120, height=40)
        tmux.wait("Services (13)", 30)
        tmux.keys("n")
        tmux.wait("checks passed. Press n", 60)
        tmux.keys("n")
        tmux.wait("is where the compose files say", 60)  # fixed beforehand by `fix --apply`
        tmux.keys("n")
        screen = tmux.wait("No secure keyring", 30)
        assert "create an encrypted file" in screen
        tmux.keys("f")
        tmux.wait("Encrypted secret store", 20)  # the dialog title
        _type_masked(tmux, PASSPHRASE)
        _type_masked(tmux, PASSPHRASE)
        tmux.wait("Values are stored in the encrypted file", 60,
                  until="differ")  # fail fast on a dialog error
        assert stat.S_IMODE(os.stat(store_file).st_mode) == 0o600
        tmux.wait("required secret(s) have no value", 30)
        tmux.keys("C-t")
        tmux.wait("Every required secret has a value", 60)
        tmux.keys("q")  # quits at once (or asks when work is in flight)
        import time

        time.sleep(1)
        if "WIZARD-EXIT=" not in tmux.capture():
            tmux.keys("y")
        tmux.wait("WIZARD-EXIT=", 30)
    finally:
        tmux.kill()
    tmux = Tmux("tbxfile")
    try:
        tmux.start(command, cwd=example_copy, width=120, height=40)
        screen = tmux.wait("unlock an encrypted file", 90)
        tmux.keys("f")
        tmux.wait("Encrypted secret store", 20)
        _type_masked(tmux, "not-the-passphrase")
        screen = tmux.wait("wrong passphrase", 60)
        assert "not-the-passphrase" not in screen
        _type_masked(tmux, PASSPHRASE)
        screen = tmux.wait("Values are stored in the encrypted file", 60)
        assert PASSPHRASE not in screen
        tmux.wait("Every required secret has a value", 60)
    finally:
        tmux.kill()
    raw = store_file.read_bytes()
    assert PASSPHRASE.encode() not in raw and b"[Argon2] AES128.GCM" in raw


def _type_masked(tmux, text: str) -> None:  # noqa: ANN001
    """Type `text` into the focused masked input, see it masked (never in clear), press Enter."""
    import time

    time.sleep(0.5)  # the dialog (or its next input) takes focus first
    tmux.keys(text, literal=True)
    tmux.wait("•" * len(text), 20)
    assert text not in tmux.capture()
    tmux.keys("Enter")
