"""End to end in a real terminal: the installed `toolbox-tui` in tmux, from a fresh copy of the
example to a healthy stack, driven with send-keys and checked with capture-pane.

The keyring is forced to "none" (`PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring`) so the
run is the same with or without a Secret Service: the wizard must offer the explicit
session-only choice. The stack is torn down (and its secret files removed) in a finalizer.
"""

from __future__ import annotations

import pytest

from tests.helpers.tmux import Tmux, installed_command
from toolbox_tui.compose.project import ProjectOptions, load_stack


@pytest.mark.engine
def test_wizard_in_tmux_from_fresh_clone_to_healthy(example_copy, example_ports, project_name, test_image,
                                                    docker_client, compose_ready, cleanup_project):
    opts = ProjectOptions(project_name=project_name, cwd=str(example_copy))
    tmux = Tmux("tbxwiz")
    env = {"TBX_IMAGE": test_image, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
           "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    # stale COLUMNS/LINES exported (shell profile, CI): Textual would take them over the pane's
    # 120x40; the wizard drops them when the terminal can tell its size
    command = ("env COLUMNS=200 LINES=60 " + " ".join(f"{k}={v}" for k, v in env.items())
               + f" {installed_command()} -p {project_name}; echo WIZARD-EXIT=$?; sleep 600")
    try:
        tmux.start(command, cwd=example_copy, width=120, height=40)
        tmux.wait("Detected project", 20)
        screen = tmux.wait("Services (13)")
        assert project_name in screen and "docker-compose.dev.yml" in screen
        rows = screen.split("\n")
        assert rows[39].strip() and max(map(len, rows)) <= 120, screen  # drawn at the pane's size
        tmux.keys("n")
        tmux.wait("checks passed. Press n", 60)
        tmux.keys("n")
        screen = tmux.wait("fix ready", 60)
        assert "redis: ./config/redis.conf" in screen
        tmux.keys("a")
        tmux.wait("Apply 4 change(s)?", 10)
        tmux.keys("y")
        tmux.wait("Applied 4 change(s)", 60)
        assert (example_copy / "infrastructure/docker/compose/config/redis.conf").is_file()
        tmux.keys("n")
        tmux.wait("No secure keyring", 30)
        tmux.keys("s")
        tmux.wait("required secret(s) have no value", 30)
        tmux.keys("C-t")
        tmux.wait("Every required secret has a value", 30)
        tmux.keys("C-n")
        tmux.wait("Ready. Press s to start", 60)
        tmux.keys("s")
        tmux.wait("Starting the stack", 20)
        cleanup_project(project_name, files=[*load_stack(opts).files], project_dir=None)
        screen = tmux.wait("is up and healthy", 240)
        assert f"http://127.0.0.1:{example_ports['DASHBOARD_PORT']}/" in screen and "toolbox-tui dashboard" in screen
        states = [c.attrs["State"].get("Health", {}).get("Status") for c in docker_client.containers.list(
            filters={"label": f"com.docker.compose.project={project_name}"})]
        assert len(states) == 13 and set(states) == {"healthy"}
        tmux.keys("q")
        tmux.wait("WIZARD-EXIT=0", 30)
    finally:
        tmux.kill()
        stack = load_stack(opts)
        cleanup_project(project_name, files=list(stack.files), project_dir=stack.project_dir)
        from toolbox_tui.secrets.materialize import remove_materialized

        remove_materialized(stack)
        assert not stack.secrets_override_path.exists()


@pytest.mark.engine
def test_wizard_setup_step_in_tmux_skip_then_run_after_yes(tmp_path, project_name, test_image,
                                                           docker_client, compose_ready):
    """A repository whose README says `./install.sh` before `docker compose up`: the wizard shows
    a Set-up step with the command, where the docs name it and that it is the repository's code;
    n skips it without running anything; Esc comes back; x asks, y runs it, its output streams
    into the log and the exit code is shown."""
    import subprocess

    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "README.md").write_text("# Demo\n\n```bash\n./install.sh\ndocker compose up -d\n```\n")
    (root / "install.sh").write_text('#!/bin/sh\necho "install: writing .env"\n'
                                     'echo "GREETING=hello" > .env\necho "install: done"\n')
    (root / "install.sh").chmod(0o755)
    (root / "compose.yaml").write_text(f"services:\n  web:\n    image: {test_image}\n"
                                       "    command: [sleep, '600']\n")
    tmux = Tmux("tbxsetup")
    env = "PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring TERM=xterm-256color"
    try:
        tmux.start(f"env {env} {installed_command()} -p {project_name}; echo WIZARD-EXIT=$?; sleep 600",
                   cwd=root, width=120, height=40)
        tmux.wait("Detected project", 20)
        screen = tmux.capture()
        assert "3 Set-up›4 Paths" in screen  # the step bar carries the step for this project
        tmux.keys("n")
        tmux.wait("checks passed. Press n", 60)
        tmux.keys("n")
        screen = tmux.wait("repository's own code", 30)
        assert "./install.sh" in screen and "README.md:4" in screen and "not run yet" in screen
        tmux.keys("n")  # skip: nothing runs
        tmux.wait("›4 Paths", 30, until="WIZARD-EXIT")
        for _ in range(50):
            if "repository's own code" not in tmux.capture():
                break
            import time
            time.sleep(0.1)
        assert "repository's own code" not in tmux.capture()
        assert not (root / ".env").exists()
        tmux.keys("Escape")
        tmux.wait("repository's own code", 30)
        tmux.keys("x")
        tmux.wait("Run `./install.sh`?", 10)
        tmux.keys("y")
        tmux.wait("exited with 0", 60)
        # the status line and the log can reach the pane in two writes (or two frames) of one
        # update, so the output is waited for too, briefly
        screen = tmux.wait("install: done", 5)
        assert "install: writing .env" in screen
        assert (root / ".env").read_text() == "GREETING=hello\n"
        tmux.keys("q")
        tmux.wait("WIZARD-EXIT=", 30)
    finally:
        tmux.kill()
