"""The onboarding wizard App: step order, progress memory, quitting safely.

Each step is its own Screen (screens/step_*.py); this module only moves between them, remembers
which are done (`toolbox_tui.wizard.state`, no values) and keeps track of work in flight so that
`q` asks before quitting and Ctrl-C leaves nothing half done (the launcher cleans up after run()).
"""

from __future__ import annotations

import importlib
import signal
import threading
from typing import TYPE_CHECKING, Any, Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from toolbox_tui.errors import EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK
from toolbox_tui.screens.dialogs import ConfirmDialog
from toolbox_tui.screens.terminal import hold_signals, route_signals
from toolbox_tui.screens.stylesheets import load_css
from toolbox_tui.screens.user_config import apply as apply_user_config
from toolbox_tui.screens.wizard.step_base import StepScreen
from toolbox_tui.wizard.backend import WizardBackend
from toolbox_tui.wizard.state import OPTIONAL, STEP_TITLES, STEPS, WizardState, save_state

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack

STEP_CLASSES = {
    "project": "project:ProjectStep", "prereq": "prereq:PrereqStep", "setup": "setup:ProjectSetupStep",
    "paths": "paths:PathsStep", "secrets": "secrets:SecretsStep",
    "review": "review:ReviewStep", "startup": "startup:StartupStep",
    "done": "done:DoneStep",
}
"""Step id -> `module:Class` under toolbox_tui.screens.wizard (imported when first shown)."""

EXIT_QUIT = EXIT_FAIL
"""Quitting before the stack is up: the setup did not complete."""

class ResumeChecked(Message):
    """The doctor's findings when the wizard resumed past the first steps."""

    def __init__(self, checks: list[Any]) -> None:
        super().__init__()
        self.checks = checks


class WizardApp(App[int]):
    """From a fresh clone to a healthy stack, one step per screen."""

    CSS = load_css("common.tcss") + "\n" + load_css("wizard.tcss")
    TITLE = "toolbox-tui wizard"
    BINDINGS = [
        Binding("q", "request_quit", "Quit", id="wizard.quit"),
        Binding("ctrl+c", "interrupt", "Interrupt", id="wizard.interrupt", priority=True, show=False),
    ]
    """q asks first when work is in flight; Ctrl-C stops at once (the launcher cleans up)."""

    def __init__(self, stack: Stack, opts: Any, backend: WizardBackend | None = None,
                 state: WizardState | None = None, *, start_step: str | None = None,
                 persist: bool = True, cursor_blink: bool = True, recheck: bool = False,
                 handle_signals: bool = False) -> None:
        super().__init__()
        self.stack = stack
        """The loaded project (replaced when the Project step changes options or fixes reload it)."""
        self.opts = opts
        """`ProjectOptions` the stack was loaded with."""
        self.backend = backend or WizardBackend()
        """Engine access; tests pass one with canned answers."""
        self.state = state or WizardState(project=stack.name, mode=stack.mode)
        """Steps done (persisted to wizard.json when `persist`)."""
        self.persist = persist
        self.cursor_blink = cursor_blink
        """False in snapshot tests: inputs do not blink."""
        self.start_step = start_step or "project"
        self.recheck = recheck
        """Resumed from wizard.json: re-check the earlier steps live on start."""
        self.checks: list[Any] | None = None
        """The latest doctor findings (None until the first run finishes)."""
        self.skipped: set[str] = set()
        """Finding ids the user chose to leave as they are on the Paths step."""
        self.store: Any = None
        """The secret store chosen on the Secrets step (keyring or, explicitly, session)."""
        self.start_requested = False
        """Set by Review's Start; the Startup step starts (again) when it is shown."""
        self.startup_state = "idle"
        """idle | running | failed | cancelled | ok — the launcher brings a half-started stack
        down (running, or cancelled because the wizard is quitting)."""
        self.materialized = False
        """Secret files were written; removed by the launcher unless startup completed."""
        self.interrupted = False
        self.handle_signals = handle_signals
        self.on_hangup: Any = None
        """Called (from the event loop) on SIGHUP before the app exits; the launcher arms a
        watchdog there that cleans up and exits if the shutdown hangs on the dead terminal."""
        """The launcher sets it: SIGINT, SIGTERM and SIGHUP end the app like Ctrl-C (terminal
        restored, exit 130, the launcher's clean-up runs) instead of killing the process in the
        alternate screen with containers and secret files left behind."""
        self._jobs: dict[str, int] = {}
        self._jobs_lock = threading.Lock()
        self.steps: tuple[str, ...] = self._steps_for(stack)
        """The steps shown: STEPS without an optional step this project has nothing for."""

    def _steps_for(self, stack: Stack) -> tuple[str, ...]:
        """The Set-up step only when the project's docs name a set-up step before `up`."""
        if "setup" in getattr(self, "steps", ()):  # once shown, it stays (its run may be done)
            return getattr(self, "steps")
        try:
            has_setup = bool(self.backend.setup_steps(stack))
        except Exception:  # noqa: BLE001 - a canned or broken stack: no set-up step to show
            has_setup = False
        return tuple(s for s in STEPS if s not in OPTIONAL or (s == "setup" and has_setup))

    # --- work in flight -----------------------------------------------------------------------

    def jobs_add(self, label: str) -> None:
        with self._jobs_lock:
            self._jobs[label] = self._jobs.get(label, 0) + 1

    def jobs_remove(self, label: str) -> None:
        with self._jobs_lock:
            n = self._jobs.get(label, 0) - 1
            if n > 0:
                self._jobs[label] = n
            else:
                self._jobs.pop(label, None)

    @property
    def jobs(self) -> list[str]:
        with self._jobs_lock:
            return sorted(self._jobs)

    # --- navigation ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.handle_signals:
            route_signals(self._on_signal)
        apply_user_config(self)  # keys and theme from ~/.config/toolbox-tui/config.toml
        self.push_screen(self._screen(self.start_step))
        if self.recheck and STEPS.index(self.start_step) > STEPS.index("prereq"):
            self._recheck_resumed()

    def _recheck_resumed(self) -> None:
        """Resumed past Prerequisites: check live that the earlier steps still hold."""
        stack, backend = self.stack, self.backend

        def work() -> None:
            self.jobs_add("re-checking earlier steps")
            try:
                checks = backend.doctor(stack)
            except Exception:  # noqa: BLE001 - the steps themselves report engine errors
                return
            finally:
                self.jobs_remove("re-checking earlier steps")
            self.post_message(ResumeChecked(checks))

        self.run_worker(work, thread=True, group="resume", exit_on_error=False)

    def on_resume_checked(self, message: "ResumeChecked") -> None:
        from toolbox_tui.findings import FAIL

        self.checks = message.checks
        broken = []
        for step, areas in (("prereq", ("prereq", "compose")), ("paths", ("paths",))):
            if any(c.status == FAIL and c.area in areas and c.id not in self.skipped
                   for c in message.checks):
                self.mark(step, False)
                broken.append(STEP_TITLES[step])
        if broken:
            self.notify(f"{' and '.join(broken)} no longer pass (checked just now): "
                        "Esc goes back to fix them.", title="Resumed", severity="warning", timeout=8)
        if isinstance(self.screen, StepScreen):
            self.screen.refresh_chrome()

    def _screen(self, step: str) -> Screen:
        if not self.is_screen_installed(step):
            module, cls = STEP_CLASSES[step].split(":")
            mod = importlib.import_module(f"toolbox_tui.screens.wizard.{module}")
            self.install_screen(getattr(mod, cls)(), step)
        return self.get_screen(step)

    def show(self, step: str) -> None:
        """Switch to `step` (its screen re-checks live on resume)."""
        self.switch_screen(self._screen(step))

    def complete(self, step: str) -> None:
        """Mark `step` done, remember it, and move to the next one."""
        self.mark(step, True)
        i = self.steps.index(step)
        if i + 1 < len(self.steps):
            self.show(self.steps[i + 1])

    def mark(self, step: str, done: bool) -> None:
        if self.state.is_done(step) == done:
            return
        self.state.mark(step, done)
        if self.persist:
            save_state(self.stack, self.state)

    def go_back(self, step: str) -> None:
        i = self.steps.index(step)
        if i > 0:
            self.show(self.steps[i - 1])

    def set_stack(self, stack: Stack, *, opts: Any = None) -> None:
        """Use a reloaded stack. Steps after Project are re-created so nothing stale is shown."""
        changed = (stack.name, stack.mode) != (self.stack.name, self.stack.mode)
        self.stack = stack
        if opts is not None:
            self.opts = opts
        self.steps = self._steps_for(stack)
        if changed:
            self.state = WizardState(project=stack.name, mode=stack.mode)
            self.store = None
            current = getattr(self.screen, "STEP", None)
            for step in STEPS:
                if step != current and self.is_screen_installed(step):
                    self.uninstall_screen(step)

    # --- quitting -----------------------------------------------------------------------------

    def action_request_quit(self) -> None:
        jobs = self.jobs
        if not jobs and self.startup_state != "running":
            self.exit(EXIT_OK if self.state.is_done("done") else EXIT_QUIT)
            return
        what = ", ".join(jobs) or "startup"
        extra = (" Containers started so far are stopped and secret files removed."
                 if self.startup_state == "running" else " Nothing is left half done.")

        def answer(yes: bool | None) -> None:
            if yes:
                self.backend.stop_waiting()
                self.exit(EXIT_QUIT)

        self.push_screen(ConfirmDialog("Quit?", f"Still working: {what}.{extra}", yes="Quit",
                                       no="Stay", default=True), answer)

    def _on_signal(self, sig: int) -> None:
        if sig == signal.SIGHUP:
            self._hangup()
        else:
            self.action_interrupt()

    def _hangup(self) -> None:
        """SIGHUP: the terminal is (probably) gone. Textual's shutdown can then block for good (its
        writer thread dies on EIO and closing the driver waits on its full queue), so the launcher
        gets the chance to clean up without it (`on_hangup`), then the app exits as for Ctrl-C."""
        if self.on_hangup is not None:
            self.on_hangup()
        self.action_interrupt()

    def action_interrupt(self) -> None:
        if self.handle_signals:
            hold_signals()
        self.interrupted = True
        self.backend.stop_waiting()
        self.exit(EXIT_INTERRUPTED)

    # --- command palette ----------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title != "Quit":
                yield command
        yield SystemCommand("Quit", "Quit the wizard (asks first when work is in flight)",
                            self.action_request_quit)
        seen = set()
        for key, active in screen.active_bindings.items():
            b = active.binding
            if not b.description or b.action in seen or b.id in ("wizard.interrupt",):
                continue
            seen.add(b.action)
            yield SystemCommand(f"{b.description} ({key})", f"{b.id}: {b.description}",
                                lambda a=b.action, n=active.node: self.call_later(n.run_action, a))
        for step in self.steps:
            if step in self.state.done and getattr(screen, "STEP", None) != step:
                yield SystemCommand(f"Go to {STEP_TITLES[step]}", "Open a completed step again",
                                    lambda s=step: self.show(s))
