"""The engine calls the wizard makes, in one object the Textual app receives in its constructor.

The screens only show and ask; every call here goes to the same engine functions the headless CLI
uses (doctor, fix plan/apply/undo, secret inventory/store/materialize, compose up, health wait,
diagnosis, log pipeline). Keeping them behind one small object lets tests hand the app a backend
with canned answers (deterministic snapshots) while Pilot tests use this real one. No textual here.

Every method may block: the app calls them from thread workers only.
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from toolbox_tui.findings import FAIL, Check
from toolbox_tui.paths import rel
from toolbox_tui.sanitize import sanitize_oneline
from toolbox_tui.wizard.freshness import ProjectChanged, fingerprint
from toolbox_tui.wizard.teardown import ClosableClient, bring_down, own_children

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack


@dataclass(frozen=True)
class StartupOutcome:
    """How the Startup step ended."""

    ok: bool
    summary: str
    """One sentence for the status line."""
    diagnoses: tuple[Any, ...] = ()
    """`diagnosis.Diagnosis` objects (sanitized text) when something did not come up."""
    cancelled: bool = False


def blocking_prereqs(checks: Iterable[Check]) -> list[Check]:
    """Failing prerequisite checks: nothing can start while one of them fails."""
    return [c for c in checks if c.area == "prereq" and c.status == FAIL]


class WizardBackend:
    """Real engine access for the wizard. Subclass and override for canned data."""

    health_timeout = 180.0
    """Seconds `wait_healthy` may take before the startup is declared failed."""

    def __init__(self) -> None:
        self._client: Any = None
        self._live: list[ClosableClient] = []
        self.cancel = threading.Event()
        """Set when the user quits: long waits return as soon as they can."""
        self._prints: dict[int, tuple[Any, dict[str, str | None]]] = {}
        """id(stack) -> (stack, its source files' hashes when it was read): what "stale" means."""
        self._prints_lock = threading.Lock()

    # --- project ------------------------------------------------------------------------------

    def load(self, opts: Any) -> Any:
        from toolbox_tui.compose.project import load_stack

        stack = load_stack(opts)
        self.watch(stack)
        return stack

    def watch(self, stack: Stack) -> None:
        """Remember what `stack`'s source files hold now (once per stack; the app calls it as soon
        as a step shows, so edits made while the wizard is open are noticed)."""
        with self._prints_lock:
            if id(stack) not in self._prints:
                self._prints[id(stack)] = (stack, fingerprint(stack))

    def changed_files(self, stack: Stack) -> list[str]:
        """Source files of `stack` whose content differs from when it was read (relative to the
        root where possible). [] for a stack never watched (it is watched from now on)."""
        with self._prints_lock:
            seen = self._prints.get(id(stack))
        if seen is None:
            self.watch(stack)
            return []
        now = fingerprint(stack)
        root = self._root_or_none(stack)
        return [rel(f, root) for f, h in seen[1].items() if now.get(f) != h]

    def reread(self, stack: Stack, opts: Any) -> tuple[Any, list[str]]:
        """(the project as it is on disk now, files that changed). Reloads only when a source file
        changed; raises LoadError (file:line) when the edited project no longer loads."""
        changed = self.changed_files(stack)
        if not changed:
            return stack, []
        return self.load(opts), changed

    def check_fresh(self, stack: Stack, doing: str, hint: str = "") -> None:
        """Raise ProjectChanged when a source file of `stack` changed since it was read."""
        changed = self.changed_files(stack)
        if changed:
            raise ProjectChanged(changed, doing, hint)

    @staticmethod
    def _root_or_none(stack: Stack) -> Path | None:
        try:
            return Path(stack.root_dir())
        except Exception:  # noqa: BLE001 - canned stacks in tests
            return None

    def root(self, stack: Stack) -> Path:
        return Path(stack.root_dir())

    # --- checks -------------------------------------------------------------------------------

    def setup_steps(self, stack: Stack) -> list[Any]:
        """The set-up steps the project's docs name before the first `up` (the same engine
        function as `toolbox-tui setup`)."""
        from toolbox_tui.lifecycle.setup_run import project_setup_steps

        return project_setup_steps(stack)

    def run_setup(self, stack: Stack, step: Any, *, yes: bool, on_line: Callable[[str], None],
                  stop: Any = None) -> int:
        """Run one set-up step after the user's yes (raises SetupRefused otherwise)."""
        from toolbox_tui.lifecycle.setup_run import run_setup_step

        return run_setup_step(step, stack.root_dir(), yes=yes, on_line=on_line, stop=stop)

    def doctor(self, stack: Stack) -> list[Check]:
        from toolbox_tui.checks.doctor import doctor_report

        return doctor_report(stack, engine=True).checks

    # --- paths --------------------------------------------------------------------------------

    def fix_findings(self, stack: Stack) -> list[Check]:
        from toolbox_tui.fixes.plan import gather_findings

        return gather_findings(stack)

    def plan(self, stack: Stack, findings: Sequence[Check], choices: Sequence[Any] = ()) -> Any:
        from toolbox_tui.fixes.plan import fixable, make_plan

        open_ids = {f.id for f in findings if fixable(f)}
        return make_plan(findings, root=self.root(stack), project_dir=stack.project_dir,
                         choices=[c for c in choices if c.finding_id in open_ids])

    def apply(self, stack: Stack, plan: Any) -> Any:
        """Apply `plan` (made from `stack`); refused when a project file changed since, because
        the plan may no longer match it (fix_apply itself only checks the files it touches)."""
        from toolbox_tui.fixes.apply import apply_plan

        self.check_fresh(stack, "the plan was made", "press r to re-check and get a fresh plan")
        return apply_plan(plan, stack.state_dir)

    def undo(self, stack: Stack) -> Any:
        from toolbox_tui.fixes.undo import undo

        return undo(stack.state_dir)

    def can_undo(self, stack: Stack) -> bool:
        from toolbox_tui.fixes.runs import list_runs

        return any(j.get("status") == "applied" for _, j in list_runs(stack.state_dir))

    # --- secrets ------------------------------------------------------------------------------

    def keyring_info(self) -> Any:
        from toolbox_tui.secrets.keyring_backend import detect_backend

        return detect_backend()

    def open_store(self, stack: Stack, *, session: bool = False) -> Any:
        """The keyring store, or the session store when the user chose it. Raises NoSecureKeyring."""
        from toolbox_tui.secrets.store import open_store

        return open_store(stack.name, store="session" if session else None)

    def chosen_store(self) -> str | None:
        """`$TOOLBOX_TUI_STORE` (`file` makes the wizard ask for the passphrase at once)."""
        from toolbox_tui.secrets.store import chosen_store

        try:
            return chosen_store(None)
        except Exception:  # noqa: BLE001 - a bad value: the step offers the choices
            return None

    def file_store_info(self) -> Any:
        """Where the encrypted file store is, whether it exists, and why it cannot be used."""
        from toolbox_tui.secrets.file_store_disk import describe

        return describe()

    def open_file_store(self, stack: Stack, passphrase: str) -> tuple[Any, str]:
        """`(store, "")`, or `(None, error)` for the wizard's passphrase dialog (wrong
        passphrase, damaged or unsafe file: the message names the file, never the passphrase)."""
        from toolbox_tui.secrets.store import StoreError, open_file_store

        try:
            return open_file_store(stack.name, lambda _new, _path: passphrase), ""
        except StoreError as exc:
            return None, str(exc) + (f". {exc.hint}" if exc.hint else "")

    def inventory(self, stack: Stack) -> list[Any]:
        from toolbox_tui.secrets.inventory import build_inventory

        return build_inventory(stack)

    def secret_status(self, stack: Stack, entries: list[Any], store: Any) -> dict[str, Any]:
        """Status per secret name (never values)."""
        from toolbox_tui.secrets.inventory import resolve

        _values, status = resolve(stack, entries, store, mode=stack.mode or "dev")
        return status

    def missing_secrets(self, stack: Stack, store: Any) -> list[str]:
        """Names of secrets `up` needs that have no value yet (empty: ready)."""
        from toolbox_tui.secrets.materialize import SecretsIncomplete, plan

        try:
            plan(stack, store, mode=stack.mode or "dev")
        except SecretsIncomplete as exc:
            return list(exc.names)
        return []

    def problems(self, entry: Any, value: str) -> list[str]:
        from toolbox_tui.secrets.kinds import problems

        return problems(entry.name, value, entry.rule)

    def generate(self, entry: Any) -> str:
        from toolbox_tui.secrets.kinds import generate

        return generate(entry.rule)

    def store_value(self, store: Any, name: str, value: str) -> None:
        store.set(name, value)

    # --- startup ------------------------------------------------------------------------------

    def client(self) -> Any:
        if self._client is None:
            from toolbox_tui.engine.client import connect

            self._client = connect(timeout=None)
        return self._client

    def remove_secret_files(self, stack: Stack) -> list[str]:
        from toolbox_tui.secrets.materialize import remove_materialized

        return remove_materialized(stack)

    def run_startup(self, stack: Stack, store: Any, *, on_progress: Callable[[Any], None],
                    on_state: Callable[[Any], None], on_stack: Callable[[Any], None]) -> StartupOutcome:
        """Write the secret files, then `lifecycle.up.start_stack`: the same start as `toolbox-tui
        up` (compose up, wait until healthy, diagnose what is not, the engine lost told apart)."""
        from toolbox_tui.engine.compose_cli import ComposeError
        from toolbox_tui.lifecycle.up import prepare_secrets, start_stack

        changed = self.changed_files(stack)
        if changed:  # secrets and services would come from the old content: refuse, re-check
            return StartupOutcome(False, f"{', '.join(changed)} changed on disk since the review; "
                                         "nothing was started. Esc goes back to Review, which "
                                         "reads the project again.")
        stack, _notes = prepare_secrets(stack, store, stack.mode or "dev")  # SecretsIncomplete...
        self.watch(stack)
        on_stack(stack)
        if self.cancel.is_set():
            return StartupOutcome(False, "Cancelled before the containers were started.", cancelled=True)
        try:
            client = self.client()
        except Exception as exc:  # noqa: BLE001 - EngineUnavailable: the engine is not there
            return self._engine_lost("starting the containers", sanitize_oneline(str(exc), max_len=200))
        live = ClosableClient(client)
        self._live.append(live)
        if self.cancel.is_set():
            live.close_streams()
        try:
            outcome = start_stack(stack, live, timeout=self.health_timeout, on_progress=on_progress,
                                  on_state=on_state, cancelled=self.cancel.is_set)
        except ComposeError as exc:
            return StartupOutcome(False, f"docker compose could not run: {exc}")
        finally:
            self._live.remove(live)
        if outcome.cancelled:
            when = ("while the containers were starting" if outcome.wait is None
                    else "while waiting for health checks")
            return StartupOutcome(False, f"Cancelled {when}.", cancelled=True)
        if outcome.engine_lost is not None:
            phase = {"waiting for health": "waiting for health checks"}.get(
                outcome.engine_lost.phase, outcome.engine_lost.phase)
            return self._engine_lost(phase, outcome.engine_lost.reason)
        if outcome.ok:
            return StartupOutcome(True, f"All {len(outcome.states or {})} services are up "
                                        f"({outcome.wait.elapsed:.0f} s of health checks).")
        if not outcome.compose.ok:
            return StartupOutcome(False, "docker compose up failed.", outcome.diagnoses)
        wait = outcome.wait
        why = "timed out" if wait.timed_out else f"{wait.stopped_early} failed"
        return StartupOutcome(False, f"Not healthy: {', '.join(outcome.not_ready)} ({why}).",
                              outcome.diagnoses)

    def _engine_gone(self) -> str | None:
        from toolbox_tui.lifecycle.health import engine_gone

        try:
            return engine_gone(self.client())
        except Exception as exc:  # noqa: BLE001 - no client at all: the engine is not there
            return sanitize_oneline(str(exc), max_len=200) or type(exc).__name__

    @staticmethod
    def _engine_lost(phase: str, why: str) -> StartupOutcome:
        """The same report as `toolbox-tui up` (exit 3 there): the engine, not a service, failed."""
        return StartupOutcome(False, f"The Docker engine went away while {phase} ({why}). Start it "
                                     "again (until `docker info` answers), then press r to retry; "
                                     "the secret files stay for the retry.")

    def start_logs(self, stack: Stack, on_batch: Callable[[Any], None]) -> Any:
        """A running `LogPipeline` for the project (stop() it when done)."""
        from toolbox_tui.live.logs import LogPipeline

        pipe = LogPipeline(self.client(), stack.name, on_batch, services=list(stack.services),
                           initial_tail=20, flush_interval=0.2, max_in_flight=None)
        pipe.start()
        return pipe

    def down(self, stack: Stack) -> None:
        """Bring the project down after a startup that did not complete (`teardown.bring_down`).
        Raises RuntimeError (user-facing) when Compose refuses."""
        bring_down(stack, self.client)

    def stop_waiting(self) -> None:
        """Make blocked waits return now (the user quits): close the event streams and stop the
        `docker compose` this process started (the launcher then brings the project down)."""
        self.cancel.set()
        for live in list(self._live):
            live.close_streams()
        for pid in own_children("docker"):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass

    # --- done ---------------------------------------------------------------------------------

    def access_urls(self, stack: Stack) -> list[Any]:
        """Where to open the stack: the same list `toolbox-tui up` prints."""
        from toolbox_tui.lifecycle.access import access_urls

        return access_urls(stack)

    def next_commands(self, stack: Stack, opts: Any = None) -> list[tuple[str, str]]:
        """(command, what it does) to show on the Done step, with the options the wizard got."""
        import shlex

        flags: list[str] = []
        if opts is not None and getattr(opts, "project_name", None):
            flags += ["-p", stack.name]
        if opts is not None and getattr(opts, "mode", None):
            flags += ["--mode", str(opts.mode)]
        for f in (getattr(opts, "files", None) or ()) if opts is not None else ():
            flags += ["-f", str(f)]
        suffix = (" " + shlex.join(flags)) if flags else ""
        return [
            (f"toolbox-tui doctor{suffix}", "check the stack again"),
            (f"toolbox-tui dashboard{suffix}", "live health, logs and actions"),
            (f"toolbox-tui down{suffix}", "stop the stack and remove the secret files"),
        ]

    def close(self) -> None:
        self.stop_waiting()
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001
                pass
