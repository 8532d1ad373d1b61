"""Step 3 — Paths: every missing path (and a missing .env) with its candidates and fix options.

The fix engine (`fix_plan.make_plan`, `fix_apply.apply_plan` / `undo`) does the work: this screen
lists the findings, lets the user pick an option per finding (`o` cycles through the ones the
engine allows), previews the plan and its diffs, applies it atomically, and undoes the last run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static

from toolbox_tui.findings import FAIL, Check
from toolbox_tui.paths import rel
from toolbox_tui.screens.dialogs import ConfirmDialog, TextViewDialog, diff_text
from toolbox_tui.screens.stylesheets import load_css
from toolbox_tui.screens.wizard.step_base import StepScreen, status_text

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack


class PathsReady(Message):
    """Findings and the plan for the current choices (posted from the worker)."""

    def __init__(self, findings: list[Check], plan: Any, can_undo: bool, note: str = "",
                 stack: Stack | None = None) -> None:
        super().__init__()
        self.findings = findings
        self.plan = plan
        self.can_undo = can_undo
        self.note = note
        """What just happened (applied/undone), for the status line."""
        self.stack = stack
        """A reloaded stack after apply/undo (the env file may have appeared)."""


def option_label(opt: Any, root: Any) -> str:
    if opt is None:
        return "—"
    if opt.option == "skip":
        return "skip"
    return f"{opt.option} {rel(opt.candidate, root)}" if opt.candidate else opt.option


def short_title(check: Check | None, title: str) -> str:
    """`postgres: ./config/postgres-init.sql` instead of the long doctor title, for the table."""
    raw = check.extra("raw") if check is not None else None
    if check is not None and raw:
        owner = check.service or check.id.split(".")[2] if check.id.count(".") >= 2 else check.id
        return f"{owner}: {raw}"
    return title


class PathsStep(StepScreen):
    """Findings table, detail of the highlighted one with its options, plan preview/apply/undo."""

    STEP = "paths"
    CSS = load_css("step_paths.tcss")
    BINDINGS = [
        Binding("o", "cycle_option", "Option", id="paths.option"),
        Binding("p", "preview", "Preview", id="paths.preview"),
        Binding("a", "apply", "Apply", id="paths.apply"),
        Binding("u", "undo", "Undo", id="paths.undo"),
        Binding("r", "recheck", "Re-check", id="paths.recheck", show=False),
    ]
    """Choose, preview, apply and undo fixes; r re-reads the disk."""

    def __init__(self) -> None:
        super().__init__()
        self.findings: list[Check] = []
        self.plan: Any = None
        """The latest `FixPlan`, or None before the first check."""
        self.choices: dict[str, Any] = {}
        """finding id -> `fix_plan.Choice` the user picked (defaults are not stored)."""
        self.can_undo = False
        self.busy = False
        self.stale = ""
        """Why the shown plan cannot be used (the project changed on disk or does not load);
        cleared by the next successful check (r)."""

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Paths and files", style="bold"), classes="section-title")
        table: DataTable = DataTable(id="paths-table", cursor_type="row")
        yield table
        yield Static("", id="paths-detail")

    def on_mount(self) -> None:
        self.query_one("#paths-table", DataTable).add_column(" ", width=1)
        self.action_recheck()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.plan is not None and not self.busy:
            self.action_recheck()

    # --- engine calls --------------------------------------------------------------------------

    def _refresh(self, *, before: Any = None, note: str = "", reload: bool = False) -> None:
        if self.busy:
            return
        self.busy = True
        self.refresh_bindings()
        wizard = self.wizard
        backend = wizard.backend
        choices = list(self.choices.values())

        def work() -> None:
            stack = wizard.stack
            done = note
            if before is not None:  # apply/undo: on the stack the plan was made from
                done = before(stack) or note
            new_stack = backend.load(wizard.opts) if reload else None
            if new_stack is None:  # a re-check reads the project again when a file changed
                stack, changed = self.reread()
                if changed and not done:
                    done = (f"{', '.join(changed)} changed on disk: read again; the plan below "
                            "matches it now.")
            stack = new_stack or stack
            findings = backend.fix_findings(stack)
            plan = backend.plan(stack, findings, choices)
            self.post_message(PathsReady(findings, plan, backend.can_undo(stack), done, new_stack))

        self.run_job("checking paths", work)

    def job_failed(self, message: Any) -> None:
        from toolbox_tui.screens.wizard.step_base import STALE_KINDS

        self.busy = False
        if getattr(message, "kind", "") in STALE_KINDS:
            self.stale = message.text
            what = ("The project no longer loads, so no fix can be planned:" if message.kind == "LoadError"
                    else "Not applied: the plan was made from files that have changed since:")
            self.query_one("#paths-detail", Static).update(Text.assemble(
                (what + "\n", "bold red"), (message.text + "\n", "red"),
                ("Fix the file if needed, then press ", ""), ("r", "bold"), (" to re-check.", "")))
            self.wizard.mark(self.STEP, False)
        self.refresh_bindings()

    def stack_reread(self, message: Any) -> None:
        """The status line says it (see `_refresh`); no extra notification."""

    def action_recheck(self) -> None:
        self.set_status("Looking for missing paths…")
        self._refresh()

    def on_paths_ready(self, message: PathsReady) -> None:
        self.busy = False
        self.stale = ""
        if message.stack is not None:
            self.wizard.set_stack(message.stack)
        self.findings, self.plan, self.can_undo = message.findings, message.plan, message.can_undo
        open_ids = {f.finding_id for f in self.plan.findings}
        self.choices = {k: v for k, v in self.choices.items() if k in open_ids}
        self.wizard.skipped = {k for k, v in self.choices.items() if v.option == "skip"}
        root = self.wizard.stack.root_dir()
        table = self.query_one("#paths-table", DataTable)
        row = table.cursor_row
        width = max(40, self.size.width - 10)
        with self.app.batch_update():
            table.clear(columns=True)
            table.add_column(" ", width=1)
            table.add_column("Finding", width=width * 11 // 20)
            table.add_column("Fix", width=width - width * 11 // 20)
            by_id = {f.id: f for f in self.findings}
            for fp in self.plan.findings:
                fix = option_label(fp.chosen, root) if fp.chosen else (
                    "skip" if fp.finding_id in self.choices else f"no fix: {fp.reason}")
                table.add_row(status_text(fp.status), Text(short_title(by_id.get(fp.finding_id), fp.title),
                                                           no_wrap=True, overflow="ellipsis"),
                              Text(fix, no_wrap=True, overflow="ellipsis"), key=fp.finding_id)
        if self.plan.findings:
            table.move_cursor(row=min(max(row, 0), len(self.plan.findings) - 1))
            self._show_detail()
        else:
            self.query_one("#paths-detail", Static).update(
                Text("Every bind source, build context, env file and secret file is where the "
                     "compose files say.", style="green"))
        blocked = self.next_blocked()
        if message.note:
            self.set_status(message.note, "green")
        elif blocked:
            self.set_status(blocked, "yellow")
        else:
            self.set_status("Nothing left to fix. Press n to continue.", "green")
        if blocked:
            self.wizard.mark(self.STEP, False)
        self.refresh_bindings()

    # --- detail and options --------------------------------------------------------------------

    def _current(self) -> tuple[Check | None, Any]:
        if not self.plan or not self.plan.findings:
            return None, None
        table = self.query_one("#paths-table", DataTable)
        i = min(table.cursor_row, len(self.plan.findings) - 1)
        fp = self.plan.findings[i]
        return next((f for f in self.findings if f.id == fp.finding_id), None), fp

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        check, fp = self._current()
        if check is None:
            return
        root = self.wizard.stack.root_dir()
        out = Text()
        out.append_text(status_text(check.status))
        out.append(f" {check.title}\n", style="bold")
        if check.where:
            out.append(rel(check.file, root) + (f":{check.line}" if check.line else "") + "\n", style="dim")
        if check.detail:
            out.append(check.detail + "\n")
        if check.candidates:
            out.append("Candidates: ", style="bold")
            out.append(", ".join(f"{i}) {rel(c, root)}" for i, c in enumerate(check.candidates, 1)) + "\n")
        usable = [o for o in fp.options if not o.refused]
        out.append("Options (o): ", style="bold")
        names = [option_label(o, root) for o in usable] + ["skip"]
        chosen = option_label(fp.chosen, root) if fp.chosen else "skip"
        for i, name in enumerate(names):
            if i:
                out.append(" · ", style="dim")
            out.append(name, style="bold reverse" if name == chosen else "")
        refused = [o for o in fp.options if o.refused]
        if refused:
            out.append(f"\nNot offered: {refused[0].option}: {refused[0].refused}", style="dim")
        self.query_one("#paths-detail", Static).update(out)

    def action_cycle_option(self) -> None:
        from toolbox_tui.fixes.plan import Choice

        check, fp = self._current()
        if check is None or self.busy:
            return
        usable = [o for o in fp.options if not o.refused]
        seq: list[tuple[str, str | None]] = [(o.option, o.candidate) for o in usable] + [("skip", None)]
        cur = (fp.chosen.option, fp.chosen.candidate) if fp.chosen else ("skip", None)
        nxt = seq[(seq.index(cur) + 1) % len(seq)] if cur in seq else seq[0]
        self.choices[fp.finding_id] = Choice(fp.finding_id, nxt[0], nxt[1])
        self._refresh()

    # --- preview / apply / undo ----------------------------------------------------------------

    def plan_text(self) -> Text:
        out = Text()
        if not self.plan or not self.plan.actions:
            out.append("Nothing to apply.\n")
        for i, a in enumerate(self.plan.actions if self.plan else (), 1):
            out.append(f"{i}. {a.summary}\n", style="bold")
            if a.diff:
                out.append_text(diff_text(a.diff))
        for f in self.plan.unfixed if self.plan else ():
            out.append(f"left as is: {f.title} — {f.reason}\n", style="dim")
        return out

    def action_preview(self) -> None:
        if self.plan is not None:
            self.app.push_screen(TextViewDialog("Fix plan (nothing written yet)", self.plan_text()))

    def action_apply(self) -> None:
        if self.stale:
            self.set_status("Press r to re-check first: the project changed on disk.", "red")
            return
        if self.busy or not self.plan or not self.plan.actions:
            self.set_status("Nothing to apply.")
            return
        plan = self.plan
        backend = self.wizard.backend

        def go(yes: bool | None) -> None:
            if not yes:
                return
            self.set_status("Applying the fixes…")

            def apply(stack: Stack) -> str:
                res = backend.apply(stack, plan)
                return (f"Applied {len(res.actions)} change(s); backups under "
                        f"{rel(res.run_dir, stack.root_dir())} (u undoes).")

            self._refresh(before=apply, reload=True)

        self.app.push_screen(ConfirmDialog(f"Apply {len(plan.actions)} change(s)?", self.plan_text(),
                                           yes="Apply", no="Cancel", default=True), go)

    def action_undo(self) -> None:
        if self.busy or not self.can_undo:
            self.set_status("There is no applied fix run to undo.")
            return
        backend = self.wizard.backend

        def go(yes: bool | None) -> None:
            if not yes:
                return

            def undo(stack: Stack) -> str:
                res = backend.undo(stack)
                return f"Undone: {len(res.restored)} restored, {len(res.removed)} removed."

            self._refresh(before=undo, reload=True)

        self.app.push_screen(ConfirmDialog("Undo the last fix run?",
                                           "Every file it created is removed and every file it "
                                           "edited is restored byte for byte.", yes="Undo",
                                           no="Cancel", default=True), go)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("apply", "cycle_option", "preview") and (self.busy or not self.plan or self.stale):
            return None
        if action == "apply" and not self.plan.actions:
            return None
        if action == "undo" and (self.busy or not self.can_undo):
            return None
        return super().check_action(action, parameters)

    def next_blocked(self) -> str:
        if self.stale:
            return "the project changed on disk or does not load: press r to re-check"
        if self.plan is None:
            return "the path checks are still running"
        pending = [f for f in self.plan.findings if f.status == FAIL and f.chosen is not None]
        if pending:
            return f"{len(pending)} failing finding(s) have a fix ready: press a to apply (or o to skip)"
        stuck = [f for f in self.plan.findings if f.status == FAIL and f.finding_id not in self.choices]
        if stuck:
            return f"{len(stuck)} failing finding(s) have no fix: fix them by hand and press r, or o to skip"
        return ""
