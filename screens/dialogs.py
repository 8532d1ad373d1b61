"""The modal dialogs of both faces: confirm, ask for a line of text, show a long text.

Every text that may come from outside (paths, diffs, compose errors) is passed in as
`rich.text.Text` or plain `str` shown through `Text`, never as markup.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static



def _text(value: str | Text) -> Text:
    return value if isinstance(value, Text) else Text(value)


class Dialog(ModalScreen):
    """What every dialog shares: its class `dialog`, styled by `styles/common.tcss` (both apps load
    it): centred over the screen, which stays visible behind it."""

    def __init__(self, *, classes: str = "") -> None:
        super().__init__(classes=f"dialog {classes}".strip())


class ConfirmDialog(Dialog):
    """A yes/no question: y answers yes, n or Escape no, Enter the `default` answer.

    The default is no: Enter says yes only where the question asks for what the user just
    chose, with its preview on screen (apply this plan, quit)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="dialog.yes"),
        Binding("n,escape", "answer(False)", "No", id="dialog.no"),
        Binding("enter", "answer_default", "Default", id="dialog.default", show=False),
    ]
    """Keyboard answers; Enter gives the default answer the key line shows."""

    def __init__(self, title: str, message: str | Text, *, yes: str = "Yes", no: str = "No",
                 default: bool = False) -> None:
        super().__init__()
        self.title_text = title
        """Headline of the dialog."""
        self.message = _text(message)
        """The question, as plain text (never markup: it may hold names from the engine)."""
        self.yes, self.no = yes, no
        self.default = default
        """What Enter answers."""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Label(Text(self.title_text, style="bold"), id="dialog-title")
            yield Static(self.message, id="dialog-message")
            yield Static(Text.assemble(("y", "bold"), f" {self.yes}   ", ("n", "bold"),
                                       f"/Esc {self.no}   ", ("Enter", "bold"),
                                       f" {self.yes if self.default else self.no}"), id="dialog-keys")

    def action_answer(self, value: bool) -> None:
        self.dismiss(bool(value))

    def action_answer_default(self) -> None:
        self.dismiss(self.default)


class TextDialog(Dialog):
    """Ask for one line of text; enter submits, escape cancels (None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]
    """Escape leaves the value unchanged."""

    def __init__(self, title: str, prompt: str, value: str = "", *, placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.value = value
        """Initial text of the input."""
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Label(Text(self.title_text, style="bold"), id="dialog-title")
            yield Static(Text(self.prompt), id="dialog-message")
            yield Input(self.value, placeholder=self.placeholder, id="dialog-input")
            yield Static(Text.assemble(("Enter", "bold"), " OK   ", ("Esc", "bold"), " Cancel"),
                         id="dialog-keys")

    def on_mount(self) -> None:
        inp = self.query_one(Input)
        inp.cursor_blink = getattr(self.app, "cursor_blink", True)
        inp.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextViewDialog(Dialog):
    """A long read-only text (a diff, a plan); scroll with the arrows, escape/q closes."""

    BINDINGS = [Binding("escape,q,enter", "close", "Close", id="dialog.close")]
    """Any of these returns to the step."""

    def __init__(self, title: str, body: Text | str) -> None:
        super().__init__(classes="wide")
        self.title_text = title
        self.body = _text(body)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Label(Text(self.title_text, style="bold"), id="dialog-title")
            with VerticalScroll(id="dialog-scroll"):
                yield Static(self.body, id="dialog-body")
            with Horizontal(id="dialog-keys-row"):
                yield Static(Text.assemble(("Esc", "bold"), " Close   ", ("↑↓", "bold"), " Scroll"),
                             id="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#dialog-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)


def diff_text(diff: str) -> Text:
    """A unified diff coloured line by line (the diff is data, never markup)."""
    out = Text()
    for line in diff.splitlines():
        style = ("green" if line.startswith("+") and not line.startswith("+++")
                 else "red" if line.startswith("-") and not line.startswith("---")
                 else "cyan" if line.startswith("@@") else "")
        out.append(line + "\n", style=style)
    return out


class PassphraseDialog(Dialog):
    """Ask for the encrypted file store's passphrase, masked (twice when the store is new).

    `unlock(passphrase)` runs in a thread (key derivation takes about a second) and returns
    `(store, "")` or `(None, error)`; on an error the dialog stays, says it, and clears the
    inputs, so a wrong passphrase is retried, never a traceback or a silent new store. It
    dismisses with the store, or None on Escape. The passphrase is never shown, kept after the
    attempt, or put in a message.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]
    """Escape leaves without a store (the step offers the choices again)."""

    def __init__(self, path: str, new: bool, unlock: Any) -> None:
        super().__init__()
        self.path = path
        """Where the store is (shown; it is ours, under the user's data folder)."""
        self.new = new
        """No store yet: ask twice and say it is being created."""
        self.unlock = unlock
        """`unlock(passphrase) -> (store | None, error)`, called off the UI thread."""
        self.busy = False

    def compose(self) -> ComposeResult:
        what = (f"No encrypted secret store yet: it will be created at {self.path} (0600, in a "
                "0700 folder). Choose a passphrase: it cannot be recovered." if self.new else
                f"The secret values are in the encrypted file {self.path}. Type its passphrase.")
        with Vertical(id="dialog-box"):
            yield Label(Text("Encrypted secret store", style="bold"), id="dialog-title")
            yield Static(Text(what), id="dialog-message")
            yield Input(password=True, placeholder="passphrase", id="passphrase-1")
            if self.new:
                yield Input(password=True, placeholder="the same passphrase again", id="passphrase-2")
            yield Static("", id="passphrase-error")
            yield Static(Text.assemble(("Enter", "bold"), " Unlock   ", ("Esc", "bold"), " Cancel"),
                         id="dialog-keys")

    def on_mount(self) -> None:
        for inp in self.query(Input):
            inp.cursor_blink = getattr(self.app, "cursor_blink", True)
        self.query_one("#passphrase-1", Input).focus()

    def _say(self, text: str, style: str = "red") -> None:
        self.query_one("#passphrase-error", Static).update(Text(text, style=style))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.busy:
            return
        first = self.query_one("#passphrase-1", Input)
        if self.new and event.input.id == "passphrase-1":
            self.query_one("#passphrase-2", Input).focus()
            return
        passphrase = first.value
        if not passphrase:
            self._say("Type the passphrase first.")
            first.focus()
            return
        if self.new and self.query_one("#passphrase-2", Input).value != passphrase:
            self._say("The two passphrases differ; type them again.")
            self._clear()
            return
        self.busy = True
        for inp in self.query(Input):
            inp.disabled = True
        self._say("Checking the passphrase…" if not self.new else "Creating the store…", "dim")
        self.run_worker(lambda: self._attempt(passphrase), thread=True, exclusive=True,
                        exit_on_error=False, group="passphrase")

    def _attempt(self, passphrase: str) -> None:
        try:
            store, problem = self.unlock(passphrase)
        except Exception as exc:  # noqa: BLE001 - the store's errors are value-free; never a traceback
            store, problem = None, f"{type(exc).__name__}: could not open the store"
        del passphrase
        self.post_message(self.Tried(store, problem))  # thread-safe; never touch widgets here

    class Tried(Message):
        """An unlock attempt finished: `store`, or `problem` (user-facing, value-free)."""

        def __init__(self, store: Any, problem: str) -> None:
            super().__init__()
            self.store = store
            self.problem = problem

    def on_passphrase_dialog_tried(self, message: "PassphraseDialog.Tried") -> None:
        store, problem = message.store, message.problem
        self.busy = False
        if store is not None:
            self.dismiss(store)
            return
        for inp in self.query(Input):
            inp.disabled = False
        self._say(problem)
        self._clear()

    def _clear(self) -> None:
        for inp in self.query(Input):
            inp.value = ""
        self.query_one("#passphrase-1", Input).focus()

    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)
