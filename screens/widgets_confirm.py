"""A yes/no confirmation dialog for actions that change the running stack."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static
from rich.text import Text


class ConfirmModal(ModalScreen[bool]):
    """Ask before restart/stop/start/up/down; dismisses with True only on an explicit yes."""

    DEFAULT_CSS = """
    ConfirmModal { align: center middle; }
    ConfirmModal > Vertical { width: 60; max-width: 100%; height: auto; border: thick $warning;
                              background: $surface; padding: 1 2; }
    ConfirmModal #confirm-text { width: 100%; height: auto; margin-bottom: 1; }
    ConfirmModal Horizontal { height: auto; align-horizontal: right; }
    ConfirmModal Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]
    """y confirms; n or Escape cancels (the default is to do nothing)."""

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question
        """What will happen, e.g. `Restart service web?` (plain text, never markup)."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question), id="confirm-text")
            with Horizontal():
                yield Button("No (n)", id="no", variant="default")
                yield Button("Yes (y)", id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(bool(yes))
