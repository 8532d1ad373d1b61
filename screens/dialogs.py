"""The modal dialogs of both faces: confirm, ask for a line of text, show a long text.

Every text that may come from outside (paths, diffs, compose errors) is passed in as
`rich.text.Text` or plain `str` shown through `Text`, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
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
