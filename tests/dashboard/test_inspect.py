"""The inspect view of a service (`i`, and `toolbox-tui inspect SVC`): everything from the engine's
record, cleaned; secret-like values masked until revealed; a stack secret's value never shown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("textual")

from toolbox_tui.compose.project import ProjectOptions, load_stack  # noqa: E402
from toolbox_tui.live.inspect import MASK, classify_env, from_attrs, secret_vars_of  # noqa: E402
from toolbox_tui.live.stack import LiveStack  # noqa: E402
from toolbox_tui.screens.dashboard.app import DashboardApp  # noqa: E402
from toolbox_tui.screens.dashboard.inspect_view import InspectScreen  # noqa: E402

from tests.helpers.ops_stack import REVEAL_CANARY, SECRET_CANARY, make_ops_stack  # noqa: E402
from tests.helpers.dashboard import cell  # noqa: E402
from tests.helpers.waiting import pilot_until  # noqa: E402

EXE = str(Path(sys.executable).with_name("toolbox-tui"))


@pytest.fixture
def ops(docker_client, test_image, project_name, cleanup_project, tmp_path):
    return project_name, make_ops_stack(tmp_path, test_image, project_name, cleanup_project)


def test_env_kinds_and_hostile_strings() -> None:
    env = classify_env(["PLAIN=1", "API_TOKEN=abc", "TOKEN_TTL=30", "DB_PASSWORD=pw",
                        "JWT_SECRET_FILE=/run/secrets/jwt", "BAD=\x1b]0;pwn\x07ok"],
                       {"db_password": "db_password"})
    kinds = {v.name: (v.kind, v.shown(), v.shown(reveal=True)) for v in env}
    assert kinds["PLAIN"] == ("plain", "1", "1")
    assert kinds["API_TOKEN"] == ("masked", MASK, "abc")
    assert kinds["TOKEN_TTL"][0] == "plain" and kinds["JWT_SECRET_FILE"][0] == "plain"
    assert kinds["DB_PASSWORD"][0] == "secret" and "pw" not in kinds["DB_PASSWORD"][2]
    assert [v.value for v in env if v.name == "DB_PASSWORD"] == [""]  # not even held
    assert kinds["BAD"][1] == "ok"
    info = from_attrs("s\x1b[2Jx", {"Config": {"Labels": {"k\x9b31m": "v\x1bP+q\x1b\\"},
                                               "Cmd": ["sh", "-c", "\x07echo"]}})
    text = json.dumps(info.to_json(reveal=True))
    assert "\\u001b" not in text and "\\u009b" not in text and "\\u0007" not in text
    assert info.service == "sx" and info.command == ("sh", "-c", "echo")


@pytest.mark.engine
def test_inspect_command_json_and_text(ops, tmp_path) -> None:
    name, args = ops
    base = [EXE, "inspect", "app", *args]
    proc = subprocess.run([*base, "--json"], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert SECRET_CANARY not in proc.stdout and REVEAL_CANARY not in proc.stdout
    s = json.loads(proc.stdout)["service"]
    assert s["image"].startswith("toolbox-tui/busybox") and s["image_id"].startswith("sha256:")
    assert s["repo_digests"] == []  # imported locally
    assert s["command"][:2] == ["sh", "-c"] and "httpd -p 8080" in s["command"][2]
    env = {v["name"]: v for v in s["env"]}
    assert env["DB_PASSWORD"] == {"name": "DB_PASSWORD", "kind": "secret", "source": "DB_PASSWORD",
                                  "value": None}
    assert env["SESSION_SECRET"]["kind"] == "masked" and env["SESSION_SECRET"]["value"] is None
    assert env["PLAIN_SETTING"]["value"] == "hello-plain"
    assert any(m.startswith("bind ") and m.endswith("-> /data (ro)") for m in s["mounts"])
    assert any(p.startswith("127.0.0.1:") and p.endswith("->8080/tcp") for p in s["ports"])
    assert any(n.startswith(f"{name}_default ") for n in s["networks"])
    assert s["restart_policy"] == "unless-stopped"
    assert s["healthcheck"]["test"].startswith("CMD wget -q -O- http://127.0.0.1:8080/")
    assert s["healthcheck"]["interval"] == "1s" and s["healthcheck"]["retries"] == "3"
    # (the engine sets memory+swap to twice the memory limit when none is given)
    assert s["limits"] == {"memory": "64 MiB", "memory+swap": "128 MiB", "cpus": "0.5"}
    assert s["labels"]["com.example.team"] == "ops"
    assert s["labels"]["com.example.evil"] == "xy"  # the OSC title sequence is gone, whole
    assert "pwn" not in proc.stdout

    revealed = subprocess.run([*base, "--json", "--reveal"], capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert revealed.returncode == 0, revealed.stderr
    env = {v["name"]: v for v in json.loads(revealed.stdout)["service"]["env"]}
    assert env["SESSION_SECRET"]["value"] == REVEAL_CANARY
    assert env["DB_PASSWORD"]["value"] is None and SECRET_CANARY not in revealed.stdout

    human = subprocess.run([*base, "--reveal"], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert human.returncode == 0, human.stderr
    assert "(from secret DB_PASSWORD: not shown)" in human.stdout
    assert REVEAL_CANARY in human.stdout and SECRET_CANARY not in human.stdout + human.stderr
    assert "Health check" in human.stdout and "unless-stopped" in human.stdout

    missing = subprocess.run([EXE, "inspect", "nope", *args], capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert missing.returncode == 2 and "has no service nope" in missing.stderr
    assert "services: app, done" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.engine
async def test_i_opens_the_view_r_reveals_escape_returns(ops, tmp_path) -> None:
    name, args = ops
    stack = load_stack(ProjectOptions(project_dir=str(tmp_path), files=(str(tmp_path / "compose.yaml"),),
                                      project_name=name, cwd=str(tmp_path)))
    source = LiveStack(name, compose_args=args, services=("app", "done"),
                       secret_vars=secret_vars_of(stack))
    app = DashboardApp(name, source, services=("app", "done"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard
        assert await pilot_until(pilot, lambda: cell(screen, "app", "state") == "running", 30)
        await pilot.press("i")
        assert await pilot_until(pilot, lambda: isinstance(app.screen, InspectScreen), 30)
        view = app.screen
        text = view.text()
        assert "SESSION_SECRET" in text and MASK in text and REVEAL_CANARY not in text
        assert "(from secret DB_PASSWORD: not shown)" in text and "hello-plain" in text
        assert "unless-stopped" in text and "64 MiB" in text
        await pilot.press("r")
        assert REVEAL_CANARY in view.text()
        svg = app.export_screenshot()
        assert REVEAL_CANARY in svg and SECRET_CANARY not in svg and "pwn" not in svg
        await pilot.press("r")
        assert REVEAL_CANARY not in view.text()
        await pilot.press("escape")
        assert await pilot_until(pilot, lambda: app.screen is screen, 10)
        # a service without a container: a message, no view
        screen.table.move_cursor(row=screen.table.get_row_index("done"))
        await pilot.pause()
        assert await pilot_until(pilot, lambda: cell(screen, "done", "state") == "exited", 30)
        await pilot.press("i")
        assert await pilot_until(pilot, lambda: isinstance(app.screen, InspectScreen), 30)
        assert "exited" in app.screen.text()
        await pilot.press("escape")
