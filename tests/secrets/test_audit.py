"""Audit: values in compose files, git-tracked env files, container env and image config; and the
truth about `secrets: []` in overrides (it does not remove the base's secrets)."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import pytest

from tests.helpers.secrets import run_cli

from toolbox_tui.secrets import audit as sa  # noqa: E402
from toolbox_tui.findings import FAIL, PASS, WARN  # noqa: E402
from toolbox_tui.compose.project import ProjectOptions, load_stack  # noqa: E402
from toolbox_tui.secrets.store import SessionStore  # noqa: E402

BASE = """\
services:
  app:
    image: ${TBX_IMAGE:-toolbox-tui/busybox:test}
    command: ["sh", "-c", "sleep 3600"]
    stop_grace_period: 1s  # PID 1 sh ignores SIGTERM: stop would wait 10 s
    secrets: [db_password]
  worker:
    image: ${TBX_IMAGE:-toolbox-tui/busybox:test}
    command: ["sh", "-c", "sleep 3600"]
    stop_grace_period: 1s  # PID 1 sh ignores SIGTERM: stop would wait 10 s
    secrets: [db_password]
secrets:
  db_password:
    external: true
"""
DEV = """\
services:
  app:
    secrets: []
  worker:
    secrets: !reset []
"""


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": str(root)})


def _project(tmp_path: Path, name: str, value: str) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "compose.yml").write_text(BASE)
    (root / "compose.dev.yml").write_text(DEV)
    (root / ".toolbox-tui.yml").write_text(
        f"project_name: {name}\nmodes:\n  dev: [compose.yml, compose.dev.yml]\n")
    (root / ".env").write_text(f"DB_PASSWORD={value}\nSTRIPE_SECRET_KEY=rk_live_abcdef123\n")
    (root / ".env.example").write_text("DB_PASSWORD=changeme\nSTRIPE_SECRET_KEY=\n")
    _git(root, "init", "-q")
    _git(root, "add", ".env", ".env.example", "compose.yml")
    return root


def test_file_checks_and_override_truth(tmp_path: Path, project_name: str) -> None:
    value = "Pw-" + secrets.token_hex(10)
    root = _project(tmp_path, project_name, value)
    stack = load_stack(ProjectOptions(cwd=str(root)))
    store = SessionStore()
    store.set("db_password", value)
    checks = {c.id: c for c in sa.audit(stack, store, engine=False)}
    env_fail = checks["secrets.audit.git_env..env.db_password"]
    assert env_fail.status == FAIL and env_fail.line == 1 and env_fail.file.endswith("/.env")
    env_warn = checks["secrets.audit.git_env..env"]
    assert env_warn.status == WARN and "STRIPE_SECRET_KEY" in env_warn.title
    assert "secrets.audit.git_env..env.example" not in checks  # template with a fake value
    assert checks["secrets.audit.compose_file"].status == PASS
    empty = checks["overrides.secrets_empty.app"]
    assert empty.status == WARN and "does NOT remove" in empty.title and empty.line == 3
    assert empty.extra("still_mounted") == ["db_password"]
    assert stack.services["app"].secrets == ("db_password",)  # the loader agrees with Compose
    reset = checks["overrides.secrets_reset.worker"]
    assert reset.status == WARN and stack.services["worker"].secrets == ()
    for c in checks.values():
        assert value not in json.dumps(c.to_json())
    # a value pasted into a compose file
    (root / "compose.dev.yml").write_text(DEV + f"  # password is {value}\n")
    checks = {c.id: c for c in sa.audit(load_stack(ProjectOptions(cwd=str(root))), store, engine=False)}
    hit = checks["secrets.audit.compose_file.db_password"]
    assert hit.status == FAIL and hit.line == 6 and value not in hit.title


@pytest.mark.engine
def test_container_env_and_image_config(tmp_path: Path, project_name: str, docker_client, test_image,
                                        compose_ready, cleanup_project) -> None:
    value = "Pw-" + secrets.token_hex(10)
    tag = f"tbxtest-leaky:{secrets.token_hex(4)}"
    donor = docker_client.containers.create(test_image, ["true"])
    try:
        donor.commit(repository=tag.split(":")[0], tag=tag.split(":")[1], changes=[f"ENV BAKED={value}"])
    finally:
        donor.remove(force=True)
    root = tmp_path / "p"
    root.mkdir()
    (root / "compose.yml").write_text(f"""\
services:
  api:
    image: {test_image}
    command: ["sh", "-c", "sleep 3600"]
    stop_grace_period: 1s  # PID 1 sh ignores SIGTERM: stop would wait 10 s
    secrets: [db_password]
    environment:
      DB_PASS_COPY: ${{LEAK}}
      SESSION_SECRET: not-a-known-value-123
  baked:
    image: {tag}
    command: ["sh", "-c", "sleep 3600"]
    stop_grace_period: 1s  # PID 1 sh ignores SIGTERM: stop would wait 10 s
secrets:
  db_password:
    external: true
""")
    (root / ".toolbox-tui.yml").write_text(f"project_name: {project_name}\n")
    cleanup_project(project_name, files=[root / "compose.yml"], project_dir=root)
    store = SessionStore()
    store.set("db_password", value)
    from toolbox_tui.secrets import materialize as sm
    from toolbox_tui.engine.compose_cli import run as compose_run

    try:
        stack = sm.materialize(load_stack(ProjectOptions(cwd=str(root)), environ={"LEAK": value}), store)
        up = compose_run([*stack.compose_args(), "up", "-d"], env={"LEAK": value})
        assert up.returncode == 0, up.stderr
        checks = {c.id: c for c in sa.audit(stack, store, client=docker_client)}
        assert checks["secrets.audit.container_env.api.DB_PASS_COPY"].status == FAIL
        assert checks["secrets.audit.container_env.api.SESSION_SECRET"].status == WARN
        assert checks["secrets.audit.image.baked"].status == FAIL
        for c in checks.values():
            assert value not in json.dumps(c.to_json())
    finally:
        sm.remove_materialized(load_stack(ProjectOptions(cwd=str(root))))
        compose_run(["-p", project_name, "down", "-v", "--timeout", "1"], cwd=str(root))
        docker_client.images.remove(tag, force=True)


def test_audit_cli_exit_code_and_json(tmp_path: Path, project_name: str) -> None:
    root = _project(tmp_path, project_name, "Pw-" + secrets.token_hex(10))
    proc = run_cli(["secrets", "audit", "--json", "--no-engine", "--store", "session"], root)
    assert proc.returncode == 1, proc.stderr  # warnings: a tracked .env with secrets, `secrets: []`
    data = json.loads(proc.stdout)
    ids = {c["id"] for c in data["checks"]}
    assert "overrides.secrets_empty.app" in ids
