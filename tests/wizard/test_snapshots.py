"""SVG snapshots of every wizard screen at 80x24 and 120x40, on data the test controls.

The project is a fresh copy of the example at a fixed path (so no tmp dir appears), and the
backend answers the machine-dependent questions (engine checks, keyring, container progress) with
canned values; everything else (paths, fix plan, secret inventory, URLs) is the real engine's.
Inputs do not blink and no clock is shown, so the pictures are the same on every run.

Review the HTML report before `pytest --snapshot-update`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.machine import EXAMPLE_DIR

pytest.importorskip("pytest_textual_snapshot")

from toolbox_tui.engine.containers import HealthProbe, ServiceState  # noqa: E402
from toolbox_tui.lifecycle.diagnosis import Diagnosis  # noqa: E402
from toolbox_tui.findings import FAIL, PASS, Check  # noqa: E402
from toolbox_tui.live.log_lines import LogBatch, LogLine  # noqa: E402
from toolbox_tui.compose.project import ProjectOptions, load_stack  # noqa: E402
from toolbox_tui.secrets.keyring_backend import BackendInfo  # noqa: E402
from toolbox_tui.secrets.store import SessionStore  # noqa: E402
from toolbox_tui.lifecycle.startup import ServiceProgress  # noqa: E402
from toolbox_tui.wizard.backend import StartupOutcome, WizardBackend  # noqa: E402

pytestmark = pytest.mark.xdist_group("wizard-snapshots")
"""One worker for these: the screenshots show SNAP_ROOT, a fixed path they share."""

SNAP_ROOT = Path("/tmp/tbx-wizard-snap/toolboxai")
"""Fixed location of the example copy, so paths on screen are the same on every machine."""
SIZES = [(80, 24), (120, 40)]

PREREQ = [
    Check("prereq.docker_cli", "prereq", "info", PASS, "Docker CLI 28.2.2",
          detail="/usr/local/bin/docker (version 28.2.2)"),
    Check("prereq.engine", "prereq", "info", PASS, "Docker engine reachable"),
    Check("prereq.engine_version", "prereq", "info", PASS, "Docker engine 20.10.24, API 1.41"),
    Check("prereq.compose", "prereq", "info", PASS, "Docker Compose 2.40.3"),
    Check("prereq.swarm", "prereq", "info", PASS, "Swarm: inactive"),
    Check("prereq.disk", "prereq", "info", PASS, "79.2 GiB free for Docker"),
    Check("prereq.memory", "prereq", "info", PASS, "Engine memory 23.5 GiB"),
    Check("prereq.port.8009/tcp", "prereq", "error", FAIL, "Port 8009/tcp is in use",
          detail="127.0.0.1:8009 is held by process 4242 (python3 -m http.server 8009), user dev.",
          hint="Stop that process, or change the published port of 'backend' "
               "(infrastructure/docker/compose/docker-compose.yml:78)."),
    Check("prereq.port.5180/tcp", "prereq", "info", PASS, "Port 5180/tcp is free"),
]


class CannedBackend(WizardBackend):
    """Real engine for files and secrets; canned answers for what depends on the machine."""

    def __init__(self, *, port_busy: bool = False, startup_ok: bool = True) -> None:
        super().__init__()
        self.port_busy = port_busy
        self.startup_ok = startup_ok

    def doctor(self, stack):
        from toolbox_tui.checks.doctor import doctor_report

        prereq = [c for c in PREREQ if self.port_busy or c.status != FAIL]
        rest = doctor_report(stack, engine=False, compose=False, docs=True).checks
        return prereq + [Check("compose.config", "compose", "info", PASS,
                               "docker compose config accepts the files")] + rest

    def keyring_info(self):
        return BackendInfo("keyring.backends.fail.Keyring", False, "no backend found")

    def file_store_info(self):
        from pathlib import Path

        from toolbox_tui.secrets.file_store_disk import FileStoreInfo

        return FileStoreInfo(Path.home() / ".local/share/toolbox-tui/secrets.cfg", False)

    def can_undo(self, stack):
        return False

    def missing_secrets(self, stack, store):
        return [] if store is not None and store.get("db_password") else super().missing_secrets(stack, store)

    def start_logs(self, stack, on_batch):
        on_batch(LogBatch(lines=tuple(
            LogLine("redis", "3f2a9c1b", "", 0, text, level="")
            for text in ("1:C 27 Nov 2026 10:00:00.000 # Redis is starting",
                         "1:C 27 Nov 2026 10:00:00.001 # Fatal error, can't open config file "
                         "'/usr/local/etc/redis/redis.conf': Is a directory"))))
        return None

    def run_startup(self, stack, store, *, on_progress, on_state, on_stack):
        on_stack(stack)
        for name in stack.services:
            on_progress(ServiceProgress(name, "running", "Started", f"Container toolboxai-{name}-1"))
        for name, svc in stack.services.items():
            bad = name == "redis" and not self.startup_ok
            on_state(ServiceState(service=name, container_id="c-" + name, state="running",
                                  health="unhealthy" if bad else "healthy", has_healthcheck=True,
                                  verdict="failed" if bad else "done",
                                  reason="health: unhealthy" if bad else "healthy"))
        if self.startup_ok:
            return StartupOutcome(True, "All 13 services are up (12 s of health checks).")
        diag = Diagnosis(
            service="redis", cause="missing_mount",
            summary="a mounted file is missing: the engine created an empty directory in its place",
            hint="run `toolbox-tui fix` (the Paths step) and start again",
            evidence=("/usr/local/etc/redis/redis.conf is a directory on the host",),
            state="running", health="unhealthy",
            health_log=(HealthProbe(exit_code=1, output="Could not connect to Redis at 127.0.0.1:6379: Connection refused"),),
            logs=("Fatal error, can't open config file '/usr/local/etc/redis/redis.conf'",))
        return StartupOutcome(False, "Not healthy: redis (redis failed).", (diag,))


def fresh_stack():
    if SNAP_ROOT.exists():
        shutil.rmtree(SNAP_ROOT)
    SNAP_ROOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXAMPLE_DIR, SNAP_ROOT, symlinks=True)
    opts = ProjectOptions(cwd=str(SNAP_ROOT))
    return load_stack(opts, environ={"PATH": "/usr/bin:/bin"}), opts


def make_app(start_step: str, *, store=None, **backend_kw):
    from toolbox_tui.screens.wizard.app import WizardApp

    stack, opts = fresh_stack()
    app = WizardApp(stack, opts, CannedBackend(**backend_kw), start_step=start_step, persist=False,
                    cursor_blink=False)
    app.store = store
    return app


async def settle(pilot, rounds: int = 30) -> None:
    """Let the step's workers finish and the screen repaint: done when no worker has run for
    `QUIET` rounds in a row (a finished worker's message may start another), at most `rounds`
    (a fixed 30 rounds cost ~1.5 s per call, ~2 minutes over this file on a loaded run)."""
    from textual.worker import WorkerState

    quiet = 0
    for _ in range(rounds):
        await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()
        busy = any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in pilot.app.workers)
        quiet = 0 if busy else quiet + 1
        if quiet >= min(QUIET, rounds):
            break
    # then until the layout holds still: some widgets size themselves when the app is idle (a
    # DataTable's column widths), which a loaded machine reaches later (r17: a table captured
    # with every column cut to its header's width)
    before = None
    for _ in range(20):
        await pilot.pause()  # None: until the app is idle
        await pilot.pause(0.05)
        now = _layout(pilot.app)
        if now == before:
            break
        before = now


def _layout(app) -> tuple:
    """Where every widget of the screen is, how big its content is and where it is scrolled."""
    return tuple((id(w), w.region, w.virtual_size, w.scroll_offset)
                 for w in app.screen.walk_children(with_self=True))


QUIET = 8
"""Rounds (of 50 ms) without a running worker after which a screen is taken as settled."""


def filled_store() -> SessionStore:
    s = SessionStore()
    for name in ("db_password", "redis_password", "jwt_secret", "backup_encryption_key"):
        s.set(name, "x" * 40)
    return s


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_project(snap_compare, size):
    assert snap_compare(make_app("project"), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_prereq_blocked(snap_compare, size):
    """The first failing check is highlighted on its own, with its detail and hint below."""
    assert snap_compare(make_app("prereq", port_busy=True), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_paths(snap_compare, size):
    assert snap_compare(make_app("paths"), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_paths_preview(snap_compare, size):
    app = make_app("paths")

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("o")  # postgres: copy -> symlink
        await settle(pilot)
        await pilot.press("o")  # -> rewrite (the preview shows its diff)
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot, 3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_secrets_no_keyring(snap_compare, size):
    assert snap_compare(make_app("secrets"), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_secrets_form_masked_with_validation(snap_compare, size):
    app = make_app("secrets")

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        pilot.app.screen.query_one("#input-db_password").focus()
        await pilot.press(*"short!")
        await settle(pilot, 3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_review(snap_compare, size):
    assert snap_compare(make_app("review", store=filled_store()), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_startup_failed_with_diagnosis(snap_compare, size):
    app = make_app("startup", store=filled_store(), startup_ok=False)
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_done(snap_compare, size):
    app = make_app("startup", store=filled_store(), startup_ok=True)
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_quit_confirmation(snap_compare, size):
    app = make_app("project")

    async def run_before(pilot):
        await settle(pilot)
        pilot.app.jobs_add("checking prerequisites")
        await pilot.press("q")
        await settle(pilot, 3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


# --- behaviour on the same canned data (not snapshots) ----------------------------------------

async def test_untrusted_container_text_is_never_markup():
    """Compose progress, log lines and diagnoses are attacker-controlled: `[@click=...]` must show
    literally and run nothing."""
    from toolbox_tui.screens.wizard.startup import Logs, Progress

    app = make_app("startup", store=filled_store(), startup_ok=False)
    evil = "[@click=app.quit]boom[/] [b]bold?[/b]"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.post_message(Progress(ServiceProgress("redis", "error", evil, evil)))
        screen.post_message(Logs(LogBatch(lines=(LogLine("redis", "c", "", 0, evil),))))
        await settle(pilot, 5)
        await pilot.click("#startup-table")  # a click on the cell must not trigger an action
        await settle(pilot, 3)
        assert app.is_running
        from textual.widgets import DataTable, RichLog

        cell = screen.query_one("#startup-table", DataTable).get_cell("redis", "compose")
        assert cell.plain == evil  # a Text, shown as written (truncated by the column only)
        log = screen.query_one("#startup-log", RichLog)
        assert any(evil in "".join(seg.text for seg in strip) for strip in log.lines)


async def test_command_palette_lists_the_step_keys():
    app = make_app("paths")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Apply (a)" in titles and "Preview (p)" in titles and "Quit" in titles
        quit_cmd = next(c for c in app.get_system_commands(app.screen) if c.title == "Quit")
        assert quit_cmd.callback == app.action_request_quit


async def test_start_again_from_review_after_a_failure():
    app = make_app("review", store=filled_store(), startup_ok=False)
    calls = []
    original = app.backend.run_startup

    def counted(*a, **kw):
        calls.append(1)
        return original(*a, **kw)

    app.backend.run_startup = counted
    app.backend.doctor = lambda stack: []  # nothing left to fix: Start is allowed
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert app.screen.STEP == "startup" and app.startup_state == "failed" and len(calls) == 1
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.STEP == "review"
        app.backend.startup_ok = True
        await pilot.press("s")
        await settle(pilot)
        assert len(calls) == 2 and app.startup_state == "ok" and app.screen.STEP == "done"
