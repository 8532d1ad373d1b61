"""Step 2 — Prerequisites: each engine/Compose/port/disk check, live, with its fix hint.

The checks are the doctor's (`doctor_report(stack, engine=True)`), run in a thread worker on
entering the step and on `r`. A failing prerequisite (or a Compose error) keeps Next disabled.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static

from toolbox_tui.findings import FAIL, Check
from toolbox_tui.screens.stylesheets import load_css
from toolbox_tui.screens.wizard.step_base import StepScreen, status_text
from toolbox_tui.wizard.step_counts import later_counts

SHOWN_AREAS = ("prereq", "compose")
"""Areas this step lists; the other areas belong to later steps."""


class ChecksDone(Message):
    """The doctor finished (posted from the worker)."""

    def __init__(self, checks: list[Check]) -> None:
        super().__init__()
        self.checks = checks


def check_detail(c: Check) -> Text:
    """Detail pane text of one check: title, where, detail, hint (all plain text)."""
    out = Text()
    out.append_text(status_text(c.status))
    out.append(f" {c.title}\n", style="bold")
    if c.where:
        out.append(f"{c.where}\n", style="dim")
    if c.detail:
        out.append(c.detail + "\n")
    if c.hint:
        out.append("→ ", style="bold cyan")
        out.append(c.hint + "\n", style="cyan")
    return out


class PrereqStep(StepScreen):
    """The prerequisite checks in a table; the highlighted one explained below it."""

    STEP = "prereq"
    CSS = load_css("step_prereq.tcss")
    BINDINGS = [Binding("r", "recheck", "Re-check", id="prereq.recheck")]
    """Run every check again (after starting the engine, freeing a port...)."""

    def __init__(self) -> None:
        super().__init__()
        self.checks: list[Check] = []
        """This step's checks from the latest run."""
        self.running = False

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Prerequisites", style="bold"), classes="section-title")
        table: DataTable = DataTable(id="prereq-table", cursor_type="row", zebra_stripes=False)
        table.add_columns(" ", "Check", "Area")
        yield table
        yield Static("", id="prereq-detail")
        yield Static("", id="prereq-later")

    def on_mount(self) -> None:
        self.action_recheck()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.checks and not self.running:
            self.action_recheck()

    def action_recheck(self) -> None:
        if self.running:
            return
        self.running = True
        self.set_status("Checking the engine, Compose, ports, disk and memory…")
        self.refresh_bindings()
        stack = self.wizard.stack

        def work() -> None:
            self.post_message(ChecksDone(self.wizard.backend.doctor(stack)))

        self.run_job("checking prerequisites", work)

    def job_failed(self, message: Any) -> None:
        self.running = False
        self.refresh_bindings()

    def on_checks_done(self, message: ChecksDone) -> None:
        self.running = False
        self.wizard.checks = message.checks
        self.checks = [c for c in message.checks if c.area in SHOWN_AREAS]
        table = self.query_one("#prereq-table", DataTable)
        with self.app.batch_update():
            table.clear()
            for c in self.checks:
                table.add_row(status_text(c.status), Text(c.title, no_wrap=True, overflow="ellipsis"),
                              Text(c.area, style="dim"), key=c.id)
        first_bad = next((i for i, c in enumerate(self.checks) if c.status == FAIL), 0)
        if self.checks:
            table.move_cursor(row=first_bad)
            self._show_detail(self.checks[first_bad])
        later = later_counts(message.checks)
        self.query_one("#prereq-later", Static).update(Text(
            "Later steps: " + ", ".join(f"{n} to fix on {step}" for step, n in later.items())
            if later else "", style="dim"))
        blocked = self.next_blocked()
        if blocked:
            self.set_status(f"Next is disabled: {blocked}", "bold red")
            self.wizard.mark(self.STEP, False)
        else:
            ok = sum(1 for c in self.checks if c.status != FAIL)
            self.set_status(f"{ok} checks passed. Press n to continue.", "green")
        self.refresh_bindings()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        check = next((c for c in self.checks if c.id == key), None)
        if check is not None:
            self._show_detail(check)

    def _show_detail(self, c: Check) -> None:
        self.query_one("#prereq-detail", Static).update(check_detail(c))

    def next_blocked(self) -> str:
        if self.running and not self.checks:
            return "the checks are still running"
        if not self.checks and self.wizard.checks is None:
            return "the checks have not run yet"
        bad = [c for c in self.checks if c.status == FAIL]
        if bad:
            names = ", ".join(c.title for c in bad[:2]) + (f" (+{len(bad) - 2})" if len(bad) > 2 else "")
            return f"{len(bad)} failing: {names}; fix, then press r"
        return ""
