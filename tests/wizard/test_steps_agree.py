"""The wizard's steps agree with each other and with the doctor (issue 15), with Pilot on the
real engine: the Prerequisites step's "Later steps" count is what Paths lists, the Startup table
shows a state for every service Compose reports and whole service names.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.secrets_given import given_project
from tests.helpers.wizard import SIZE, make_app, screen_text, status, wait_for

pytest.importorskip("textual")

from textual.widgets import DataTable  # noqa: E402

from toolbox_tui.findings import FAIL  # noqa: E402

LONG = "notification-dispatcher-worker"
"""A service name over 18 characters (the width the Startup table used to cut at)."""


async def test_prereq_later_count_is_what_paths_lists(example_copy, project_name, docker_client,
                                                       compose_ready):
    app = make_app(example_copy, project_name, persist=False, start_step="prereq")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen.checks, what="prerequisite checks")
        later = str(app.screen.query_one("#prereq-later").render())
        said = re.search(r"(\d+) to fix on Paths", later)
        assert said, later
        await pilot.press("n")
        await wait_for(pilot, lambda: getattr(app.screen, "STEP", "") == "paths"
                       and app.screen.plan is not None, what="paths plan")
        failing = [f for f in app.screen.plan.findings if f.status == FAIL]
        assert int(said.group(1)) == len(failing) == 4, (later, [f.finding_id for f in failing])
        rows = app.screen.query_one("#paths-table", DataTable).row_count
        assert rows >= len(failing)


def _long_name_stack(root: Path, image: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "compose.yaml").write_text(
        "services:\n"
        f"  {LONG}:\n"
        f"    image: {image}\n"
        "    command: [\"sh\", \"-c\", \"touch /tmp/ok; sleep 3600\"]\n"
        "    healthcheck:\n"
        "      test: [\"CMD\", \"cat\", \"/tmp/ok\"]\n"
        "      interval: 1s\n"
        "      retries: 30\n"
        "  db:\n"
        f"    image: {image}\n"
        "    command: [\"sleep\", \"3600\"]\n")
    import subprocess

    subprocess.run(["git", "init", "-q", str(root)], check=True)


async def test_startup_rows_show_state_and_whole_names(tmp_path, project_name, test_image,
                                                       docker_client, compose_ready, cleanup_project):
    root = tmp_path / "long"
    _long_name_stack(root, test_image)
    cleanup_project(project_name, files=[root / "compose.yaml"], project_dir=root)
    app = make_app(root, project_name, persist=False, start_step="startup")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.startup_state not in ("idle", "running"), timeout=120,
                           what="startup")
            assert app.startup_state == "ok", status(app)
            await pilot.pause()
            table = app.get_screen("startup").query_one("#startup-table", DataTable)
            for svc in (LONG, "db"):
                compose = str(table.get_cell(svc, "compose"))
                state = str(table.get_cell(svc, "state"))
                assert compose and state, (svc, compose, state)
            assert "healthy" in str(table.get_cell(LONG, "state"))
            assert LONG in str(table.get_cell(LONG, "service"))
            assert table.columns["service"].width >= len(LONG)
    finally:
        app.backend.close()


async def test_startup_failure_keeps_the_state_compose_reported(tmp_path, project_name, test_image,
                                                                docker_client, compose_ready,
                                                                cleanup_project):
    """`up` fails after one service is Healthy (the next cannot start): the health wait never
    runs, and the State column still says what Compose saw instead of staying empty."""
    root = tmp_path / "half"
    _long_name_stack(root, test_image)
    text = (root / "compose.yaml").read_text().replace(
        '    command: ["sleep", "3600"]\n',
        '    command: ["/no/such/binary"]\n'
        f"    depends_on:\n      {LONG}:\n        condition: service_healthy\n")
    (root / "compose.yaml").write_text(text)
    cleanup_project(project_name, files=[root / "compose.yaml"], project_dir=root)
    app = make_app(root, project_name, persist=False, start_step="startup")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.startup_state not in ("idle", "running"), timeout=120,
                           what="startup")
            assert app.startup_state == "failed", status(app)
            await pilot.pause()
            table = app.screen.query_one("#startup-table", DataTable)
            compose = str(table.get_cell(LONG, "compose"))
            state = str(table.get_cell(LONG, "state"))
            assert compose == "Healthy" and "healthy" in state, (compose, state)
            assert str(table.get_cell("db", "state")), screen_text(app)
    finally:
        app.backend.close()


async def test_pull_failure_names_image_cause_and_what_to_do(tmp_path, project_name, docker_client,
                                                             compose_ready, cleanup_project):
    """A registry on 127.0.0.1 that refuses (nothing listens on port 9): the diagnosis names the
    image, the cause and what to do, not the daemon's message cut short."""
    root = tmp_path / "pull"
    root.mkdir()
    image = "127.0.0.1:9/tbxtest/nope:1"
    (root / "compose.yaml").write_text(f"services:\n  web:\n    image: {image}\n")
    cleanup_project(project_name, files=[root / "compose.yaml"], project_dir=root)
    app = make_app(root, project_name, persist=False, start_step="startup")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.startup_state not in ("idle", "running"), timeout=120,
                           what="startup")
            assert app.startup_state == "failed", status(app)
            diag = str(app.screen.query_one("#diagnosis-text").render())
            assert f"image {image} could not be pulled" in diag, diag
            assert "refuses connections" in diag and "load the image locally" in diag, diag
    finally:
        app.backend.close()


async def test_secrets_step_does_not_ask_for_values_the_project_gives(tmp_path, project_name,
                                                                      no_keyring):
    root = given_project(tmp_path / "given")
    app = make_app(root, project_name, persist=False, start_step="secrets")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.entries, what="secrets")
        await pilot.press("s")  # the session store (no keyring here)
        await wait_for(pilot, lambda: app.screen.status, what="statuses")
        await pilot.pause()
        rows = {r.entry.name: r for r in app.screen.query("SecretRow")}
        for name in ("AWS_ACCESS_KEY", "RPC_SHARED_SECRET", "API_TOKEN"):
            assert not rows[name].query_one(".secret-input-row").display, name
        assert rows["SESSION_SECRET"].query_one(".secret-input-row").display
        text = screen_text(app)
        assert "the compose file sets this variable: nothing to type" in text
        assert "sets this to a placeholder" in text
