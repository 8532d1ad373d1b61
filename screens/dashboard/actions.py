"""The dashboard's actions on the stack: restart/stop/start a service, up/down the stack (each
after a yes, run in a worker thread), a shell in the selected service's container (the app
suspends itself around `docker exec -it` and comes back to the same screen), and the inspect
view of it.

A mixin of `DashboardScreen` (which holds the bindings): the engine side is `LiveStack`'s and
`toolbox_tui.live.shell`'s.
"""

from __future__ import annotations

from typing import Any

from textual.app import SuspendNotSupported

from toolbox_tui.sanitize import strip_all
from toolbox_tui.screens.dashboard.messages import ActionDone, InspectReady, ShellReady
from toolbox_tui.screens.dialogs import ConfirmDialog


class StackActions:
    """Actions of the dashboard screen (mixed into `DashboardScreen`)."""

    source: Any
    project: str

    # --- restart, stop, start, up, down --------------------------------------------------------

    def _confirm_then(self, question: str, method: str, *args: str) -> None:
        if self.source is None:
            self.notify("not connected to a live stack", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                # never markup: the question holds service names from the engine ([/x] would
                # crash the toast, [@click=...] would become a live action)
                self.notify(f"{question.rstrip('?')}…", timeout=2, markup=False)
                self.run_worker(lambda: self._run_action(method, *args), thread=True,
                                group="actions", exclusive=False)

        self.app.push_screen(ConfirmDialog("Confirm", question), answered)

    def _run_action(self, method: str, *args: str) -> None:
        from toolbox_tui.live.stack import ActionError

        try:
            msg = getattr(self.source, method)(*args)
            self.post_message(ActionDone(msg))
        except ActionError as exc:
            self.post_message(ActionDone(str(exc), error=True))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(strip_all(message.message, max_len=1000), markup=False,
                    severity="error" if message.error else "information",
                    timeout=6 if message.error else 3)

    def _service_action(self, verb: str, method: str) -> None:
        svc = self.selected_service()
        if svc is None:
            self.notify("no service selected", severity="warning")
            return
        self._confirm_then(f"{verb} service {svc} of {self.project}?", method, svc)

    def action_restart(self) -> None:
        self._service_action("Restart", "restart")

    def action_stop_service(self) -> None:
        self._service_action("Stop", "stop_service")

    def action_start_service(self) -> None:
        self._service_action("Start", "start_service")

    def action_stack_up(self) -> None:
        self._confirm_then(f"Bring the whole stack {self.project} up?", "up")

    def action_stack_down(self) -> None:
        self._confirm_then(f"Take the whole stack {self.project} down (containers removed)?", "down")

    # --- shell ---------------------------------------------------------------------------------

    def action_shell(self) -> None:
        svc = self.selected_service()
        if svc is None:
            self.notify("no service selected", severity="warning")
            return
        if self.source is None:
            self.notify("not connected to a live stack", severity="warning")
            return
        self.notify(f"opening a shell in {svc}…", timeout=2, markup=False)
        self.run_worker(lambda: self._plan_shell(svc), thread=True, group="shell",
                        exclusive=True)

    def _plan_shell(self, service: str) -> None:
        """Worker thread: find the image's shell (non-interactive execs), then hand over."""
        from toolbox_tui.live.shell import ShellError

        try:
            plan = self.source.shell_plan(service)
        except ShellError as exc:
            self.post_message(ActionDone(f"{exc.message}; {exc.hint}", error=True))
            return
        self.post_message(ShellReady(plan))

    def on_shell_ready(self, message: ShellReady) -> None:
        """UI thread: suspend, run `docker exec -it` on the real terminal, resume on its exit
        (or death); the screen is the same one, with what arrived meanwhile."""
        from toolbox_tui.live.shell import ShellError, ended_message, run_interactive

        plan = message.plan
        try:
            with self.app.suspend():
                code = run_interactive(plan)
        except SuspendNotSupported:
            self.notify("this terminal cannot hand over to a shell (no suspend support); run "
                        f"`{' '.join(plan.argv[1:4])} {plan.shell}` in another one",
                        severity="warning", markup=False)
            return
        except ShellError as exc:
            self.notify(f"{exc.message}; {exc.hint}", severity="error", markup=False)
            return
        self.app.refresh(layout=True)
        self.notify(strip_all(ended_message(plan, code)), markup=False,
                    severity="information" if code == 0 else "warning", timeout=4)

    # --- inspect -------------------------------------------------------------------------------

    def action_inspect(self) -> None:
        svc = self.selected_service()
        if svc is None:
            self.notify("no service selected", severity="warning")
            return
        if self.source is None:
            self.notify("not connected to a live stack", severity="warning")
            return
        self.run_worker(lambda: self._inspect(svc), thread=True, group="inspect", exclusive=True)

    def _inspect(self, service: str) -> None:
        """Worker thread: `docker inspect` of the container (the engine may be slow)."""
        from toolbox_tui.live.inspect import InspectError

        try:
            info = self.source.inspect(service)
        except InspectError as exc:
            self.post_message(ActionDone(f"{exc.message}; {exc.hint}", error=True))
            return
        self.post_message(InspectReady(info))

    def on_inspect_ready(self, message: InspectReady) -> None:
        from toolbox_tui.screens.dashboard.inspect_view import InspectScreen

        if self.app.screen is self:  # not over a dialog the user opened meanwhile
            self.app.push_screen(InspectScreen(message.info))
