"""Leak test: a unique canary goes set -> materialize -> up -> rotate -> down through the real CLI,
Secret Service, Compose and engine; afterwards it is nowhere but the keyring (and the 0600 files
while they existed): not in files the tool wrote, its output/JSON/logs, the argv or environment of
any process it started, exception messages, or the container's environment.
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.secrets import purge_keyring

from toolbox_tui.state_dir import state_dir_for
from toolbox_tui.cli import main as cli  # noqa: E402
from toolbox_tui.secrets import materialize as sm  # noqa: E402
from toolbox_tui.secrets.files import secrets_base_dir
from toolbox_tui.engine.compose_cli import run as compose_run  # noqa: E402
from toolbox_tui.compose.project import ProjectOptions, load_stack  # noqa: E402

pytestmark = [pytest.mark.engine, pytest.mark.keyring]

COMPOSE = """\
services:
  app:
    image: ${TBX_IMAGE:-toolbox-tui/busybox:test}
    command: ["sh", "-c", "sleep 3600"]
    stop_grace_period: 1s  # PID 1 sh ignores SIGTERM: stop would wait 10 s
    secrets: [db_password, database_url]
    environment:
      POSTGRES_USER: app
    healthcheck:
      test: ["CMD-SHELL", "test -s /run/secrets/db_password"]
      interval: 1s
      timeout: 2s
      retries: 10
secrets:
  db_password:
    external: true
  database_url:
    external: true
"""

MANIFEST = """\
project_name: {name}
secrets:
  db_password: {{kind: password}}
  database_url: {{derive: "postgresql://${{POSTGRES_USER}}:${{db_password}}@db:5432/app"}}
"""


class Recorder:
    """Every process started through subprocess.Popen: argv and environment."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, str] | None]] = []


def _scan_tree(root: Path, needles: list[str], skip: set[Path] = frozenset()) -> list[str]:
    hits = []
    for p in root.rglob("*"):
        if p in skip or not p.is_file() or p.is_symlink():
            continue
        try:
            data = p.read_bytes()
        except OSError:
            continue
        for n in needles:
            if n.encode() in data:
                hits.append(f"{p} contains {'canary' if n == needles[0] else 'canary2'}")
    return hits


def test_canary_never_leaks(tmp_path: Path, project_name: str, keyring_backend, docker_client,
                            test_image, compose_ready, cleanup_project, monkeypatch, capsys,
                            caplog) -> None:
    caplog.set_level(logging.DEBUG)
    root = tmp_path / "proj"
    root.mkdir()
    (root / "compose.yml").write_text(COMPOSE)
    (root / ".toolbox-tui.yml").write_text(MANIFEST.format(name=project_name))
    canary = "tbxcanary" + secrets.token_hex(16)
    canary2 = "tbxcanary2" + secrets.token_hex(16)
    needles = [canary, canary2]
    monkeypatch.chdir(root)
    cleanup_project(project_name, files=[root / "compose.yml"], project_dir=root)

    rec = Recorder()
    real_popen = subprocess.Popen

    class RecordingPopen(real_popen):  # type: ignore[misc, valid-type]
        def __init__(self, args, *a, **kw):  # noqa: ANN001
            argv = [str(x) for x in (args if isinstance(args, (list, tuple)) else [args])]
            env = kw.get("env")
            rec.calls.append((argv, dict(env) if env is not None else None))
            super().__init__(args, *a, **kw)

    monkeypatch.setattr(subprocess, "Popen", RecordingPopen)
    outputs: list[str] = []
    errors: list[str] = []

    def tool(*argv: str, stdin: str | None = None) -> int:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = cli.main(list(argv))
        except BaseException as exc:  # noqa: BLE001 - the message is part of what we check
            errors.append(f"{type(exc).__name__}: {exc}")
            raise
        out = capsys.readouterr()
        outputs.extend([out.out, out.err])
        return code

    try:
        # set: from stdin (not a TTY); a bad value for another secret must not be echoed either
        assert tool("secrets", "set", "db_password", "--json", stdin=canary + "\n") == 0
        assert tool("secrets", "set", "db_password", stdin="x" + canary[:3] + "\n") == 1
        assert tool("secrets", "list", "--json") == 0
        # materialize
        assert tool("secrets", "materialize", "--json") == 0
        journal = json.loads((state_dir_for(root) / "secrets.json").read_text())
        secret_dir = Path(journal["dir"])
        for p in secret_dir.iterdir():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600
        assert (secret_dir / "db_password").read_text() == canary
        # up (as `toolbox-tui up` would: the override is picked up automatically)
        stack = load_stack(ProjectOptions(cwd=str(root)))
        assert stack.secrets_override is not None
        up = compose_run([*stack.compose_args(), "up", "-d", "--wait", "--wait-timeout", "60"])
        outputs.extend([up.stdout, up.stderr])
        assert up.returncode == 0, up.stderr
        container = docker_client.containers.list(
            filters={"label": f"com.docker.compose.project={project_name}"})[0]
        assert container.exec_run(["cat", "/run/secrets/db_password"]).output.decode() == canary
        # while files exist, the only places with the canary on disk are the 0600 files
        hits = _scan_tree(root, needles) + [h for h in _scan_tree(secret_dir, needles)
                                             if not h.startswith(str(secret_dir / "db_password"))
                                             and not h.startswith(str(secret_dir / "database_url"))]
        assert hits == []
        # audit finds nothing and says nothing secret
        assert tool("secrets", "audit", "--json") == 0
        # rotate to a second canary (typed on stdin), recreating the one dependent service
        assert tool("secrets", "rotate", "db_password", "--json", stdin=canary2 + "\n") == 0
        report = json.loads(outputs[-2])
        assert report["ok"] and report["services"] == ["app"]
        container = docker_client.containers.list(
            filters={"label": f"com.docker.compose.project={project_name}"})[0]
        assert container.exec_run(["cat", "/run/secrets/db_password"]).output.decode() == canary2
        import keyring

        service = f"toolbox-tui:{project_name}"
        assert keyring.get_password(service, "db_password") == canary2
        assert keyring.get_password(service, "db_password@previous") is None  # healthy: dropped
        # the container's environment and labels never saw a value
        attrs = json.dumps(container.attrs)
        assert canary not in attrs and canary2 not in attrs
        # down: stop the project, remove the files and the override
        down = compose_run([*stack.compose_args(), "down", "-v", "--timeout", "1"])
        outputs.extend([down.stdout, down.stderr])
        assert tool("secrets", "materialize", "--remove", "--json") == 0
        assert not secret_dir.exists()
        assert not (state_dir_for(root) / "compose.secrets.yml").exists()
    finally:
        monkeypatch.setattr(subprocess, "Popen", real_popen)
        leftover = []
        try:
            leftover = _scan_tree(root, needles) + _scan_tree(secrets_base_dir(), needles) \
                if secrets_base_dir().exists() else _scan_tree(root, needles)
        finally:
            stack = load_stack(ProjectOptions(cwd=str(root)))
            sm.remove_materialized(stack)
            purge_keyring(project_name)

    assert leftover == [], leftover
    for text in outputs + errors + [r.getMessage() for r in caplog.records]:
        for n in needles:
            assert n not in text
    assert rec.calls, "the tool started no process: the recorder is not wired"
    assert any("compose" in argv for argv, _ in rec.calls)
    for argv, env in rec.calls:
        for n in needles:
            assert all(n not in a for a in argv), argv
            if env is not None:
                assert all(n not in k and n not in v for k, v in env.items())
    for n in needles:
        assert n not in json.dumps(dict(os.environ))
