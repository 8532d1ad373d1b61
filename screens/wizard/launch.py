"""`toolbox-tui` (no command) and `toolbox-tui wizard`: load the project, open the wizard, clean up.

The project is loaded before Textual starts, so a project that cannot be loaded is a clear
message and exit 3 on the plain terminal (file:line, what is wrong, what to do), never a
traceback and never a half-drawn screen. After the App returns — normally, by `q`, by Ctrl-C or
by a signal — whatever the wizard started and did not finish is undone: a half-started stack is
brought down and the secret files written for it are removed.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from typing import Any

from toolbox_tui.errors import EXIT_EVAL, EXIT_INTERRUPTED, EXIT_USAGE
from toolbox_tui.sanitize import plain_text

HANGUP_GRACE = 5.0
"""Seconds the wizard may take to shut down after SIGHUP before the watchdog cleans up without it."""


def _err(text: str) -> None:
    """The launcher's one writer (before and after the app owns the terminal): the text can quote
    the repository (a load error), so it is sanitized like the CLI's output layer does."""
    sys.stderr.write(plain_text(text) + "\n")


def _load_project(args: Any) -> tuple[Any, Any] | int:
    """(stack, options) for the project the arguments select, or the exit code when it cannot be
    loaded or there is no terminal (the message already written)."""
    from toolbox_tui.compose.project import load_stack, options_from_args
    from toolbox_tui.errors import ToolboxError

    debug = bool(getattr(args, "debug", False)) or os.environ.get("TOOLBOX_TUI_DEBUG") == "1"
    opts = options_from_args(args)
    try:
        stack = load_stack(opts)
    except ToolboxError:  # LoadError (file:line): rendered by cli.main like every command's
        raise
    except Exception as exc:  # noqa: BLE001 - unreadable files, bad encodings...: no traceback
        _err(f"toolbox-tui: error: the project could not be loaded: {type(exc).__name__}: {exc}")
        _err("  hint: run `toolbox-tui doctor` for details, or re-run with --debug.")
        if debug:
            traceback.print_exc()
        return EXIT_EVAL
    if not (sys.stdin.isatty() and sys.stdout.isatty()) and not os.environ.get("TOOLBOX_TUI_FORCE_TTY"):
        _err("toolbox-tui: error: the wizard needs an interactive terminal")
        _err("  hint: use the headless commands instead: `toolbox-tui doctor`, `fix`, `secrets`, `up`.")
        return EXIT_USAGE
    return stack, opts


def run_wizard(args: Any) -> int:
    """Open the wizard on the project the arguments select; returns the exit code."""
    loaded = _load_project(args)
    if isinstance(loaded, int):
        return loaded
    stack, opts = loaded

    from toolbox_tui.screens.terminal import hold_signals, use_real_terminal_size
    from toolbox_tui.screens.wizard.app import WizardApp
    from toolbox_tui.wizard.backend import WizardBackend
    from toolbox_tui.wizard.state import load_state

    use_real_terminal_size()
    state = load_state(stack)
    start = state.start_step()
    backend = WizardBackend()
    app = WizardApp(stack, opts, backend, state, start_step=start, recheck=bool(state.done),
                    handle_signals=True)
    code: int | None = None
    once = threading.Lock()
    cleaned: list[list[str]] = []

    def clean_up() -> list[str]:
        """The clean-up, exactly once (the main thread or the hang-up watchdog, whichever first)."""
        with once:
            if cleaned:
                return []
            backend.stop_waiting()
            notes = cleanup(app)
            backend.close()
            cleaned.append(notes)
            return notes

    def watchdog() -> None:
        # Still here HANGUP_GRACE s after the terminal went away: Textual is stuck on it. Let the
        # work in flight stop (stop_waiting ends it quickly), clean up, and leave.
        # 10 s: stop_waiting ends the waits at once; a job still listed then is one whose end
        # Textual's dead loop never recorded (jobs_remove runs on it), not one still working.
        deadline = time.monotonic() + 10
        backend.stop_waiting()
        while app.jobs and time.monotonic() < deadline:
            time.sleep(0.1)
        for line in clean_up():  # the terminal may be gone; where it is not, say what was done
            try:
                _err(line)
            except OSError:
                break
        os._exit(EXIT_INTERRUPTED)

    timer = threading.Timer(HANGUP_GRACE, watchdog)
    timer.daemon = True
    app.on_hangup = lambda: timer.is_alive() or timer.start()
    try:
        code = app.run()
    except KeyboardInterrupt:
        app.interrupted = True
        code = EXIT_INTERRUPTED
    finally:
        # From here to the exit a signal (a second one, or the first after `q`) must not cut the
        # clean-up short or turn the exit code into 143/129: held off until the process ends.
        hold_signals()
        notes = clean_up()
        timer.cancel()
        for line in notes:
            _err(line)
    if app.interrupted:
        return EXIT_INTERRUPTED
    return int(code if code is not None else 1)


def cleanup(app: Any) -> list[str]:
    """Undo what the wizard left half done; returns lines to print (no values, only names)."""
    notes: list[str] = []
    stack = app.stack
    backend = app.backend
    # A failed startup counts too: the secret files its containers mount are removed below, and
    # a closing terminal (SIGHUP to `docker compose up`) makes the startup fail before the wizard
    # itself hears of it.
    if app.startup_state in ("running", "cancelled", "failed"):
        notes.append("toolbox-tui: startup did not complete; stopping the containers started so far…")
        try:
            backend.down(stack)
        except Exception as exc:  # noqa: BLE001
            notes.append(f"  could not stop them: {exc} — run `docker compose -p {stack.name} down`")
    # `materialized` is set when the step sees the files written; a signal can end the app
    # between the write and that message, so a startup still running counts as written too.
    if (app.materialized or app.startup_state in ("running", "cancelled", "failed")) and app.startup_state != "ok":
        try:
            removed = backend.remove_secret_files(stack)
        except Exception as exc:  # noqa: BLE001
            notes.append(f"toolbox-tui: could not remove the secret files: {type(exc).__name__} — "
                         "run `toolbox-tui down` to remove them")
        else:
            if removed:
                notes.append(f"toolbox-tui: startup did not complete; removed {len(removed)} "
                             "secret file(s) written for it.")
    return notes
