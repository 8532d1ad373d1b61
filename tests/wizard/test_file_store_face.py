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

from tests.helpers.wizard import screen_text, wait_for
from tests.wizard.test_wizard import SIZE, fix_paths, make_app, no_keyring  # noqa: F401

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
