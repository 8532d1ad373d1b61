"""A `file:` secret whose file is missing (a fresh clone: the file is git-ignored) goes through the
secrets flow: its value is kept in the store and `up` provides the file, like an external secret;
the repository's path is never written. It used to be "create it yourself"."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import pytest

from tests.helpers.secrets import purge_keyring, run_cli
from toolbox_tui.checks.paths import path_checks
from toolbox_tui.compose.project import ProjectOptions, load_stack
from toolbox_tui.findings import FAIL
from toolbox_tui.fixes.options import default_option
from toolbox_tui.lifecycle.up import needs_secret_files
from toolbox_tui.secrets.inventory import build_inventory, resolve
from toolbox_tui.secrets.store import SessionStore


def _project(root: Path, name: str, image: str = "busybox") -> Path:
    root.mkdir(parents=True)
    (root / "compose.yml").write_text(f"""\
name: {name}
services:
  db:
    image: {image}
    command: ["sh", "-c", "test -s /run/secrets/db_password && touch /tmp/ok && exec sleep 3600"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 1s
      retries: 30
    secrets: [db_password]
secrets:
  db_password:
    file: ./secrets/db_password.txt
""")
    return root


def _entry(stack, name):
    return next(e for e in build_inventory(stack) if e.name == name)


def test_a_missing_secret_file_is_kept_in_the_store_and_provided(tmp_path) -> None:
    root = _project(tmp_path / "p", "tbxtest-unit")
    stack = load_stack(ProjectOptions(cwd=str(root)))
    e = _entry(stack, "db_password")
    assert e.definition == "file" and e.file_missing
    assert e.stored and e.materializable
    assert needs_secret_files(stack)
    store = SessionStore()
    _values, status = resolve(stack, build_inventory(stack), store, mode="dev")
    assert not status["db_password"].set
    store.set("db_password", "a-long-enough-value-1")
    values, status = resolve(stack, build_inventory(stack), store, mode="dev")
    assert status["db_password"].set and status["db_password"].store == "session"
    assert values["db_password"] == "a-long-enough-value-1"

    check = next(c for c in path_checks(stack) if c.id == "paths.secret_file.db_password")
    assert check.status == FAIL
    assert "toolbox-tui secrets set db_password" in check.hint
    assert "nothing is written in the repository" in check.hint
    _option, reason = default_option(check, [])
    assert "toolbox-tui secrets set db_password" in reason


def test_a_secret_file_that_exists_stays_the_users(tmp_path) -> None:
    root = _project(tmp_path / "p", "tbxtest-unit")
    (root / "secrets").mkdir()
    (root / "secrets" / "db_password.txt").write_text("from-the-user-file\n")
    stack = load_stack(ProjectOptions(cwd=str(root)))
    e = _entry(stack, "db_password")
    assert not e.file_missing and not e.stored and not e.materializable
    assert not needs_secret_files(stack)
    _values, status = resolve(stack, build_inventory(stack), SessionStore(), mode="dev")
    assert status["db_password"].set and status["db_password"].store == "file"


def test_an_unused_missing_secret_file_is_not_asked_for_by_up(tmp_path) -> None:
    root = _project(tmp_path / "p", "tbxtest-unit")
    text = (root / "compose.yml").read_text().replace("    secrets: [db_password]\n", "")
    (root / "compose.yml").write_text(text)
    assert not needs_secret_files(load_stack(ProjectOptions(cwd=str(root))))


@pytest.mark.keyring
def test_fresh_clone_missing_secret_file_set_then_up_mounts_the_value(
        tmp_path, test_image, compose_ready, keyring_backend, project_name, cleanup_project) -> None:
    """As a newcomer would: `up` refuses and says how to give the value; `secrets set` keeps it in
    the real keyring; `up` is healthy and the container reads exactly that value; nothing new in
    the repository."""
    root = _project(tmp_path / "clone", project_name, test_image)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    cleanup_project(project_name, files=[root / "compose.yml"], project_dir=root)
    before = sorted(p.relative_to(root) for p in root.rglob("*") if ".git" not in p.parts)
    try:
        refused = run_cli(["up", "--timeout", "60"], root)
        assert refused.returncode != 0
        assert "db_password" in refused.stderr + refused.stdout
        assert "secrets set db_password" in refused.stderr + refused.stdout
        assert "Traceback" not in refused.stderr

        value = "Pw-" + secrets.token_hex(12)
        ok = run_cli(["secrets", "set", "db_password", "--json"], root, stdin=value + "\n")
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["store"] == "keyring"

        up = run_cli(["up", "--timeout", "60", "--json"], root)
        assert up.returncode == 0, (up.stdout[-800:], up.stderr[-800:])
        assert value not in up.stdout + up.stderr
        cat = subprocess.run(["docker", "compose", "-p", project_name, "exec", "-T", "db", "cat",
                              "/run/secrets/db_password"], capture_output=True, text=True, timeout=60)
        assert cat.returncode == 0, cat.stderr
        assert cat.stdout == value
        after = sorted(p.relative_to(root) for p in root.rglob("*") if ".git" not in p.parts)
        assert after == before, "nothing is written in the repository"
        assert not (root / "secrets").exists()

        down = run_cli(["down"], root)
        assert down.returncode == 0, down.stderr
    finally:
        purge_keyring(project_name)
