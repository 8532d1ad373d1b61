"""What every wizard step shares: the step bar, the status line, Next/Back, the live re-check.

A step is a `Screen` subclass that fills `compose_body()` and answers `next_blocked()` (a reason
Next is disabled, or ""). Work that blocks runs in thread workers that only post messages back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from toolbox_tui.screens.footer import CoalescedFooter
from toolbox_tui.findings import FAIL, PASS, SKIP, WARN
from toolbox_tui.sanitize import plain_text
from toolbox_tui.wizard.state import STEP_SHORT, STEPS

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack
    from toolbox_tui.screens.wizard.app import WizardApp


STATUS_MARK = {PASS: ("✓", "green"), FAIL: ("✗", "red"), WARN: ("!", "yellow"), SKIP: ("-", "dim")}
"""Icon and colour per check status."""


def status_text(status: str) -> Text:
    mark, style = STATUS_MARK.get(status, ("?", ""))
    return Text(mark, style=f"bold {style}")


def step_bar(current: str, done: list[str], steps: tuple[str, ...] = STEPS) -> Text:
    """`✓ Project › 2 Prerequisites › 3 Paths ...` with the current step highlighted (`steps`:
    the steps this project shows)."""
    out = Text(no_wrap=True, overflow="ellipsis")
    sep = " › " if len(steps) <= 7 else "›"  # eight steps (with Set-up) still fit in 80 columns
    for i, step in enumerate(steps, 1):
        if i > 1:
            out.append(sep, style="dim")
        label = STEP_SHORT[step]
        if step == current:
            out.append(f"{i} {label}", style="bold reverse")
        elif step in done:
            out.append(f"✓ {label}", style="green")
        else:
            out.append(f"{i} {label}", style="dim")
    return out


def user_error(exc: BaseException) -> str:
    """The user-facing text of an engine error: its message and hint (engine errors never carry
    secret values), or the exception type for anything unexpected."""
    where = getattr(exc, "where", "") or ""
    msg = str(exc) or type(exc).__name__
    if where and where not in msg:
        msg = f"{where}: {msg}"
    hint = getattr(exc, "hint", "") or ""
    return f"{msg} — {hint}" if hint else msg


def short_paths(text: str, stack: Stack) -> str:
    """`text` with the project root left out of paths (`infrastructure/.../x.yml:12` fits on a
    line and reads the same on every machine)."""
    try:
        root = str(stack.root_dir()).rstrip("/") + "/"
    except Exception:  # noqa: BLE001 - canned stacks
        return text
    return text.replace(root, "") if len(root) > 1 else text


class JobFailed(Message):
    """A thread worker of a step raised; `text` is user-facing."""

    def __init__(self, label: str, text: str, kind: str = "") -> None:
        super().__init__()
        self.label = label
        self.text = text
        self.kind = kind
        """The exception's class name (`LoadError`, `ProjectChanged`, ...) so a step can react."""


STALE_KINDS = ("LoadError", "ProjectChanged")
"""Job failures that mean "the project on disk is not what this step shows": re-check (r)."""


class StackReread(Message):
    """A step's worker found the project changed on disk and read it again."""

    def __init__(self, stack: Stack, changed: list[str]) -> None:
        super().__init__()
        self.stack = stack
        self.changed = changed


class StepScreen(Screen):
    """Base of the seven step screens."""

    STEP = ""
    """Id of the step (one of wizard_state.STEPS)."""
    RECHECK_KEY = "r"
    """The key that re-checks the step (named in messages about a changed or broken project)."""

    BINDINGS = [
        Binding("n", "next_step", "Next", id="wizard.next"),
        Binding("escape", "back", "Back", id="wizard.back"),
    ]
    """Next moves on when the step allows it (footer shows it dimmed otherwise); Esc goes back."""

    @property
    def wizard(self) -> "WizardApp":
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        watch = getattr(self.wizard.backend, "watch", None)
        if watch is not None:  # what the project holds now: later edits on disk are noticed
            watch(self.wizard.stack)
        yield Static(self._title(), id="wizard-title")
        yield Static(step_bar(self.STEP, self.wizard.state.done, self.wizard.steps), id="step-bar")
        with Vertical(id="step-body"):
            yield from self.compose_body()
        yield Static("", id="step-status")
        yield CoalescedFooter()

    def compose_body(self) -> ComposeResult:  # pragma: no cover - every step overrides it
        yield from ()

    def _title(self) -> Text:
        stack = self.wizard.stack
        mode = f" · {stack.mode}" if stack.mode else ""
        return Text.assemble(("toolbox-tui", "bold"), " wizard · ", (str(stack.name), "bold"), mode,
                             no_wrap=True, overflow="ellipsis")

    def refresh_chrome(self) -> None:
        """Redraw the title and step bar (after the stack or the progress changed)."""
        try:
            self.query_one("#wizard-title", Static).update(self._title())
            self.query_one("#step-bar", Static).update(step_bar(self.STEP, self.wizard.state.done, self.wizard.steps))
        except Exception:  # noqa: BLE001 - not mounted yet
            pass
        self.refresh_bindings()

    def set_status(self, text: str | Text, style: str = "") -> None:
        """The one-line status under the body (plain text; never markup). It often quotes the
        repository (a step's command, a file name): sanitized here, so no caller has to."""
        if isinstance(text, Text):
            value = text if text.plain == plain_text(text.plain) else Text(plain_text(text.plain),
                                                                           style=text.style)
        else:
            value = Text(plain_text(text), style=style)
        value.no_wrap = True
        value.overflow = "ellipsis"
        try:
            self.query_one("#step-status", Static).update(value)
        except Exception:  # noqa: BLE001
            pass

    # --- navigation ----------------------------------------------------------------------------

    def next_blocked(self) -> str:
        """Why Next is not allowed now ("" when it is)."""
        return ""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_step":
            return None if self.next_blocked() else True
        if action == "back":
            steps = self.wizard.steps
            return (self.STEP in steps and steps.index(self.STEP) > 0) or None
        return True

    def action_next_step(self) -> None:
        reason = self.next_blocked()
        if reason:
            self.set_status(f"Next is disabled: {reason}", "bold red")
            return
        self.wizard.complete(self.STEP)

    def action_back(self) -> None:
        self.wizard.go_back(self.STEP)

    def on_job_failed(self, message: JobFailed) -> None:
        message.text = short_paths(message.text, self.wizard.stack)
        if message.kind in STALE_KINDS:
            self.set_status(f"{message.text} ({self.RECHECK_KEY} re-checks)" if message.kind == "LoadError"
                            else message.text, "bold red")
        else:
            self.set_status(f"{message.label} failed: {message.text}", "bold red")
        self.job_failed(message)

    def reread(self) -> tuple[Any, list[str]]:
        """(worker thread) (the project as on disk now, files that changed): read again when a
        file changed (posting `StackReread`); raises LoadError when the edit broke it."""
        wizard = self.wizard
        reread = getattr(wizard.backend, "reread", None)
        if reread is None:
            return wizard.stack, []
        stack, changed = reread(wizard.stack, wizard.opts)
        if changed:
            self.post_message(StackReread(stack, changed))
        return stack, changed

    def on_stack_reread(self, message: StackReread) -> None:
        if message.stack is not self.wizard.stack:
            self.wizard.set_stack(message.stack)
            self.refresh_chrome()
        self.stack_reread(message)

    def stack_reread(self, message: StackReread) -> None:
        """Hook: the step's own reaction (its status line) to a project read again."""
        self.notify(f"{', '.join(message.changed)} changed on disk: the project was read again.",
                    title="Re-read", timeout=6)

    def job_failed(self, message: JobFailed) -> None:
        """Hook for steps that must reset something when a job fails."""

    def on_screen_resume(self) -> None:
        self.refresh_chrome()

    def run_job(self, label: str, fn: Any, *, group: str | None = None) -> None:
        """Run `fn()` in a thread worker registered with the app as work in flight."""
        app = self.wizard

        def body() -> None:
            app.jobs_add(label)
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - shown on the step, never a traceback
                self.post_message(JobFailed(label, user_error(exc), type(exc).__name__))
            finally:
                app.jobs_remove(label)

        self.run_worker(body, thread=True, group=group or label, exclusive=True, exit_on_error=False)
