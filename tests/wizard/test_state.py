"""wizard.json (resumable progress, names only) and the wizard's engine adapter, without Textual."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from toolbox_tui.compose.project import ProjectOptions, load_stack
from toolbox_tui.wizard.state import STEPS, WizardState, forget_state, load_state, save_state


@pytest.fixture
def stack(example_copy):
    return load_stack(ProjectOptions(cwd=str(example_copy)))


def test_state_round_trip_and_resume_point(stack):
    fresh = load_state(stack)
    assert fresh.done == [] and fresh.start_step() == "project"
    state = WizardState(project=stack.name, mode=stack.mode)
    for step in ("paths", "project", "prereq"):
        state.mark(step)
    assert state.done == ["project", "prereq", "paths"]  # kept in step order
    path = save_state(stack, state)
    assert path == stack.state_dir / "wizard.json"
    doc = json.loads(path.read_text())
    assert set(doc) == {"version", "project", "mode", "done", "updated"}
    again = load_state(stack)
    assert again.done == ["project", "prereq", "paths"] and again.start_step() == "secrets"
    for step in STEPS:
        again.mark(step)
    assert again.resume_step() == "done"
    assert again.start_step() == "review", "a resumed wizard never starts the stack by itself"
    again.mark("paths", False)
    assert again.start_step() == "paths"
    with pytest.raises(ValueError):
        again.mark("typo")
    forget_state(stack)
    assert load_state(stack).done == []


@pytest.mark.parametrize("content", ["{not json", "[]", '{"version": 99, "done": ["project"]}',
                                     '{"version": 1, "project": "other", "mode": "dev", "done": ["project"]}',
                                     '{"version": 1, "project": "toolboxai", "mode": "prod", "done": ["project"]}',
                                     '{"version": 1, "project": "toolboxai", "mode": "dev", "done": "project"}'])
def test_unusable_or_foreign_memory_is_ignored(stack, content):
    path = stack.state_dir / "wizard.json"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(content)
    assert load_state(stack).done == []


def test_unknown_steps_in_memory_are_dropped(stack):
    path = stack.state_dir / "wizard.json"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps({"version": 1, "project": stack.name, "mode": stack.mode,
                                "done": ["secrets", "bogus", "project"]}))
    assert load_state(stack).done == ["project", "secrets"]


def test_unwritable_state_dir_does_not_stop_the_wizard(stack, tmp_path):
    sd = stack.state_dir
    sd.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    sd.write_text("a file where the state dir should be")
    assert save_state(stack, WizardState(project=stack.name)) is None


def test_engine_side_wizard_modules_do_not_import_textual():
    code = ("import sys, toolbox_tui.wizard.state, toolbox_tui.wizard.backend; "
            "assert 'textual' not in sys.modules, 'textual imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_access_urls_and_next_commands(stack):
    from toolbox_tui.wizard.backend import WizardBackend

    urls = WizardBackend().access_urls(stack)
    assert [u.url for u in urls[:2]] == ["http://127.0.0.1:5180/", "http://127.0.0.1:8009/docs"]
    assert all(u.url.startswith("http://127.0.0.1:") for u in urls)
    assert len({u.url.split(":")[2] for u in urls}) == len(urls), "each port once"
    cmds = WizardBackend().next_commands(stack, ProjectOptions(project_name="x y", mode="prod"))
    assert cmds[0][0] == "toolbox-tui doctor -p toolboxai --mode prod"


def test_startup_tells_engine_gone_from_a_failed_service(stack, tmp_path, docker_client):
    """The wizard's startup reports "the engine went away" (like `toolbox-tui up`, exit 3 there)
    instead of a diagnosis that would itself fail: a client on a socket nobody listens on is a real
    absent engine; the live engine is a present one."""
    import docker

    from toolbox_tui.wizard.backend import StartupOutcome, WizardBackend

    live = WizardBackend()
    live._client = docker_client
    assert live._engine_gone() is None

    dead = WizardBackend()
    dead._client = docker.DockerClient(base_url=f"unix://{tmp_path}/no-dockerd.sock", version="1.41",
                                         timeout=5)
    why = dead._engine_gone()
    assert why and "no-dockerd.sock" in why or "does not answer" in why, why
    from toolbox_tui.lifecycle.up import _engine_lost_while_diagnosing

    assert _engine_lost_while_diagnosing(live._client) is None
    lost = _engine_lost_while_diagnosing(dead._client)
    assert lost is not None and lost.phase == "diagnosing", lost
    out = dead._engine_lost(lost.phase, lost.reason)
    assert isinstance(out, StartupOutcome) and not out.ok and not out.cancelled
    assert "Docker engine went away while diagnosing" in out.summary
    assert "press r to retry" in out.summary
