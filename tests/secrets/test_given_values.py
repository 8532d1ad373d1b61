"""Variables the project gives a value itself are not asked for (issue 15: the Secrets step asked
for `AWS_ACCESS_KEY`, which the compose file sets to a literal, and for a variable `.env` sets to
a placeholder, which it should name as such)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.secrets_given import given_project
from toolbox_tui.compose.project import ProjectOptions, load_stack
from toolbox_tui.secrets.inventory import build_inventory, resolve
from toolbox_tui.secrets.store import SessionStore


def test_literal_and_placeholder_values_are_said_not_asked(tmp_path):
    stack = load_stack(ProjectOptions(cwd=str(given_project(tmp_path / "p")),
                                      project_name="tbxtest-given"))
    entries = build_inventory(stack)
    _values, status = resolve(stack, entries, SessionStore())
    got = {n: (s.set, s.store) for n, s in status.items()}
    assert got["AWS_ACCESS_KEY"] == (True, "compose")
    assert got["RPC_SHARED_SECRET"] == (True, "environment-placeholder")
    assert got["API_TOKEN"] == (True, "compose-placeholder")
    assert got["SESSION_SECRET"] == (False, None)  # unset: still asked
