"""The onboarding wizard driven with Pilot against the real engine on a copy of the example stack.

Each test loads `examples/toolboxai` (a private copy) under a unique `tbxtest-` project name and
walks the steps with key presses, as a user would; the engine, Compose, the fix engine and the
secret store are the real ones. Anything started is brought down (and secret files removed) in a
finalizer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.wizard import SIZE, fix_paths, make_app, screen_text, status, wait_for
from toolbox_tui.compose.project import ProjectOptions, load_stack

pytest.importorskip("textual")

from textual.widgets import DataTable, Input  # noqa: E402

from toolbox_tui.screens.wizard.app import WizardApp  # noqa: E402
from toolbox_tui.wizard.backend import WizardBackend  # noqa: E402
from toolbox_tui.wizard.state import load_state  # noqa: E402

CANARY = "canary-Zq9xT3vLp8RwK2mN7bYc4"
"""A value that must never show up anywhere but the store (and the screen after reveal)."""

async def to_step(pilot, step: str) -> None:
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "STEP", None) == step, what=f"step {step}")


async def next_when_ready(pilot, step: str, key: str = "n") -> None:
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "STEP", None) == step and not pilot.app.screen.next_blocked(),
                   what=f"Next enabled on {step}")
    await pilot.press(key)


# --- launching ------------------------------------------------------------------------------

def test_unloadable_project_is_a_message_and_exit_3(tmp_path):
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  web:\n    image: x\n   ports: [1]\n")
    proc = subprocess.run([sys.executable, "-m", "toolbox_tui"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "compose.yaml:" in proc.stderr and "error" in proc.stderr


def test_no_compose_file_is_exit_3(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "toolbox_tui", "wizard"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 3
    assert "no Compose file found" in proc.stderr and "hint:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_without_a_terminal_the_wizard_says_so(example_copy):
    proc = subprocess.run([sys.executable, "-m", "toolbox_tui"], cwd=example_copy, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "interactive terminal" in proc.stderr and "toolbox-tui doctor" in proc.stderr


# --- steps against the real engine ----------------------------------------------------------

async def test_project_and_prereq_steps_show_real_findings(example_copy, project_name, docker_client,
                                                           compose_ready):
    app = make_app(example_copy, project_name, persist=False)
    async with app.run_test(size=SIZE) as pilot:
        await to_step(pilot, "project")
        text = screen_text(app)
        assert project_name in text and "docker-compose.dev.yml" in text and "Services (13)" in text
        await pilot.press("n")
        await to_step(pilot, "prereq")
        await wait_for(pilot, lambda: app.screen.checks, what="prerequisite checks")
        ids = {c.id: c.status for c in app.screen.checks}
        assert ids["prereq.engine"] == "pass" and ids["prereq.compose"] == "pass"
        table = app.screen.query_one("#prereq-table", DataTable)
        assert table.row_count == len(app.screen.checks)
        assert "Later steps:" in screen_text(app)  # paths and secrets are for later steps
        await pilot.press("escape")
        await to_step(pilot, "project")


async def test_prereq_blocking_failure_keeps_next_disabled(example_copy, project_name):
    """A failing engine check (here: an engine that does not answer) blocks Next and says why."""

    class NoEngine(WizardBackend):
        def doctor(self, stack):
            from toolbox_tui.checks.doctor import doctor_report

            old = os.environ.get("DOCKER_HOST")
            os.environ["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
            try:
                return doctor_report(stack, engine=True).checks
            finally:
                if old is None:
                    os.environ.pop("DOCKER_HOST", None)
                else:
                    os.environ["DOCKER_HOST"] = old

    app = make_app(example_copy, project_name, persist=False, backend=NoEngine(),
                   start_step="prereq")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen.checks, what="checks")
        reason = app.screen.next_blocked()
        assert "failing" in reason and "Docker engine" in reason
        await pilot.press("n")
        assert app.screen.STEP == "prereq"
        assert "Next is disabled" in status(app)


async def test_paths_step_apply_and_undo(example_copy, project_name, compose_ready):
    compose_dir = example_copy / "infrastructure/docker/compose"
    app = make_app(example_copy, project_name, persist=False, start_step="paths")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.plan is not None, what="fix plan")
        ids = [f.finding_id for f in screen.plan.findings]
        assert "paths.bind.redis.1" in ids and "env.file.missing" in ids
        assert "no fix" not in screen_text(app)
        # cycle the redis finding to `symlink`, preview shows it, apply everything
        table = screen.query_one("#paths-table", DataTable)
        table.move_cursor(row=ids.index("paths.bind.redis.1"))
        await pilot.press("o")
        await wait_for(pilot, lambda: not screen.busy and any(
            f.chosen and f.chosen.option == "symlink" for f in screen.plan.findings
            if f.finding_id == "paths.bind.redis.1"), what="symlink chosen")
        await pilot.press("p")
        await wait_for(pilot, lambda: "Fix plan" in screen_text(app), what="preview")
        assert "symlink" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("a")
        await wait_for(pilot, lambda: "Apply" in screen_text(app), what="confirm dialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: not screen.busy and screen.plan is not None
                       and not screen.plan.findings, what="findings gone")
        assert (compose_dir / "config/redis.conf").is_symlink()
        assert (compose_dir / "config/postgres-init.sql").is_file()
        assert (compose_dir / ".env").is_file()
        assert app.stack.env_files, "the stack is reloaded with the new .env"
        assert not screen.next_blocked()
        await pilot.press("u")
        await pilot.press("y")
        await wait_for(pilot, lambda: not screen.busy and screen.plan is not None
                       and screen.plan.findings, what="undo")
        assert not (compose_dir / "config/redis.conf").exists()
        assert not (compose_dir / ".env").exists()
        assert screen.next_blocked()


async def test_secrets_step_without_keyring_masks_validates_and_never_leaks(
        example_copy, project_name, no_keyring):
    fix_paths(example_copy)  # the .env with POSTGRES_USER/DB that database_url is derived from
    app = make_app(example_copy, project_name, start_step="secrets")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.entries, what="inventory")
        assert app.store is None and "No secure keyring" in screen_text(app)
        assert "choose where" in screen.next_blocked()
        await pilot.press("s")  # the explicit choice: this session only
        await wait_for(pilot, lambda: screen.missing is not None and app.store is not None,
                       what="session store")
        assert app.store.label == "session"
        assert "db_password" in screen.missing and "database_url" in screen.missing
        assert "needs db_password" in screen_text(app)  # derived: says what it waits for
        inp = screen.query_one("#input-db_password", Input)
        inp.focus()
        await pilot.press(*"short")
        await pilot.pause(0.1)
        assert "at least 12 characters" in screen_text(app)
        inp.value = ""
        await pilot.press(*CANARY)
        await pilot.pause(0.1)
        assert inp.password and inp.value == CANARY
        text = screen_text(app)
        assert CANARY not in text and "valid" in text
        await pilot.press("ctrl+r")  # reveal shows it
        await pilot.pause(0.1)
        assert CANARY in screen_text(app)
        await pilot.press("ctrl+r")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.store.get("db_password") == CANARY, what="saved")
        await wait_for(pilot, lambda: "db_password" not in (screen.missing or ["db_password"]),
                       what="status updated")
        assert inp.value == "" and CANARY not in screen_text(app)
        await pilot.press("ctrl+t")  # generate the rest that may be generated
        await wait_for(pilot, lambda: screen.missing == [], what="all secrets set")
        assert app.store.get("db_password") == CANARY  # generate-all leaves typed ones alone
        assert not screen.next_blocked()
        await pilot.press("ctrl+n")
        await to_step(pilot, "review")
    wizard_json = (app.stack.state_dir / "wizard.json").read_text()
    assert CANARY not in wizard_json and "secrets" in json.loads(wizard_json)["done"]
    for path in app.stack.state_dir.rglob("*"):
        if path.is_file():
            assert CANARY not in path.read_text(errors="replace"), path


async def test_secrets_step_uses_the_real_keyring(example_copy, project_name, keyring_backend):
    from toolbox_tui.secrets.store import open_store

    app = make_app(example_copy, project_name, persist=False, start_step="secrets")
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await wait_for(pilot, lambda: screen.missing is not None, what="keyring store")
            assert app.store.label == "keyring" and "OS keyring" in screen_text(app)
            inp = screen.query_one("#input-jwt_secret", Input)
            inp.focus()
            await pilot.press("ctrl+g")
            await pilot.pause(0.1)
            generated = inp.value
            assert len(generated) >= 32, status(app)
            assert generated not in screen_text(app)
            await pilot.press("enter")
            await wait_for(pilot, lambda: "jwt_secret" not in screen.missing, what="saved")
        assert open_store(project_name).get("jwt_secret") == generated
    finally:
        open_store(project_name).purge()


async def test_full_run_to_healthy_then_resume(example_copy, example_ports, project_name, test_image, docker_client,
                                               compose_ready, cleanup_project, no_keyring):
    app = make_app(example_copy, project_name)
    stack_files: list = []
    try:
        async with app.run_test(size=SIZE) as pilot:
            await next_when_ready(pilot, "project")
            await next_when_ready(pilot, "prereq")
            await wait_for(pilot, lambda: app.screen.STEP == "paths" and app.screen.plan is not None,
                           what="paths")
            await pilot.press("a")
            await pilot.press("y")
            await next_when_ready(pilot, "paths")
            await to_step(pilot, "secrets")
            await wait_for(pilot, lambda: app.screen.entries, what="secrets")
            await pilot.press("s")
            await wait_for(pilot, lambda: app.screen.missing, what="missing secrets")
            await pilot.press("ctrl+t")
            await next_when_ready(pilot, "secrets", "ctrl+n")
            await next_when_ready(pilot, "review", "s")
            await to_step(pilot, "startup")
            await wait_for(pilot, lambda: app.materialized, what="secret files")
            stack_files = list(app.stack.files)
            cleanup_project(project_name, files=stack_files, project_dir=app.stack.project_dir)
            await wait_for(pilot, lambda: app.startup_state != "running", timeout=240,
                           what="startup")
            assert app.startup_state == "ok", status(app)
            table = app.get_screen("startup").query_one("#startup-table", DataTable)
            assert table.row_count == 13
            await to_step(pilot, "done")
            await wait_for(pilot, lambda: "is up and healthy" in screen_text(app), what="done text")
            text = screen_text(app)
            assert "is up and healthy" in text and f"http://127.0.0.1:{example_ports['DASHBOARD_PORT']}/" in text
            assert f"toolbox-tui dashboard -p {project_name}" in text
            await pilot.press("d")  # the live dashboard on this stack, and back
            await wait_for(pilot, lambda: getattr(app.screen, "states", None) is not None
                           and len([s for s in app.screen.states.values()
                                    if getattr(s, "health", None) == "healthy"]) == 13,
                           what="dashboard rows healthy")
            await pilot.press("b")
            await wait_for(pilot, lambda: getattr(app.screen, "STEP", None) == "done", what="back")
        states = {c.labels["com.docker.compose.service"]: c.attrs["State"].get("Health", {}).get("Status")
                  for c in docker_client.containers.list(
                      filters={"label": f"com.docker.compose.project={project_name}"})}
        assert len(states) == 13 and set(states.values()) == {"healthy"}
        assert load_state(app.stack).done[-1] == "done"
    finally:
        app.backend.remove_secret_files(app.stack)
        app.backend.close()


async def test_ctrl_c_during_startup_leaves_no_secret_files(example_copy, example_ports, project_name, test_image,
                                                            docker_client, compose_ready,
                                                            cleanup_project):
    from toolbox_tui.screens.wizard.launch import cleanup
    from toolbox_tui.secrets.materialize import read_journal
    from toolbox_tui.secrets.store import SessionStore

    fix_paths(example_copy)  # so the wizard can go straight to the startup
    app = make_app(example_copy, project_name, persist=False, start_step="review")
    store = SessionStore()
    for name in ("db_password", "redis_password", "jwt_secret", "backup_encryption_key"):
        store.set(name, CANARY + name)
    app.store = store
    async with app.run_test(size=SIZE) as pilot:
        await next_when_ready(pilot, "review", "s")
        await wait_for(pilot, lambda: app.materialized, what="secret files written")
        cleanup_project(project_name, files=list(app.stack.files), project_dir=app.stack.project_dir)
        files = list((read_journal(app.stack).get("files") or {}).values())
        assert files and all(Path(f).exists() for f in files)
        await pilot.press("ctrl+c")
    assert app.return_value == 130 and app.interrupted
    notes = cleanup(app)
    assert any("removed" in n for n in notes)
    assert not any(Path(f).exists() for f in files)
    assert not (app.stack.state_dir / "compose.secrets.yml").exists()
    left = docker_client.containers.list(all=True,
                                         filters={"label": f"com.docker.compose.project={project_name}"})
    assert not left, "the half-started stack is brought down"
    app.backend.close()


async def test_q_asks_when_work_is_in_flight(example_copy, project_name):
    import threading

    gate = threading.Event()

    class Slow(WizardBackend):
        def doctor(self, stack):
            gate.wait(20)
            return []

    app = make_app(example_copy, project_name, persist=False, backend=Slow(), start_step="prereq")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.jobs, what="job in flight")
        await pilot.press("q")
        await wait_for(pilot, lambda: "Still working" in screen_text(app), what="confirmation")
        await pilot.press("n")
        await pilot.pause(0.1)
        assert app.is_running and app.screen.STEP == "prereq"
        await pilot.press("q")
        await pilot.press("y")
        gate.set()
    assert app.return_value == 1


async def test_resume_rechecks_instead_of_trusting_memory(example_copy, project_name, compose_ready):
    """wizard.json says Paths was done, but the files are missing: the wizard says so."""
    from toolbox_tui.wizard.state import WizardState, save_state

    stack = load_stack(ProjectOptions(project_name=project_name, cwd=str(example_copy)))
    save_state(stack, WizardState(project=stack.name, mode=stack.mode,
                                  done=["project", "prereq", "paths"]))
    state = load_state(stack)
    assert state.start_step() == "secrets"
    app = WizardApp(stack, ProjectOptions(project_name=project_name, cwd=str(example_copy)),
                    WizardBackend(), state, start_step=state.start_step(), recheck=True)
    async with app.run_test(size=SIZE) as pilot:
        await to_step(pilot, "secrets")
        await wait_for(pilot, lambda: app.checks is not None, what="resume re-check")
        await pilot.pause(0.2)
        assert not app.state.is_done("paths")
        assert any("Paths no longer pass" in n.message for n in app._notifications)
    assert "paths" not in load_state(stack).done


def test_every_wizard_binding_has_an_id():
    import importlib

    from toolbox_tui.screens.wizard.app import STEP_CLASSES

    classes = [WizardApp]
    for spec in STEP_CLASSES.values():
        module, cls = spec.split(":")
        classes.append(getattr(importlib.import_module(f"toolbox_tui.screens.wizard.{module}"), cls))
    from toolbox_tui.screens import dialogs

    classes += [dialogs.ConfirmDialog, dialogs.TextDialog, dialogs.TextViewDialog]
    for cls in classes:
        for klass in cls.__mro__:
            for b in klass.__dict__.get("BINDINGS", []):
                if hasattr(b, "id") and klass.__module__.startswith("toolbox_tui"):
                    assert b.id, f"{klass.__name__}: binding {b.key} has no id"


async def test_project_step_changes_mode_and_name_and_reports_load_errors(example_copy, project_name):
    app = make_app(example_copy, project_name, persist=False)
    async with app.run_test(size=SIZE) as pilot:
        await to_step(pilot, "project")
        await pilot.press("m")
        await wait_for(pilot, lambda: app.stack.mode == "prod", what="prod mode")
        assert "docker-compose.prod.yml" in screen_text(app)
        await pilot.press("p")
        await pilot.pause(0.1)
        app.screen.query_one("Input").value = "tbxtest-renamed"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.stack.name == "tbxtest-renamed", what="renamed")
        await pilot.press("f")
        await pilot.pause(0.1)
        app.screen.query_one("Input").value = "no/such/compose.yml"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "failed" in status(app), what="load error")
        assert "does not exist" in status(app) and app.stack.name == "tbxtest-renamed"
        assert app.is_running  # an unloadable choice is a message, not a crash
