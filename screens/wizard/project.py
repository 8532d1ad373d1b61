"""Step 1 — Project: what was detected (files, mode, name), and a way to change it."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from toolbox_tui.paths import rel
from toolbox_tui.sanitize import plain_text
from toolbox_tui.state_dir import LEGACY_WHY, legacy_hint, legacy_state_dir
from toolbox_tui.screens.dialogs import TextDialog
from toolbox_tui.screens.stylesheets import load_css
from toolbox_tui.screens.wizard.step_base import StepScreen, user_error

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack


class StackLoaded(Message):
    """The project was (re)loaded with new options."""

    def __init__(self, stack: Stack, opts: Any) -> None:
        super().__init__()
        self.stack = stack
        self.opts = opts


def project_table(stack: Stack) -> Table:
    root = stack.root_dir()
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    manifest = stack.manifest
    modes = list(manifest.modes) if manifest is not None else []
    t.add_row("Project name", Text(str(stack.name)))
    mode = Text(str(stack.mode or "—"))
    if modes:
        mode.append(f"   (modes: {', '.join(modes)})", style="dim")
    t.add_row("Mode", mode)
    t.add_row("Root", Text(str(root)))
    t.add_row("Compose files", Text("\n".join(rel(f, root) for f in stack.files)))
    if stack.env_files:
        t.add_row("Env files", Text("\n".join(rel(f, root) for f in stack.env_files)))
    else:
        t.add_row("Env files", Text("none yet", style="dim"))
    t.add_row("Manifest", Text(rel(manifest.path, root) if manifest is not None else "none",
                               style="" if manifest is not None else "dim"))
    names = list(stack.services)
    t.add_row(f"Services ({len(names)})", Text(", ".join(names)))
    legacy = legacy_state_dir(stack.state_root)
    if legacy is not None:  # old state, or shipped by the repository: never read
        t.add_row("Ignored", Text(plain_text(f"{rel(legacy, root)}/ — {LEGACY_WHY}; "
                                             f"{legacy_hint(stack.state_root)}."), style="yellow"))
    return t


class ProjectStep(StepScreen):
    """Shows what was detected; m/p/f change the mode, project name or compose files."""

    STEP = "project"
    CSS = load_css("step_project.tcss")
    BINDINGS = [
        Binding("m", "cycle_mode", "Mode", id="project.mode"),
        Binding("p", "rename", "Name", id="project.name"),
        Binding("f", "files", "Files", id="project.files"),
        Binding("r", "reload", "Reload", id="project.reload"),
    ]
    """Change what the wizard works on; every change reloads the project like `docker compose`."""

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Detected project", style="bold"), classes="section-title")
        with VerticalScroll(id="project-scroll"):
            yield Static(project_table(self.wizard.stack), id="project-info")
        yield Static(Text("Looks right? Press n for the prerequisites. m, p, f change the mode, "
                          "name or files.", style="dim"), id="project-help")

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.query_one("#project-info", Static).update(project_table(self.wizard.stack))

    def _reload(self, opts: Any, what: str) -> None:
        self.set_status(f"Loading the project ({what})…")

        def work() -> None:
            try:
                stack = self.wizard.backend.load(opts)
            except Exception as exc:  # noqa: BLE001 - LoadError and friends: message, no traceback
                from toolbox_tui.screens.wizard.step_base import JobFailed

                self.post_message(JobFailed("Loading the project", user_error(exc)))
                return
            self.post_message(StackLoaded(stack, opts))

        self.run_job("loading the project", work)

    def on_stack_loaded(self, message: StackLoaded) -> None:
        self.wizard.set_stack(message.stack, opts=message.opts)
        self.query_one("#project-info", Static).update(project_table(message.stack))
        self.refresh_chrome()
        self.set_status(f"Loaded {message.stack.name} ({len(message.stack.files)} files, "
                        f"{len(message.stack.services)} services).", "green")

    def action_cycle_mode(self) -> None:
        manifest = self.wizard.stack.manifest
        modes = list(manifest.modes) if manifest is not None else []
        if not modes or self.wizard.opts.files:
            self.set_status("No modes to switch: the manifest defines none (or -f files were given).")
            return
        cur = self.wizard.stack.mode if self.wizard.stack.mode in modes else modes[0]
        new = modes[(modes.index(cur) + 1) % len(modes)]
        self._reload(replace(self.wizard.opts, mode=new), f"mode {new}")

    def action_rename(self) -> None:
        def done(value: str | None) -> None:
            if value is not None and value.strip():
                self._reload(replace(self.wizard.opts, project_name=value.strip()), "new name")

        self.app.push_screen(TextDialog("Project name", "Compose project name (-p):",
                                        str(self.wizard.stack.name)), done)

    def action_files(self) -> None:
        root = self.wizard.stack.root_dir()
        current = ", ".join(rel(f, root) for f in self.wizard.stack.files
                            if f != self.wizard.stack.secrets_override)

        def done(value: str | None) -> None:
            if value is None:
                return
            files = tuple(os.path.join(str(root), f.strip()) for f in value.split(",") if f.strip())
            self._reload(replace(self.wizard.opts, files=files), "new files")

        self.app.push_screen(TextDialog("Compose files", "Files in order, separated by commas "
                                        "(relative to the root; empty: back to the defaults):",
                                        current), done)

    def action_reload(self) -> None:
        self._reload(self.wizard.opts, "reload")
