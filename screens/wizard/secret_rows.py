"""The Secrets step's rows: one secret's header (its status first, so it survives 80 columns),
its masked input (or what it is derived from) and its validation line. Names and statuses only:
a value never passes through here except inside its `Input`.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

STATUS_WORDS = {
    "keyring": ("stored in the keyring", "green"), "session": ("kept for this session", "green"),
    "encrypted-file": ("stored in the encrypted file", "green"),
    "derived": ("derived", "green"), "file": ("file present", "green"),
    "environment": ("from the environment", "green"),
    "placeholder": ("placeholder, optional in dev", "yellow"),
    "compose": ("set in the compose file", "green"),
    "environment-placeholder": ("a placeholder in .env or the environment: replace it", "yellow"),
    "compose-placeholder": ("a placeholder in the compose file: replace it", "yellow"),
}
"""How a `secret_inventory.Status.store` is said on the form."""


def editable(entry: Any) -> bool:
    """Whether the user types this secret (derived ones and user-owned files are not typed)."""
    return entry.stored and entry.derive is None


def entry_header(entry: Any, status: Any) -> Text:
    """`name [status] kind used by ...` — the status first so it survives 80 columns."""
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(entry.name, style="bold")
    word, style = ("no value yet", "red")
    if status is not None and status.set:
        word, style = STATUS_WORDS.get(status.store or "", (status.store or "set", "green"))
    elif status is not None and status.missing_parts:
        word = "needs " + ", ".join(status.missing_parts)
    elif entry.optional_in_dev or not entry.used_by:
        word, style = ("optional", "dim")
    out.append(f" [{word}]", style=style)
    out.append(f" {entry.kind}", style="dim")
    if entry.used_by:
        out.append(f" · {', '.join(entry.used_by[:3])}" + ("…" if len(entry.used_by) > 3 else ""),
                   style="dim")
    return out


class SecretRow(Vertical):
    """One secret: header, masked input (or what it is derived from), validation line."""

    def __init__(self, entry: Any) -> None:
        super().__init__(classes="secret-row", id=f"secret-{widget_id(entry.name)}")
        self.entry = entry
        """The `SecretEntry` (never a value)."""

    def compose(self) -> ComposeResult:
        yield Static(entry_header(self.entry, None), classes="secret-header")
        if editable(self.entry):
            placeholder = "type or paste" + (", or ctrl+g to generate" if self.entry.generate else "")
            if self.entry.hint:
                placeholder += f" ({self.entry.hint})"
            inp = Input(password=True, placeholder=placeholder, classes="secret-input",
                        id=f"input-{widget_id(self.entry.name)}")
            inp.cursor_blink = getattr(self.app, "cursor_blink", True)
            with Horizontal(classes="secret-input-row"):
                yield inp
            yield Static("", classes="secret-check")
        elif self.entry.derive:
            yield Static(Text(f"derived from {self.entry.derive}", style="dim"), classes="secret-check")
        else:
            yield Static(Text(f"from {self.entry.file or self.entry.definition}", style="dim"),
                         classes="secret-check")


def home(path: Any) -> str:
    """`path` with the home folder shown as `~` (the wizard's lines are short)."""
    from pathlib import Path

    text, home = str(path), str(Path.home())
    return "~" + text[len(home):] if home not in ("", "/") and text.startswith(home + "/") else text


def widget_id(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
