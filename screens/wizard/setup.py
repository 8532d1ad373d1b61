"""Step 3 — Set-up: the project's own set-up step (`./install.sh`, `cp example.env .env`) that
its docs name before the first `docker compose up`.

Shown only when the docs name one (`WizardApp.steps`). Each step is listed with the document and
line that names it and what running it does; Run asks first (it is the repository's own code),
then streams its output into the log below. Next moves on without running anything (skip).
The steps come from the same engine function as `toolbox-tui setup`.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, OptionList, RichLog, Static
from textual.widgets.option_list import Option

from toolbox_tui.checks.setup_steps import describe
from toolbox_tui.sanitize import plain_text
from toolbox_tui.screens.dialogs import ConfirmDialog
from toolbox_tui.screens.stylesheets import load_css
from toolbox_tui.screens.wizard.step_base import StackReread, StepScreen

LOG_KEEP = 2000
"""Output lines kept in the log."""


class SetupFinished(Message):
    """A step's run ended: its exit code, or the refusal's text."""

    def __init__(self, index: int, code: int | None, error: str = "") -> None:
        super().__init__()
        self.index = index
        self.code = code
        self.error = error


def _status(step: Any) -> tuple[str, str]:
    if step.kind == "refused":
        return "not run by toolbox-tui", "red"
    ran = step.has_run()
    return ("done", "green") if ran else ("not run yet", "yellow") if ran is False \
        else ("may have run", "dim")


class ProjectSetupStep(StepScreen):
    """The set-up steps the docs name, each run only after a yes."""

    STEP = "setup"
    CSS = load_css("step_setup.tcss")
    BINDINGS = [Binding("x", "run_step", "Run", id="setup.run")]
    """x runs the highlighted step (after a confirmation); n moves on without running it."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[Any] = []
        """The set-up steps found (engine `SetupStep`s)."""
        self.running: int | None = None
        """Index of the step running now."""
        self.results: dict[int, int] = {}
        """Exit code per step run in this session."""
        self._pending: deque[str] = deque(maxlen=LOG_KEEP)
        self._stop = threading.Event()

    def compose_body(self) -> ComposeResult:
        yield Static(Text.assemble(
            "The project's docs say to run this before ", ("docker compose up", "bold"), ". ",
            ("It is the repository's own code, not toolbox-tui's", "bold yellow"),
            ": read it before you run it. Nothing runs without your yes; n skips."), id="setup-head")
        yield OptionList(id="setup-list")
        yield Static("", id="setup-detail")
        with Horizontal(id="setup-buttons"):
            yield Button("Run (x)", id="setup-run", variant="warning")
        yield Static(Text("Output", style="bold"), classes="section-title")
        yield RichLog(id="setup-log", max_lines=LOG_KEEP, wrap=False, markup=False, highlight=False)

    def on_mount(self) -> None:
        self.steps = list(self.wizard.backend.setup_steps(self.wizard.stack))
        self._fill()
        self.set_interval(0.1, self._drain)
        self.set_status("x runs the highlighted step after you confirm; n moves on without running it.")

    def _root(self) -> str:
        try:
            return str(self.wizard.stack.root_dir())
        except Exception:  # noqa: BLE001 - canned stacks
            return "/"

    def _fill(self) -> None:
        ol = self.query_one("#setup-list", OptionList)
        highlighted = ol.highlighted
        ol.clear_options()
        root = self._root()
        for i, s in enumerate(self.steps):
            status, style = _status(s)
            if i in self.results:
                status, style = (f"exited {self.results[i]}", "green" if self.results[i] == 0 else "red")
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append(f"{i + 1}. ", style="bold")
            line.append(plain_text(s.command), style="bold")
            line.append(f"  {os.path.relpath(s.doc, root)}:{s.line}  ", style="dim")
            line.append(status, style=style)
            ol.add_option(Option(line, id=str(i)))
        if self.steps:
            ol.highlighted = highlighted if highlighted is not None else 0
        self._detail()

    def _current(self) -> int | None:
        idx = self.query_one("#setup-list", OptionList).highlighted
        return idx if idx is not None and idx < len(self.steps) else None

    def _detail(self) -> None:
        i = self._current()
        text = Text()
        if i is not None:
            s = self.steps[i]
            text.append("It ", style="")
            text.append(plain_text(describe(s, self.wizard.stack.root_dir())) + ".\n")
            if s.kind == "script":
                text.append("Runs: ", style="bold")
                text.append(plain_text(" ".join(s.argv)))
                text.append(f"   in {plain_text(os.path.relpath(s.cwd, self._root()))}", style="dim")
        self.query_one("#setup-detail", Static).update(text)
        self.query_one("#setup-run", Button).disabled = (
            i is None or self.running is not None or self.steps[i].kind == "refused")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._detail()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "setup-run":
            self.action_run_step()

    def action_run_step(self) -> None:
        i = self._current()
        if i is None or self.running is not None:
            return
        s = self.steps[i]
        if s.kind == "refused":
            self.set_status(f"Not run: {plain_text(s.reason)}", "bold red")
            return
        what = ("This runs the repository's own code, not toolbox-tui's, as you, in "
                f"{os.path.relpath(s.cwd, self._root())}:\n\n  {plain_text(' '.join(s.argv))}\n\n"
                "Read it first if you have not." if s.kind == "script"
                else f"This {plain_text(describe(s, self.wizard.stack.root_dir()))}.")

        def answer(yes: bool | None) -> None:
            if yes:
                self._start(i)
            else:
                self.set_status("Not run.")

        self.app.push_screen(ConfirmDialog(f"Run `{plain_text(s.command)}`?", what, yes="Run",
                                           no="Cancel"), answer)

    def _start(self, i: int) -> None:
        step, stack, backend = self.steps[i], self.wizard.stack, self.wizard.backend
        self.running = i
        self._stop.clear()
        self._detail()
        self._pending.append(f"$ {' '.join(step.argv) or step.command}")
        self.set_status(f"Running {plain_text(step.command)} ...")

        def work() -> None:
            try:
                code = backend.run_setup(stack, step, yes=True, on_line=self._pending.append,
                                         stop=self._stop)
            except Exception as exc:  # noqa: BLE001 - a refusal or an OSError: shown, no traceback
                self.post_message(SetupFinished(i, None, getattr(exc, "message", "") or str(exc)))
                return
            self.post_message(SetupFinished(i, code))
            try:  # what it wrote (.env, an override) changes the project the later steps show
                self.post_message(StackReread(backend.load(self.wizard.opts), [step.command]))
            except Exception:  # noqa: BLE001 - a project that no longer loads: Paths says why
                pass

        self.run_job(f"running {step.command}", work, group="setup-run")

    def _drain(self) -> None:
        if not self._pending:
            return
        log = self.query_one("#setup-log", RichLog)
        lines = []
        while self._pending:  # the engine's lines are clean; the "$ command" line quotes the docs
            lines.append(plain_text(self._pending.popleft()))
        log.write(Text("\n".join(lines)))

    def on_setup_finished(self, message: SetupFinished) -> None:
        self._drain()
        self.running = None
        if message.code is None:
            self.set_status(f"Not run: {message.error}", "bold red")
        else:
            self.results[message.index] = message.code
            ok = message.code == 0
            self.set_status(f"{self.steps[message.index].command} exited with {message.code}"
                            + (" — n goes on." if ok else " — see the output above."),
                            "green" if ok else "bold red")
        self._fill()

    def stack_reread(self, message: StackReread) -> None:
        self.notify(f"The project was read again after {plain_text(', '.join(message.changed))}.",
                    title="Re-read", timeout=6)

    def on_unmount(self) -> None:
        self._stop.set()

    def next_blocked(self) -> str:
        return "a set-up step is running" if self.running is not None else ""
