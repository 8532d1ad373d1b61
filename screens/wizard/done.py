"""Step 7 — Done: where to open the stack, what to run next, and the key to the live dashboard."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from toolbox_tui.screens.stylesheets import load_css
from toolbox_tui.screens.wizard.step_base import StepScreen


def done_table(urls: list, commands: list) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    for u in urls:
        t.add_row(Text(u.label), Text(u.url, style="underline cyan"))
    return t


def commands_table(commands: list) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(no_wrap=True, style="bold")
    t.add_column(style="dim")
    for cmd, what in commands:
        t.add_row(Text(cmd), Text(what))
    return t


class DoneStep(StepScreen):
    """The stack is healthy."""

    STEP = "done"
    CSS = load_css("step_done.tcss")
    BINDINGS = [Binding("d", "dashboard", "Dashboard", id="done.dashboard")]
    """Open the live dashboard on this stack (q quits the wizard; the stack keeps running)."""

    def compose_body(self) -> ComposeResult:
        backend = self.wizard.backend
        stack = self.wizard.stack
        with VerticalScroll(id="done-scroll"):
            yield Static(Text(f"{stack.name} is up and healthy.", style="bold green"), id="done-head")
            yield Static(Text("Open", style="bold"), classes="section-title")
            yield Static(done_table(backend.access_urls(stack), []), id="done-urls")
            yield Static(Text("Next", style="bold"), classes="section-title")
            yield Static(commands_table(backend.next_commands(stack, self.wizard.opts)), id="done-commands")
        yield Static(Text.assemble("Press ", ("d", "bold"), " for the live dashboard (", ("b", "bold"), " comes back), ", ("q", "bold"),
                                   " to leave the wizard (the stack keeps running)."), id="done-help")

    def on_mount(self) -> None:
        self.wizard.mark(self.STEP, True)
        self.refresh_chrome()
        self.set_status("Setup complete.", "green")

    def action_dashboard(self) -> None:
        from toolbox_tui.live.stack import LiveStack
        from toolbox_tui.screens.dashboard.screen import DashboardScreen

        stack = self.wizard.stack
        services = tuple(stack.services)
        source = LiveStack(stack.name, compose_args=stack.compose_args(), services=services)
        self.app.push_screen(DashboardScreen(stack.name, source, services=services, back=True))

    def next_blocked(self) -> str:
        return "this is the last step"
