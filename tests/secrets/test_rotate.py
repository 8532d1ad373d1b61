"""Rotation: dependency order, recreation of only the dependent services, rollback on failure."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.helpers.secrets import make_project

from toolbox_tui.secrets import materialize as sm  # noqa: E402
from toolbox_tui.secrets import rotate as sr  # noqa: E402
from toolbox_tui.engine.compose_cli import run as compose_run  # noqa: E402
from toolbox_tui.compose.project import ProjectOptions, load_stack  # noqa: E402
from toolbox_tui.secrets.store import SessionStore  # noqa: E402

COMPOSE = """\
services:
  db:
    image: ${TBX_IMAGE:-toolbox-tui/busybox:test}
    command: ["sh", "-c", "sleep 3600"]
    stop_grace_period: 1s  # PID 1 sh ignores SIGTERM: stop would wait 10 s
    secrets: [db_password]
    healthcheck:
      test: ["CMD-SHELL", "grep -q good /run/secrets/db_password"]
      interval: 1s
      timeout: 2s
      retries: 3
  api:
    image: ${TBX_IMAGE:-toolbox-tui/busybox:test}
    command: ["sh", "-c", "sleep 3600"]
    stop_grace_period: 1s  # PID 1 sh ignores SIGTERM: stop would wait 10 s
    secrets: [database_url]
    depends_on: {db: {condition: service_healthy}}
    environment: {POSTGRES_USER: app}
  other:
    image: ${TBX_IMAGE:-toolbox-tui/busybox:test}
    command: ["sh", "-c", "sleep 3600"]
    stop_grace_period: 1s  # PID 1 sh ignores SIGTERM: stop would wait 10 s
secrets:
  db_password: {external: true}
  database_url: {external: true}
"""
MANIFEST = """\
project_name: {name}
secrets:
  database_url: {{derive: "postgresql://${{POSTGRES_USER}}:${{db_password}}@db/app"}}
"""


def _project(tmp_path: Path, name: str) -> Path:
    return make_project(tmp_path / "p", name, COMPOSE, MANIFEST)


def test_affected_and_dependency_order(tmp_path: Path, project_name: str) -> None:
    from toolbox_tui.secrets.inventory import build_inventory

    stack = load_stack(ProjectOptions(cwd=str(_project(tmp_path, project_name))))
    chain = sr.affected(build_inventory(stack), "db_password")
    assert [e.name for e in chain] == ["db_password", "database_url"]
    assert sr.dependency_order(stack, {"api", "db"}) == ["db", "api"]


def test_rollback_restores_value_and_files_when_recreate_fails(tmp_path: Path, project_name: str,
                                                               monkeypatch) -> None:
    root = _project(tmp_path, project_name)
    store = SessionStore()
    store.set("db_password", "good-old-" + secrets.token_hex(6))
    stack = sm.materialize(load_stack(ProjectOptions(cwd=str(root))), store)
    old = store.get("db_password")
    monkeypatch.setattr(sr, "running_services", lambda s: {"db", "api", "other"})
    calls: list[str] = []

    def fake(st, svc, timeout):  # noqa: ANN001
        calls.append(svc)
        return "api: unhealthy" if svc == "api" and len(calls) == 2 else None

    report = sr.rotate(stack, store, "db_password", "good-new-" + secrets.token_hex(6), recreate=fake)
    try:
        assert not report.ok and report.rolled_back and report.error == "api: unhealthy"
        assert calls == ["db", "api", "db", "api"]  # forward in order, then the same again
        assert store.get("db_password") == old and store.get("db_password@previous") is None
        journal = sm.read_journal(stack)
        assert Path(journal["files"]["db_password"]).read_text() == old
        assert report.journal and "good-" not in Path(report.journal).read_text()
    finally:
        sm.remove_materialized(stack)


def test_rollback_recreates_every_running_user_once_one_was_recreated(tmp_path: Path, project_name: str,
                                                                     monkeypatch) -> None:
    """The first recreate fails: the rollback recreates every running service that mounts the
    secret, not only the one it touched. A full run (r25, 5 workers) found `worker` holding the
    new value after a rollback that had recreated only what it had asked for: any container
    Compose or the engine (re)started meanwhile mounted the file as it was then."""
    root = _project(tmp_path, project_name)
    store = SessionStore()
    store.set("db_password", "good-old-" + secrets.token_hex(6))
    stack = sm.materialize(load_stack(ProjectOptions(cwd=str(root))), store)
    monkeypatch.setattr(sr, "running_services", lambda s: {"db", "api"})
    calls: list[str] = []

    def fake(st, svc, timeout):  # noqa: ANN001
        calls.append(svc)
        return "db: unhealthy" if len(calls) == 1 else None

    report = sr.rotate(stack, store, "db_password", "good-new-" + secrets.token_hex(6), recreate=fake)
    try:
        assert not report.ok and report.rolled_back
        assert calls == ["db", "db", "api"]
    finally:
        sm.remove_materialized(stack)


def test_rollback_whose_recreate_fails_is_not_reported_as_rolled_back(tmp_path: Path, project_name: str,
                                                                       monkeypatch) -> None:
    """The rollback's own recreate can fail (the engine, a half-done recreate): then the report
    must not say "rolled back" — the value is back in the keyring and files, not in a container."""
    root = _project(tmp_path, project_name)
    store = SessionStore()
    store.set("db_password", "good-old-" + secrets.token_hex(6))
    stack = sm.materialize(load_stack(ProjectOptions(cwd=str(root))), store)
    old = store.get("db_password")
    monkeypatch.setattr(sr, "running_services", lambda s: {"db", "api"})
    calls: list[str] = []

    def fake(st, svc, timeout):  # noqa: ANN001
        calls.append(svc)
        return f"{svc}: no such container" if len(calls) >= 2 else None

    report = sr.rotate(stack, store, "db_password", "good-new-" + secrets.token_hex(6), recreate=fake)
    try:
        assert not report.ok and not report.rolled_back
        assert report.steps[-1].startswith("rollback incomplete: db: no such container")
        assert "NOT rolled back" in report.summary()
        assert store.get("db_password") == old  # the keyring and the files are back
        assert Path(sm.read_journal(stack)["files"]["db_password"]).read_text() == old
    finally:
        sm.remove_materialized(stack)


@pytest.mark.engine
def test_real_rotation_and_rollback(tmp_path: Path, project_name: str, docker_client, test_image,
                                    compose_ready, cleanup_project) -> None:
    root = _project(tmp_path, project_name)
    store = SessionStore()
    store.set("db_password", "good-" + secrets.token_hex(8))
    stack = sm.materialize(load_stack(ProjectOptions(cwd=str(root))), store)
    cleanup_project(project_name, files=stack.files, project_dir=stack.project_dir)
    try:
        up = compose_run([*stack.compose_args(), "up", "-d", "--wait", "--wait-timeout", "60"])
        assert up.returncode == 0, up.stderr

        def created(svc: str) -> str:
            c = docker_client.containers.list(filters={
                "label": [f"com.docker.compose.project={project_name}", f"com.docker.compose.service={svc}"]})
            return c[0].attrs["Created"]

        before = {s: created(s) for s in ("db", "api", "other")}
        new = "good-" + secrets.token_hex(8)
        report = sr.rotate(stack, store, "db_password", new, timeout=30)
        assert report.ok, report.to_json()
        assert report.services == ["db", "api"]
        after = {s: created(s) for s in ("db", "api", "other")}
        assert after["other"] == before["other"]  # untouched
        assert after["db"] != before["db"] and after["api"] != before["api"]
        db = docker_client.containers.list(filters={"label": [
            f"com.docker.compose.project={project_name}", "com.docker.compose.service=db"]})[0]
        assert db.exec_run(["cat", "/run/secrets/db_password"]).output.decode() == new
        # a value the health check rejects: db turns unhealthy, rotation rolls back
        bad = "bad-" + secrets.token_hex(8)
        report = sr.rotate(stack, store, "db_password", bad, timeout=8)
        assert not report.ok and report.rolled_back, report.to_json()
        assert store.get("db_password") == new
        db = docker_client.containers.list(filters={"label": [
            f"com.docker.compose.project={project_name}", "com.docker.compose.service=db"]})[0]
        assert db.exec_run(["cat", "/run/secrets/db_password"]).output.decode() == new
        assert bad not in report.summary() and bad not in str(report.to_json())
    finally:
        sm.remove_materialized(stack)
