"""Secret files vanish (a reboot empties the runtime dir) while our override stays: the doctor
says to re-materialize (not to `fix` paths), and `up`'s secret step writes them again."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tests.helpers.secrets import make_project

from toolbox_tui.cli import up as cli_up  # noqa: E402
from toolbox_tui.secrets import materialize as sm  # noqa: E402
from toolbox_tui.checks.paths import path_checks  # noqa: E402
from toolbox_tui.compose.project import ProjectOptions, load_stack  # noqa: E402
from toolbox_tui.secrets.store import SessionStore  # noqa: E402


@pytest.fixture
def materialized(tmp_path, project_name, monkeypatch):
    root = make_project(tmp_path / "proj", project_name)
    store = SessionStore()
    store.set("db_password", "Refresh-" + "x" * 20)
    monkeypatch.setattr("toolbox_tui.secrets.store.open_store", lambda *a, **k: store)
    result = sm.materialize_report(load_stack(ProjectOptions(cwd=str(root))), store, mode="dev")
    yield root, result
    sm.remove_materialized(load_stack(ProjectOptions(cwd=str(root))))


def test_vanished_secret_files_are_reported_and_rewritten(materialized):
    root, result = materialized
    for _, p in result.files:
        Path(p).unlink()
    stack = load_stack(ProjectOptions(cwd=str(root)))
    assert stack.secrets_override is not None
    failing = [c for c in path_checks(stack) if c.status == "fail" and c.extra("kind") == "secret_file"]
    assert failing and all("secrets materialize" in c.hint for c in failing)

    new_stack, notes, problem = cli_up._secrets(argparse.Namespace(), stack, "dev")
    assert problem is None, problem
    assert all(Path(p).is_file() for _, p in result.files)
    assert not [c for c in path_checks(new_stack) if c.status == "fail"]
