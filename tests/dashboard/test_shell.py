"""A shell in a service's container (`e`): the image's shell is found (busybox has no bash, so sh),
a stopped or absent container is a clear message, and in a real terminal the dashboard hands the
terminal to `docker exec -it` and comes back to the same screen when the shell exits."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("textual")

from toolbox_tui.engine.containers import ServiceState  # noqa: E402
from toolbox_tui.live.shell import ShellError, plan_shell  # noqa: E402
from toolbox_tui.live.stack import LiveStack  # noqa: E402
from toolbox_tui.screens.dashboard.app import DashboardApp  # noqa: E402

from tests.helpers.ops_stack import make_ops_stack  # noqa: E402
from tests.helpers.dashboard import cell  # noqa: E402
from tests.helpers.tmux import Tmux  # noqa: E402
from tests.helpers.waiting import pilot_until, wait_until  # noqa: E402


@pytest.fixture
def ops(docker_client, test_image, project_name, cleanup_project, tmp_path):
    return project_name, make_ops_stack(tmp_path, test_image, project_name, cleanup_project)


def _state(docker_client, project: str, service: str) -> ServiceState:
    from toolbox_tui.live.events import StackWatcher

    w = StackWatcher(docker_client, project, on_state=lambda s: None, services=(service,))
    w.snapshot()
    assert w.wait_details(20)
    w.stop()
    return w.states[service]


@pytest.mark.engine
def test_busybox_gets_sh_and_a_stopped_container_is_a_message(ops, docker_client) -> None:
    name, _args = ops
    app = _state(docker_client, name, "app")
    assert wait_until(lambda: _state(docker_client, name, "done").state == "exited", 30)
    plan = plan_shell("app", app)
    assert plan.shell == "sh"  # bash was tried first: busybox has none
    assert plan.argv[1:] == ("exec", "-it", app.container_id, "sh")
    assert os.path.basename(plan.argv[0]) == "docker"
    with pytest.raises(ShellError) as err:
        plan_shell("done", _state(docker_client, name, "done"))
    assert "the container of service done is exited" in err.value.message
    assert "start it first" in err.value.hint
    with pytest.raises(ShellError) as err:
        plan_shell("ghost", None)
    assert "service ghost has no container" in err.value.message
    # an explicit command is taken as given
    assert plan_shell("app", app, command=["ls", "/"]).argv[-2:] == ("ls", "/")


@pytest.mark.engine
async def test_e_on_a_stopped_service_says_so(ops) -> None:
    name, args = ops
    app = DashboardApp(name, LiveStack(name, compose_args=args, services=("app", "done")),
                       services=("app", "done"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard
        assert await pilot_until(pilot, lambda: cell(screen, "done", "state") == "exited", 30)
        table = screen.table
        table.move_cursor(row=table.get_row_index("done"))
        await pilot.pause()
        await pilot.press("e")
        assert await pilot_until(pilot, lambda: any("is exited" in n.message
                                                    for n in app._notifications), 30)
        # headless Pilot cannot suspend: a running one says so instead of crashing
        table.move_cursor(row=table.get_row_index("app"))
        assert await pilot_until(pilot, lambda: cell(screen, "app", "state") == "running", 30)
        await pilot.press("e")
        assert await pilot_until(pilot, lambda: any("cannot hand over to a shell" in n.message
                                                    for n in app._notifications), 30)
        assert app.is_running and app.screen is screen


@pytest.mark.engine
def test_shell_in_and_out_in_tmux(ops, tmp_path) -> None:
    """The installed command: e opens sh in the container, a command runs there, `exit` brings
    the same dashboard back (and it still works: q quits)."""
    name, args = ops
    exe = shutil.which("toolbox-tui") or str(Path(sys.executable).with_name("toolbox-tui"))
    tmux = Tmux("tbxshell")
    tmux.start(f"env TERM=xterm-256color {exe} dashboard {' '.join(args)}; "
               "echo DASH-EXIT=$?; sleep 30", width=120, height=40, cwd=tmp_path)
    try:
        assert wait_until(lambda: "app" in tmux.capture() and "running" in tmux.capture(), 40), \
            tmux.capture()
        tmux.wait("Shell", 10)  # the footer names the key
        tmux.keys("e")
        tmux.wait("built-in shell (ash)", 40)  # busybox sh's banner, on the real terminal
        tmux.wait("/ #", 10)  # and its root prompt
        assert "Restart" not in tmux.capture()  # the dashboard is suspended, not drawn over
        tmux.keys("echo hi-$((6*7))", literal=True)
        tmux.keys("Enter")
        tmux.wait("hi-42", 20)
        tmux.keys("exit", literal=True)
        tmux.keys("Enter")
        screen = tmux.wait("shell in app ended", 30)
        assert "Restart" in screen and "running" in screen
        assert "hi-42" not in screen  # the app's own screen again, not the shell's

        # the container dies under the shell: the dashboard comes back all the same
        tmux.keys("e")
        tmux.wait("built-in shell (ash)", 40)
        tmux.wait("/ #", 10)
        cid = subprocess.run(["docker", "compose", *args, "ps", "-q", "app"], capture_output=True,
                             text=True, timeout=60).stdout.strip()
        subprocess.run(["docker", "kill", cid], capture_output=True, timeout=60, check=True)
        screen = tmux.wait("killed (exit", 30)
        assert "Restart" in screen and "shell in app ended" in screen
        tmux.keys("q")
        tmux.wait("DASH-EXIT=0", 20)
    finally:
        tmux.kill()


def test_shell_command_needs_a_terminal(tmp_path) -> None:
    exe = str(Path(sys.executable).with_name("toolbox-tui"))
    proc = subprocess.run([exe, "shell", "app", "-p", "tbxtest-none"], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "toolbox-tui shell needs a terminal" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.engine
def test_shell_command_in_tmux(ops, tmp_path) -> None:
    """`toolbox-tui shell SVC` (sh found for busybox) and `--cmd COMMAND`, on a real terminal."""
    name, args = ops
    exe = shutil.which("toolbox-tui") or str(Path(sys.executable).with_name("toolbox-tui"))
    tmux = Tmux("tbxshcli")
    tmux.start(f"env TERM=xterm-256color {exe} shell app {' '.join(args)}; echo SH-EXIT=$?; "
               f"{exe} shell app {' '.join(args)} --cmd 'echo cmd-no-shell $((5*5))'; echo CMD-EXIT=$?; "
               f"{exe} shell done {' '.join(args)}; echo DONE-EXIT=$?; sleep 30", cwd=tmp_path)
    try:
        tmux.wait("built-in shell (ash)", 40)
        tmux.wait("/ #", 10)
        tmux.keys("echo cli-$((6*7)); exit 4", literal=True)
        tmux.keys("Enter")
        screen = tmux.wait("DONE-EXIT=", 40)
        assert "cli-42" in screen and "SH-EXIT=4" in screen
        # split like a shell, run without one: nothing expands
        assert "cmd-no-shell $((5*5))" in screen and "CMD-EXIT=0" in screen
        assert "the container of service done is exited" in screen and "DONE-EXIT=1" in screen
    finally:
        tmux.kill()
