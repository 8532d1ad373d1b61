"""Step 5 — Review: what will happen when you start, and what is still wrong (re-checked live)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from toolbox_tui.findings import FAIL, WARN, Check
from toolbox_tui.screens.stylesheets import load_css
from toolbox_tui.screens.wizard.step_base import StepScreen

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack

HANDLED_BY_STARTUP = ("secrets.external.",)
"""Failing check ids the startup itself resolves (external secrets become file secrets)."""
BLOCKING_AREAS = {"prereq": "Prerequisites", "compose": "Prerequisites", "paths": "Paths"}


class ReviewReady(Message):
    def __init__(self, checks: list[Check], missing: list[str], needed: list[str]) -> None:
        super().__init__()
        self.checks = checks
        self.missing = missing
        self.needed = needed
        """Secrets that will be written as files (names)."""


def remaining(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status in (FAIL, WARN) and not c.id.startswith(HANDLED_BY_STARTUP)]


def plan_text(stack: Stack, needed: list[str], timeout: float) -> Text:
    services = list(stack.services)
    with_hc = [n for n, s in stack.services.items() if getattr(s, "healthcheck", None)]
    out = Text()
    out.append("When you press s (Start):\n", style="bold")
    n = 1
    if needed:
        out.append(f" {n}. ", style="bold")
        out.append(f"Write {len(needed)} secret file(s), mode 0600 in a private 0700 directory, and "
                   f"compose.secrets.yml in your state folder (file paths only, never values): "
                   f"{', '.join(needed)}.\n")
        n += 1
    out.append(f" {n}. ", style="bold")
    out.append(f"docker compose -p {stack.name} up -d — {len(services)} service(s): "
               f"{', '.join(services)}.\n")
    n += 1
    out.append(f" {n}. ", style="bold")
    out.append(f"Wait up to {timeout:.0f} s until every container runs and the {len(with_hc)} "
               "health check(s) pass; on failure, say why.\n")
    out.append("If startup does not complete (failure, q or Ctrl-C) the secret files are removed.\n",
               style="dim")
    return out


class ReviewStep(StepScreen):
    """The plan of the startup and the findings left (warnings allowed, failures explained)."""

    STEP = "review"
    CSS = load_css("step_review.tcss")
    BINDINGS = [
        Binding("s", "start", "Start", id="review.start"),
        Binding("r", "recheck", "Re-check", id="review.recheck"),
    ]
    """s (or n) starts the stack; r runs every check again."""

    def __init__(self) -> None:
        super().__init__()
        self.ready: ReviewReady | None = None
        self.busy = False
        self.broken = ""
        """The project does not load (the error with file:line) since the last re-check."""

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Review", style="bold"), classes="section-title")
        with VerticalScroll(id="review-scroll"):
            yield Static(Text("Checking everything once more…", style="dim"), id="review-plan")
            yield Static("", id="review-findings")

    def on_mount(self) -> None:
        self.action_recheck()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.ready is not None:
            self.action_recheck()

    def action_recheck(self) -> None:
        if self.busy:
            return
        self.busy = True
        self.set_status("Re-checking the stack…")
        wizard = self.wizard
        backend = wizard.backend

        def work() -> None:
            stack, _changed = self.reread()  # never review a model older than the files
            checks = backend.doctor(stack)
            missing = backend.missing_secrets(stack, wizard.store) if wizard.store is not None else ["?"]
            from toolbox_tui.secrets.materialize import needed

            names = [e.name for e in needed(backend.inventory(stack))]
            self.post_message(ReviewReady(checks, missing, names))

        self.run_job("re-checking", work)

    def job_failed(self, message: Any) -> None:
        from toolbox_tui.screens.wizard.step_base import STALE_KINDS

        self.busy = False
        if getattr(message, "kind", "") in STALE_KINDS:  # nothing checked may be started
            self.ready = None
            self.broken = message.text
            self.query_one("#review-plan", Static).update(Text.assemble(
                ("The project no longer loads:\n", "bold red"), (message.text + "\n", "red"),
                ("Fix the file, then press ", ""), ("r", "bold"), (" to re-check.", "")))
            self.query_one("#review-findings", Static).update("")
            self.wizard.mark(self.STEP, False)
        self.refresh_bindings()

    def on_review_ready(self, message: ReviewReady) -> None:
        self.busy = False
        self.broken = ""
        self.ready = message
        self.wizard.checks = message.checks
        self.query_one("#review-plan", Static).update(
            plan_text(self.wizard.stack, message.needed, self.wizard.backend.health_timeout))
        left = remaining(message.checks)
        out = Text()
        if left:
            counts = Counter((c.area, c.status) for c in left)
            out.append("\nStill reported by the doctor:\n", style="bold")
            for c in left[:12]:
                out.append(" ✗ " if c.status == FAIL else " ! ", style="red" if c.status == FAIL else "yellow")
                out.append(f"{c.area}: {c.title}\n")
            if len(left) > 12:
                out.append(f" … and {len(left) - 12} more ({dict(counts)})\n", style="dim")
        else:
            out.append("\nThe doctor reports nothing else.\n", style="green")
        self.query_one("#review-findings", Static).update(out)
        blocked = self.next_blocked()
        self.set_status(f"Start is disabled: {blocked}" if blocked else
                        "Ready. Press s to start the stack.", "red" if blocked else "green")
        self.refresh_bindings()

    def next_blocked(self) -> str:
        if self.broken:
            return "the project does not load: fix the file, then r re-checks"
        if self.ready is None:
            return "still checking"
        bad = [c for c in self.ready.checks if c.status == FAIL and c.area in BLOCKING_AREAS
               and c.id not in self.wizard.skipped]
        if bad:
            steps = sorted({BLOCKING_AREAS[c.area] for c in bad})
            return f"{len(bad)} failing check(s) to fix on {', '.join(steps)} (Esc goes back)"
        if self.wizard.store is None or self.ready.missing:
            return "secrets are missing: go back to Secrets (Esc)"
        return ""

    def action_start(self) -> None:
        self.action_next_step()

    def action_next_step(self) -> None:
        if not self.next_blocked():
            self.wizard.start_requested = True  # the Startup step (re)starts when it shows
        super().action_next_step()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "recheck" and self.busy:
            return None
        if action == "start":
            action = "next_step"
        return super().check_action(action, parameters)
