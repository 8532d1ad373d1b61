"""`toolbox-tui fix` end to end: plan, --apply, --json, --undo, exit codes, the installed command."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.fixes import BASE, COMPOSE, snapshot
from toolbox_tui.cli.main import main
from toolbox_tui.compose.project import ProjectOptions, load_stack


@pytest.fixture
def in_example(example_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(example_copy / COMPOSE)
    monkeypatch.setenv("TBX_IMAGE", "toolbox-tui/busybox:test")
    for var in ("COMPOSE_FILE", "COMPOSE_ENV_FILES", "COMPOSE_PROFILES", "COMPOSE_PROJECT_NAME"):
        monkeypatch.delenv(var, raising=False)
    return example_copy


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["fix", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_changes_nothing(in_example: Path, capsys) -> None:
    before = snapshot(in_example)
    code, out, err = _run(capsys, )
    assert code == 0, err
    assert "Fix plan (4 changes):" in out
    assert "copy infrastructure/docker/redis.conf -> infrastructure/docker/compose/config/redis.conf" in out
    assert "create infrastructure/docker/compose/.env from template .env.docker.example" in out
    assert "Nothing was changed" in out
    assert snapshot(in_example) == before
    assert not (in_example / ".toolbox-tui").exists()


def test_plan_shows_the_diff_of_a_rewrite(in_example: Path, capsys) -> None:
    code, out, _ = _run(capsys, "--choose", "paths.bind.redis.1=rewrite")
    assert code == 0
    assert "-      - ./config/redis.conf:/usr/local/etc/redis/redis.conf:ro" in out
    assert "+      - ../redis.conf:/usr/local/etc/redis/redis.conf:ro" in out


def test_apply_json_then_idempotent_then_undo(in_example: Path, capsys) -> None:
    before = snapshot(in_example)
    code, out, err = _run(capsys, "--apply", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["version"] == 1 and len(doc["plan"]) == 4
    assert {a["kind"] for a in doc["plan"]} == {"copy", "template"}
    result = doc["result"]
    assert result["status"] == "applied" and result["remaining"] == []
    assert Path(result["run_dir"]).parent == load_stack(ProjectOptions(cwd=str(in_example))).state_dir / "runs"
    assert not (in_example / ".toolbox-tui").exists()
    if shutil.which("docker") and result["compose_config"] is not None:
        assert result["compose_config"]["ok"], result["compose_config"]

    code, out, _ = _run(capsys, "--apply", "--json")
    assert code == 0 and json.loads(out)["result"]["status"] == "nothing_to_do"
    assert json.loads(out)["plan"] == []

    code, out, _ = _run(capsys, "--undo")
    assert code == 0 and "Undid the fix run" in out and "removed  infrastructure/docker/compose/.env" in out
    assert snapshot(in_example) == before
    code, _, err = _run(capsys, "--undo")
    assert code == 1 and "no applied fix run to undo" in err


def test_apply_text_reports_checks_and_compose_config(in_example: Path, capsys) -> None:
    code, out, err = _run(capsys, "--apply", "--choose", "paths.bind.redis.1=symlink")
    assert code == 0, err
    assert "Applied 4 changes" in out and "Path checks: all clear." in out
    assert ("docker compose config: ok." in out
            or "docker compose config: not run" in out)


def test_findings_without_a_fix_exit_1(in_example: Path, capsys) -> None:
    (in_example / "infrastructure/docker/redis.conf").unlink()
    code, out, _ = _run(capsys)
    assert code == 1
    assert "Left as they are:" in out and "paths.bind.redis.1" in out
    assert "no candidate found" in out
    code, out, _ = _run(capsys, "--apply", "--yes")
    assert code == 1
    assert "Still failing (1):" in out and "paths.bind.redis.1" in out


@pytest.mark.parametrize("choice,message", [
    ("garbage", "expected FINDING_ID=OPTION"),
    ("paths.bind.redis.1=frob", "unknown option"),
    ("paths.bind.nope.0=copy", "no such finding"),
    ("paths.bind.redis.1=copy:5", "candidate"),
    ("env.file.missing=mkdir", "not an option"),
])
def test_bad_choose_exits_2(in_example: Path, capsys, choice: str, message: str) -> None:
    before = snapshot(in_example)
    code, _, err = _run(capsys, "--apply", "--choose", choice)
    assert code == 2 and message in err
    assert "Traceback" not in err
    assert snapshot(in_example) == before


def test_undo_with_apply_is_a_usage_error(in_example: Path, capsys) -> None:
    code, _, err = _run(capsys, "--undo", "--apply")
    assert code == 2 and "--undo cannot be combined" in err


def test_unloadable_project_exits_3(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "compose.yml").write_text("services: [\n")
    code, _, err = _run(capsys)
    assert code == 3 and "compose.yml" in err and "Traceback" not in err


def test_apply_failure_is_rolled_back_exit_1(in_example: Path, capsys) -> None:
    os.chmod(in_example / BASE, 0o444)
    before = snapshot(in_example)
    code, _, err = _run(capsys, "--apply", "--choose", "paths.bind.redis.1=rewrite")
    assert code == 1 and "read-only" in err and "chmod u+w" in err
    assert snapshot(in_example) == before


def test_tty_asks_before_applying(in_example: Path, capsys, monkeypatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    before = snapshot(in_example)
    monkeypatch.setattr(sys, "stdin", Tty("n\n"))
    code, out, _ = _run(capsys, "--apply")
    assert code == 1 and "Apply 4 changes? [y/N]" in out and "nothing was changed" in out
    assert snapshot(in_example) == before
    monkeypatch.setattr(sys, "stdin", Tty("y\n"))
    code, out, _ = _run(capsys, "--apply")
    assert code == 0 and "Applied 4 changes" in out


def _installed_command() -> str:
    exe = Path(sys.executable).with_name("toolbox-tui")
    if exe.exists():
        return str(exe)
    found = shutil.which("toolbox-tui")
    if not found:
        pytest.fail("the toolbox-tui command is not installed (pip install -e .)")
    return found


@pytest.mark.engine
def test_installed_command_end_to_end(example_copy: Path, compose_ready: str) -> None:
    cmd = _installed_command()
    cwd = example_copy / COMPOSE
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["TBX_IMAGE"] = "toolbox-tui/busybox:test"
    before = snapshot(example_copy)
    proc = subprocess.run([cmd, "fix", "--apply"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Applied 4 changes" in proc.stdout
    assert "Path checks: all clear." in proc.stdout
    assert "docker compose config: ok." in proc.stdout
    assert "Traceback" not in proc.stderr
    # The real Compose agrees with the fixed layout.
    config = subprocess.run(["docker", "compose", "-f", "docker-compose.yml", "-f",
                             "docker-compose.dev.yml", "config", "--format", "json"], cwd=cwd,
                            env=env, capture_output=True, text=True, timeout=60)
    assert config.returncode == 0, config.stderr
    cfg = json.loads(config.stdout)
    sources = {v["source"] for v in cfg["services"]["redis"]["volumes"] if v["type"] == "bind"}
    assert sources == {str(cwd / "config" / "redis.conf")}
    again = subprocess.run([cmd, "fix", "--apply"], cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert again.returncode == 0 and "nothing to fix" in again.stdout
    undo = subprocess.run([cmd, "fix", "--undo"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert undo.returncode == 0, undo.stderr
    assert snapshot(example_copy) == before


def test_fix_engine_does_not_import_textual() -> None:
    code = ("import sys, toolbox_tui.fixes.yaml_edit, toolbox_tui.fixes.plan, toolbox_tui.fixes.apply, "
            "toolbox_tui.fixes.options, toolbox_tui.atomic_files, toolbox_tui.cli.fix; assert 'textual' not in sys.modules, 'textual imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_real_terminal_prompt_in_tmux(example_copy: Path, tmp_path: Path) -> None:
    """The installed command on a real TTY asks before applying, and 'y' applies."""
    import time

    from tests.helpers.tmux import Tmux

    cmd = _installed_command()
    tmux = Tmux("tbxfix")
    log = tmp_path / "rc"
    shell = (f"cd '{example_copy / COMPOSE}' && TBX_IMAGE=toolbox-tui/busybox:test '{cmd}' fix --apply; "
             f"echo $? > '{log}'; sleep 30")
    tmux.start(shell, width=160, height=50)
    try:
        screen = tmux.capture

        deadline = time.monotonic() + 60
        while "Apply 4 changes? [y/N]" not in screen():
            assert time.monotonic() < deadline, screen()
            time.sleep(0.2)
        assert not (example_copy / COMPOSE / ".env").exists()
        tmux.keys("y", "Enter")
        while not log.exists():
            assert time.monotonic() < deadline, screen()
            time.sleep(0.2)
        assert log.read_text().strip() == "0", screen()
        assert "Applied 4 changes" in screen()
        assert (example_copy / COMPOSE / ".env").exists()
    finally:
        tmux.kill()
