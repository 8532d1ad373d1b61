"""The inspect view of one service (`i` on the dashboard): image and digest, command, environment,
mounts, networks, ports, labels, restart policy, health check, limits.

It shows a `toolbox_tui.live.inspect.ServiceInspect`, whose strings are already cleaned; they go
on screen as `rich.text.Text`, never as markup. Secret-like values stay masked until `r`; values
of variables that carry one of the stack's secrets are not even held.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from toolbox_tui.screens.footer import CoalescedFooter
from toolbox_tui.live.inspect import ServiceInspect, sections

STYLES = {"dim": "dim", "masked": "dim", "revealed": "yellow", "secret": "dim italic"}


def inspect_text(info: ServiceInspect, reveal: bool = False) -> Text:
    """The whole view as one `Text` (tests read its `.plain`)."""
    t = Text()
    t.append(info.service, "bold")
    t.append(f"  {info.container_name}  {info.state}  {info.container_id[:12]}\n", "dim")
    for title, rows in sections(info, reveal):
        t.append(f"\n{title}\n", "bold underline")
        for key, value, hint in rows:
            t.append(f"  {key:<18} " if key else "  ", "bold")
            t.append(f"{value}\n", STYLES.get(hint, ""))
    if any(v.kind == "masked" for v in info.env):
        t.append("\nr " + ("masks the secret-like values again" if reveal
                            else "reveals the masked values") + "\n", "dim")
    return t


class InspectScreen(Screen):
    """One service's container, described; Esc (or i, b) goes back to the dashboard."""

    BINDINGS = [
        Binding("r", "reveal", "Reveal/mask", id="inspect.reveal"),
        Binding("escape,i,b", "close", "Back", id="inspect.close"),
    ]
    """r toggles the masked values; the values of secret-carrying variables are never held."""

    DEFAULT_CSS = """
    InspectScreen #inspect-body { padding: 0 1; }
    """

    def __init__(self, info: ServiceInspect) -> None:
        super().__init__()
        self.info = info
        """What is shown (cleaned by the engine side)."""
        self.reveal = False
        """Whether masked values are shown."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="inspect-scroll"):
            yield Static(inspect_text(self.info), id="inspect-body")
        yield CoalescedFooter()

    def on_mount(self) -> None:
        self.query_one("#inspect-scroll").focus()

    def text(self) -> str:
        """What the view shows now, as plain text (tests)."""
        return inspect_text(self.info, self.reveal).plain

    def action_reveal(self) -> None:
        self.reveal = not self.reveal
        self.query_one("#inspect-body", Static).update(inspect_text(self.info, self.reveal))

    def action_close(self) -> None:
        self.app.pop_screen()
