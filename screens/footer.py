"""The footer every screen shows: Textual's, recomposed at most once per refresh.

Textual's `Footer` rebuilds all its keys (one widget each, styled one by one) every time the
screen's bindings change, and they change many times while a screen starts (each focus move,
each `refresh_bindings`): 9 rebuilds of ~13 keys before the wizard's first screen was painted,
about a third of its start-up (`benchmarks/bench_wizard_start.py`), and again on the dashboard
while focus moves. Here the changes of one refresh are merged into one rebuild; what is shown
afterwards is the same (the rebuild reads the bindings as they are when it runs).
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class CoalescedFooter(Footer):
    """`Footer` whose rebuilds after bindings changes are merged, one per refresh."""

    _rebuild_pending = False
    """A rebuild is scheduled (after the next refresh) and has not started yet."""

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._rebuild_pending:
            self._rebuild_pending = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._rebuild_pending = False  # a change while rebuilding schedules one more
        await self.recompose()
