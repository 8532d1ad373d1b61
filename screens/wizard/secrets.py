"""Step 4 — Secrets: a form with masked inputs, reveal, validation as you type, generate, and
where the values go (the OS keyring, or — chosen explicitly when there is none — this session).

A value typed here lives in its `Input` until it is saved to the store, and then only in the
store. It is never put in a notification, a status line, a log, an exception text or wizard.json;
validation messages come from `secret_kinds.problems`, which names the rule, never the value.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static

from toolbox_tui.screens.stylesheets import load_css
from toolbox_tui.screens.wizard.secret_rows import SecretRow, editable, entry_header, home
from toolbox_tui.screens.wizard.step_base import StepScreen

GIVEN_NOTES = {
    "compose": "the compose file sets this variable: nothing to type (change it there)",
    "compose-placeholder": "the compose file sets this variable to a placeholder: replace it there",
    "environment-placeholder": "`.env` (or the environment) sets this to a placeholder: replace "
                               "it there with a real value",
}
"""Variables whose value the project itself gives: the form does not ask for them."""


def note_style(status: Any) -> str:
    return "yellow" if status.store.endswith("placeholder") else "dim"


class StoreReady(Message):
    """Keyring detection finished: `store` is usable, or `info` says why there is none."""

    def __init__(self, info: Any, store: Any, error: str = "", *, ask_file: bool = False,
                 file_info: Any = None) -> None:
        super().__init__()
        self.info = info
        self.store = store
        self.error = error
        self.ask_file = ask_file
        """The encrypted file store was chosen beforehand (`TOOLBOX_TUI_STORE=file`): ask now."""
        self.file_info = file_info
        """`file_store_disk.FileStoreInfo`: where the encrypted file store is, if it can be used."""


class SecretsChecked(Message):
    """Inventory and statuses (names only) after a (re)check or a save."""

    def __init__(self, entries: list[Any], status: dict[str, Any], missing: list[str],
                 saved: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.entries = entries
        self.status = status
        self.missing = missing
        self.saved = saved


class SecretsStep(StepScreen):
    """The secrets form."""

    STEP = "secrets"
    RECHECK_KEY = "f5"
    CSS = load_css("step_secrets.tcss")
    BINDINGS = [
        Binding("ctrl+r", "reveal", "Reveal", id="secrets.reveal"),
        Binding("ctrl+g", "generate", "Generate", id="secrets.generate"),
        Binding("ctrl+s", "save", "Save", id="secrets.save"),
        Binding("ctrl+t", "generate_all", "Generate all", id="secrets.generate_all"),
        Binding("G", "generate_all", "Generate all", id="secrets.generate_all_alt", show=False),
        Binding("s", "session_store", "Session store", id="secrets.session"),
        Binding("f", "file_store", "Encrypted file", id="secrets.file"),
        Binding("ctrl+n", "next_step", "Next", id="wizard.next_alt"),
        Binding("f5", "recheck", "Re-check", id="secrets.recheck", show=False),
    ]
    """Reveal/generate act on the focused input; ctrl+s saves every valid typed value; ctrl+t (or G
    outside an input) generates and saves every missing secret that may be generated; with no Secret
    Service, f picks the encrypted file store (passphrase in a masked dialog), s the session-only store."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Any] = []
        self.status: dict[str, Any] = {}
        self.missing: list[str] | None = None
        """Required secrets without a value (None until checked)."""
        self.keyring_info: Any = None
        self.file_info: Any = None
        """`file_store_disk.FileStoreInfo` (path, exists, problem) when there is no secure keyring."""
        self.busy = False
        self.reread_note = ""
        """Set when the last check found the compose files changed on disk (for the status line)."""
        self.broken = ""
        """The project does not load any more (the error, with file:line); f5 re-checks."""

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Secrets", style="bold"), classes="section-title")
        yield Static(Text("Looking for a keyring…", style="dim"), id="keyring-status")
        yield VerticalScroll(id="secrets-form")

    def on_mount(self) -> None:
        self._open_store()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.wizard.store is not None and self.entries and not self.busy:
            self._check()

    # --- store ----------------------------------------------------------------------------------

    def _open_store(self) -> None:
        wizard = self.wizard
        if wizard.store is not None:
            self._show_store(wizard.store, None)
            self._check()
            return
        backend = wizard.backend

        def work() -> None:
            info = backend.keyring_info()
            store, error = None, ""
            file_info = backend.file_store_info()
            if backend.chosen_store() == "file":  # TOOLBOX_TUI_STORE=file: the operator's choice
                self.post_message(StoreReady(info, None, "", ask_file=True, file_info=file_info))
                return
            if info.secure:
                try:
                    store = backend.open_store(wizard.stack)
                except Exception as exc:  # noqa: BLE001 - NoSecureKeyring/StoreError: no values inside
                    error = str(exc)
            self.post_message(StoreReady(info, store, error, file_info=file_info))

        self.run_job("opening the keyring", work)

    def on_store_ready(self, message: StoreReady) -> None:
        self.keyring_info = message.info
        self.file_info = message.file_info
        if message.store is not None:
            self.wizard.store = message.store
        self._show_store(message.store, message.info, message.error)
        self._check()
        if message.ask_file:
            self.action_file_store()

    def _show_store(self, store: Any, info: Any, error: str = "") -> None:
        w = self.query_one("#keyring-status", Static)
        if store is not None and getattr(store, "label", "") == "session":
            w.update(Text("Values are kept for this session only (in memory; forgotten when the "
                          "wizard exits).", style="yellow"))
        elif store is not None and getattr(store, "label", "") == "encrypted-file":
            w.update(Text(f"Values are stored in the {store.backend} (unlocked for this session).",
                          style="green"))
        elif store is not None:
            w.update(Text(f"Values are stored in the OS keyring ({store.backend}).", style="green"))
        else:
            reason = error or (f"{info.name}: {info.reason}" if info is not None else "unknown")
            fi = self.file_info
            if fi is not None and fi.problem:
                file_choice: tuple = (("f", "bold"), f" (encrypted file) is not available: {fi.problem}; ")
            elif fi is not None:
                verb = "unlock" if fi.exists else "create"
                file_choice = (("f", "bold"), f" to {verb} an encrypted file, {home(fi.path)} "
                                              "(passphrase asked now), or ")
            else:
                file_choice = ()
            w.update(Text.assemble(("No secure keyring", "bold red"), f" ({reason}). ",
                                   "toolbox-tui never keeps secrets in plain text. Press ",
                                   *file_choice, ("s", "bold"), " to keep them for this session "
                                   "only; or start a Secret Service and come back."))
        self.refresh_bindings()

    def action_session_store(self) -> None:
        if self.wizard.store is not None:
            return
        self.wizard.store = self.wizard.backend.open_store(self.wizard.stack, session=True)
        self._show_store(self.wizard.store, self.keyring_info)
        self._check()

    def action_file_store(self) -> None:
        """The encrypted file store: its passphrase in a masked dialog, then the form."""
        from toolbox_tui.screens.dialogs import PassphraseDialog

        if self.wizard.store is not None:
            return
        info = self.file_info or self.wizard.backend.file_store_info()
        self.file_info = info
        if info.problem:
            self.set_status(f"The encrypted file store cannot be used: {info.problem}. {info.hint}",
                            "red")
            return
        wizard = self.wizard

        def unlock(passphrase: str) -> tuple[Any, str]:
            return wizard.backend.open_file_store(wizard.stack, passphrase)

        def chosen(store: Any) -> None:
            if store is None:
                self.set_status("No store chosen: press f for the encrypted file, s for this session only.")
                return
            wizard.store = store
            self._show_store(store, self.keyring_info)
            self._check()

        self.app.push_screen(PassphraseDialog(home(info.path), not info.exists, unlock), chosen)

    # --- inventory and statuses ---------------------------------------------------------------

    def _check(self, saved: tuple[str, ...] = (), values: dict[str, str] | None = None) -> None:
        wizard = self.wizard
        backend = wizard.backend
        self.busy = True

        def work() -> None:
            stack, _changed = self.reread()  # edited compose file: the inventory follows it
            store = wizard.store
            for name, value in (values or {}).items():
                backend.store_value(store, name, value)
            entries = backend.inventory(stack)
            status = backend.secret_status(stack, entries, store) if store is not None else {}
            missing = backend.missing_secrets(stack, store) if store is not None else []
            self.post_message(SecretsChecked(entries, status, missing, tuple(values or ()) or saved))

        self.run_job("checking secrets", work)

    def job_failed(self, message: Any) -> None:
        from toolbox_tui.screens.wizard.step_base import STALE_KINDS

        self.busy = False
        if getattr(message, "kind", "") in STALE_KINDS:
            self.broken = message.text
            self.wizard.mark(self.STEP, False)
        self.refresh_bindings()

    def stack_reread(self, message: Any) -> None:
        self.reread_note = f"{', '.join(message.changed)} changed on disk: read again. "

    def action_recheck(self) -> None:
        if self.busy:
            return
        self.set_status("Re-checking the secrets…")
        self._check()

    async def on_secrets_checked(self, message: SecretsChecked) -> None:
        self.busy = False
        self.broken = ""
        note, self.reread_note = self.reread_note, ""
        form = self.query_one("#secrets-form", VerticalScroll)
        names = [e.name for e in message.entries]
        fresh = names != [e.name for e in self.entries]
        self.entries, self.status = message.entries, message.status
        if fresh:
            await form.remove_children()
            await form.mount_all([SecretRow(e) for e in message.entries])
        self.missing = message.missing if self.wizard.store is not None else None
        if fresh:
            self._focus_first_missing()
        self._update_headers(message.saved)
        saved = note + (f"Saved {len(message.saved)} secret(s). " if message.saved else "")
        if self.missing:
            self.set_status(f"{saved}{len(self.missing)} required secret(s) have no value: "
                            f"{', '.join(self.missing)}", "yellow")
        elif self.wizard.store is not None:
            self.set_status(f"{saved}Every required secret has a value. Press ctrl+n to continue.",
                            "green")
        if self.next_blocked():
            self.wizard.mark(self.STEP, False)
        self.refresh_bindings()

    def _update_headers(self, saved: tuple[str, ...] = ()) -> None:
        for row in self.query(SecretRow):
            st = self.status.get(row.entry.name)
            row.query_one(".secret-header", Static).update(entry_header(row.entry, st))
            note = GIVEN_NOTES.get(getattr(st, "store", None) or "")
            if note and row.query(".secret-input-row"):  # nothing to ask: say where it is set
                row.query_one(".secret-input-row").display = False
                row.query_one(".secret-check", Static).update(Text(note, style=note_style(st)))
            if row.entry.name in saved:
                inp = row.query_one(Input)
                inp.value = ""
                inp.password = True
                row.query_one(".secret-check", Static).update(Text("saved", style="green"))

    def _focus_first_missing(self) -> None:
        for row in self.query(SecretRow):
            if self.missing and row.entry.name in self.missing and row.query(Input):
                row.query_one(Input).focus()
                return

    # --- typing ---------------------------------------------------------------------------------

    def _row_of(self, widget: Any) -> SecretRow | None:
        node = widget
        while node is not None and not isinstance(node, SecretRow):
            node = node.parent
        return node

    def on_input_changed(self, event: Input.Changed) -> None:
        row = self._row_of(event.input)
        if row is None:
            return
        check = row.query_one(".secret-check", Static)
        if not event.value:
            check.update("")
            return
        problems = self.wizard.backend.problems(row.entry, event.value)
        if problems:
            check.update(Text("✗ " + "; ".join(problems), style="red"))
        else:
            check.update(Text("✓ valid (ctrl+s saves)", style="green"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def _focused_row(self) -> SecretRow | None:
        focused = self.focused
        return self._row_of(focused) if isinstance(focused, Input) else None

    def action_reveal(self) -> None:
        row = self._focused_row()
        if row is None:
            self.set_status("Focus a secret's input (Tab) to reveal it.")
            return
        inp = row.query_one(Input)
        inp.password = not inp.password

    def action_generate(self) -> None:
        row = self._focused_row()
        if row is None:
            self.set_status("Focus a secret's input (Tab) to generate a value for it.")
            return
        if not row.entry.generate:
            self.set_status(f"{row.entry.name} cannot be generated (it is issued by someone else); "
                            "type or paste it.", "yellow")
            return
        row.query_one(Input).value = self.wizard.backend.generate(row.entry)
        self.set_status(f"Generated a value for {row.entry.name} (not saved yet: ctrl+s).")

    def action_save(self) -> None:
        if self.wizard.store is None:
            self.set_status("Choose where values go first (f: encrypted file, s: this session only).", "red")
            return
        values: dict[str, str] = {}
        bad: list[str] = []
        for row in self.query(SecretRow):
            inputs = row.query(Input)
            if not inputs or not inputs.first().value:
                continue
            value = inputs.first().value
            if self.wizard.backend.problems(row.entry, value):
                bad.append(row.entry.name)
            else:
                values[row.entry.name] = value
        if bad:
            self.set_status(f"Not saved: {', '.join(bad)} fail validation (see below each).", "red")
            return
        if not values:
            self.set_status("Nothing typed to save.")
            return
        self._check(values=values)

    def action_generate_all(self) -> None:
        if self.wizard.store is None:
            self.set_status("Choose where values go first (f: encrypted file, s: this session only).", "red")
            return
        missing = set(self.missing or ())
        values = {e.name: self.wizard.backend.generate(e) for e in self.entries
                  if e.name in missing and e.generate and editable(e)}
        if not values:
            self.set_status("No missing secret can be generated; type the remaining ones.")
            return
        self._check(values=values)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("session_store", "file_store"):
            return None if self.wizard.store is not None else True
        if action in ("save", "generate_all") and self.wizard.store is None:
            return None
        return super().check_action(action, parameters)

    def next_blocked(self) -> str:
        if self.broken:
            return "the project does not load: fix the file, then f5 re-checks"
        if self.wizard.store is None:
            return "choose where secret values are kept (f: encrypted file, s: this session only)"
        if self.missing is None:
            return "the secrets are still being checked"
        if self.missing:
            return f"{len(self.missing)} required secret(s) have no value: {', '.join(self.missing[:4])}"
        for row in self.query(SecretRow):
            inputs = row.query(Input)
            if inputs and inputs.first().value:
                return "some typed values are not saved yet: ctrl+s saves them"
        return ""
