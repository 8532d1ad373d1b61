"""Getting log lines out of the dashboard: export the view (with its filter) to a file the user
names, and copy lines to the terminal's clipboard.

Export writes the whole bounded history that passes the current filter (not only the rows on
screen) through `toolbox_tui.live.log_export` (0600, atomic, an existing file replaced only after
a yes). Copy sends our own sanitized plain text (never the container's bytes) with OSC 52
(`App.copy_to_clipboard`), which reaches the local clipboard over SSH and through tmux
(`set-clipboard on`): the mouse selection in the log view if there is one, else the rows on screen.
A mixin of `DashboardScreen`, which holds the bindings.
"""

from __future__ import annotations

import os
import time
from typing import Any

from toolbox_tui.screens.dashboard.log_view import LogView
from toolbox_tui.screens.dashboard.messages import ActionDone
from toolbox_tui.screens.dialogs import ConfirmDialog, TextDialog

COPY_ENV_OFF = "TOOLBOX_TUI_NO_OSC52"
"""Set (to anything) where the terminal refuses or mangles OSC 52: `c` then says so instead."""


class LogActions:
    """Export and copy (mixed into `DashboardScreen`)."""

    project: str
    store: Any

    def export_candidates(self) -> list:
        """The history that passes the view's filter, oldest first (what an export writes)."""
        log = self.query_one("#log", LogView)
        return [ln for ln in self.store.lines(log.filter.services) if log.matches(ln)]

    def action_export_logs(self) -> None:
        log = self.query_one("#log", LogView)
        count = len(self.export_candidates())
        default = f"{self.project}-logs-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.log"

        def named(value: str | None) -> None:
            if value is not None:  # the view as it is now, with what arrived meanwhile
                self._export(value, self.export_candidates(), log.filter.describe(),
                             overwrite=False)

        self.app.push_screen(TextDialog(
            "Export the log view",
            f"{count:,} line(s) so far, filter: {log.filter.describe()}. Write them (plain "
            f"text, mode 0600) to the file (relative to {os.getcwd()}):", default), named)

    def _export(self, name: str, lines: list, described: str, *, overwrite: bool) -> None:
        from toolbox_tui.live.log_export import ExportError, export_lines, target_path

        try:
            path = target_path(name)
        except ExportError as exc:
            self.notify(f"{exc.message}; {exc.hint}", severity="error", markup=False)
            return
        if not overwrite and os.path.lexists(path):
            self._ask_overwrite(name, lines, described, path)
            return
        header = f"toolbox-tui logs of {self.project}, filter: {described}"

        def write() -> None:  # worker thread: a big history takes a moment
            try:
                res = export_lines(path, lines, overwrite=overwrite, header=header)
            except ExportError as exc:  # ExportExists too: created meanwhile, nothing replaced
                self.post_message(ActionDone(f"{exc.message}; {exc.hint}", error=True))
                return
            extra = f"; the old file is {res.backup.name}" if res.backup else ""
            self.post_message(ActionDone(f"wrote {res.lines:,} line(s) to {res.path} (0600){extra}"))

        self.run_worker(write, thread=True, group="export", exclusive=True)

    def _ask_overwrite(self, name: str, lines: list, described: str, path: Any) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._export(name, lines, described, overwrite=True)
            else:
                self.notify(f"not written: {path} exists", markup=False, timeout=3)

        self.app.push_screen(ConfirmDialog("Replace the file?", f"{path} exists. Replace it "
                                           "(its old content is kept as .bak)?"), answered)

    def action_copy_lines(self) -> None:
        log = self.query_one("#log", LogView)
        selected = self.get_selected_text() if log.text_selection is not None else None
        text = selected if selected else "\n".join(ln.rstrip() for ln in log.visible_lines())
        what = "the selection" if selected else "the rows on screen"
        if not text.strip():
            self.notify("nothing to copy: the log view is empty", severity="warning", timeout=2)
            return
        if os.environ.get(COPY_ENV_OFF):
            self.notify(f"copy is off ({COPY_ENV_OFF} is set): use the terminal's own selection, "
                        "or export with w", severity="warning", markup=False)
            return
        self.app.copy_to_clipboard(text)
        n = text.count("\n") + 1
        self.notify(f"copied {what} ({n} line(s)) to the terminal's clipboard (OSC 52)",
                    markup=False, timeout=3)
