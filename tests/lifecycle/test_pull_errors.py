"""A failed pull named by its image, cause and what to do (issue 15: the Startup step showed
`Get "https:/`). The messages are the daemon's own texts; the real refused pull is in
tests/wizard/test_steps_agree.py."""

from __future__ import annotations

from pathlib import Path

from toolbox_tui.compose.project import ProjectOptions, load_stack
from toolbox_tui.lifecycle.diagnosis import from_compose_error


def _stack(tmp_path: Path):
    (tmp_path / "compose.yaml").write_text(
        "services:\n  launchpad-orchestrator-api:\n    image: ghcr.io/acme/launchpad:1.2\n"
        "  db:\n    image: postgres:16\n")
    return load_stack(ProjectOptions(cwd=str(tmp_path), project_name="tbxtest-pull"))


def test_unresolvable_registry_host_names_the_image_and_the_cause(tmp_path):
    msg = ('Error response from daemon: Get "https://ghcr.io/v2/": dial tcp: lookup ghcr.io on '
           '127.0.0.53:53: no such host')
    d = from_compose_error(_stack(tmp_path), msg)
    assert d is not None and d.cause == "pull_failed"
    assert d.service == "launchpad-orchestrator-api"
    assert "ghcr.io/acme/launchpad:1.2" in d.summary and "does not resolve" in d.summary
    assert "docker load" in d.hint and "toolbox-tui up" in d.hint


def test_docker_hub_image_is_found_from_the_hub_host(tmp_path):
    msg = ('Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: request '
           'canceled while waiting for connection (Client.Timeout exceeded while awaiting headers) '
           'context deadline exceeded')
    d = from_compose_error(_stack(tmp_path), msg)
    assert d is not None and d.service == "db" and "postgres:16" in d.summary
    assert "timeout" in d.summary


def test_denied_pull_says_login_or_name(tmp_path):
    msg = ("Error response from daemon: pull access denied for ghcr.io/acme/launchpad, repository "
           "does not exist or may require 'docker login': denied: requested access to the "
           "resource is denied")
    d = from_compose_error(_stack(tmp_path), msg)
    assert d is not None and d.service == "launchpad-orchestrator-api"
    assert "docker login" in d.hint


def test_other_errors_are_not_pull_failures(tmp_path):
    assert from_compose_error(_stack(tmp_path), "service \"db\" has neither an image nor a build") is None
