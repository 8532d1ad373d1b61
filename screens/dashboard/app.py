"""`toolbox-tui dashboard`: the dashboard screen in an app of its own."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from toolbox_tui.errors import EXIT_INTERRUPTED
from toolbox_tui.screens.dashboard.screen import DashboardScreen
from toolbox_tui.screens.stylesheets import load_css
from toolbox_tui.screens.terminal import route_signals
from toolbox_tui.screens.user_config import apply as apply_user_config, effective_key


class DashboardApp(App):
    """`toolbox-tui dashboard`: the dashboard screen on its own."""

    CSS = load_css("common.tcss")
    TITLE = "toolbox-tui dashboard"
    BINDINGS = [Binding("q", "quit", "Quit", id="app.quit"),
                Binding("ctrl+c", "interrupt", "Interrupt", id="app.interrupt", priority=True,
                        show=False)]
    """q quits (ctrl+q too, Textual's default); ctrl+c quits like a signal (exit 130); ctrl+p opens
    the command palette."""

    HANGUP_GRACE = 5.0
    """Seconds Textual may take to shut down after SIGHUP before the process leaves without it
    (with the terminal gone its writer thread can die and its shutdown block for good)."""

    def __init__(self, project: str, source: Any = None, *, services: tuple[str, ...] = (),
                 ring_size: int = 5000, clock=time.time, handle_signals: bool = False) -> None:
        super().__init__()
        self.handle_signals = handle_signals
        """Route SIGINT/SIGTERM/SIGHUP through the event loop (the installed command; not tests)."""
        self.clock = clock
        """Wall clock handed to the screen."""
        self.project = project
        """Compose project name."""
        self.source = source
        """Data source handed to the screen (None: driven by messages only)."""
        self.services = services
        self.ring_size = ring_size
        self.dashboard: DashboardScreen | None = None
        """The screen, once pushed."""

    def _on_signal(self, sig: int) -> None:
        if sig == signal.SIGHUP:
            # The dashboard only reads, so leaving without Textual's shutdown loses nothing.
            timer = threading.Timer(self.HANGUP_GRACE, os._exit, args=(EXIT_INTERRUPTED,))
            timer.daemon = True
            timer.start()
        self.action_interrupt()

    def action_interrupt(self) -> None:
        self.exit(EXIT_INTERRUPTED)

    def on_mount(self) -> None:
        if self.handle_signals:
            route_signals(self._on_signal)  # Ctrl-C, SIGTERM, SIGHUP (the SSH session dropped): exit 130
        apply_user_config(self)  # keys and theme from ~/.config/toolbox-tui/config.toml
        self.dashboard = DashboardScreen(self.project, self.source, services=self.services,
                                         ring_size=self.ring_size, clock=self.clock)
        self.push_screen(self.dashboard)
        # Everything built so far (Textual, widgets, imports: ~50k objects) lives as long as the
        # app: take it out of the garbage collector's full collections, which otherwise walk it
        # every few seconds during a log flood (pauses of 30-100 ms on the 2-core VM).
        self.call_after_refresh(gc.freeze)

    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)
        if isinstance(screen, DashboardScreen):
            for b in DashboardScreen.BINDINGS:  # the id is what the config file's [keys] names
                action = b.action
                yield SystemCommand(f"{b.description} ({effective_key(self, b)})", f"{b.id}: {action}",
                                    lambda a=action: screen.run_action(a))
