"""What ssh (or the far end's docker) says when an `ssh://` engine cannot be reached, turned into
the error every endpoint gets: what is wrong, with the host, and what to do. The texts are
OpenSSH's and the docker CLI's own; the refused connection is also tried for real
(tests/engine/test_ssh_engine.py)."""

from __future__ import annotations

import pytest

from toolbox_tui.engine.context import Endpoint
from toolbox_tui.engine.ssh import classify_failure, ssh_argv

EP = Endpoint(host="ssh://deploy@build-01:2222", source="DOCKER_HOST")


@pytest.mark.parametrize("code,stderr,reason,words", [
    (255, "ssh: Could not resolve hostname build-01: Name or service not known\r\n", "bad_host",
     "does not resolve"),
    (255, "ssh: connect to host build-01 port 2222: Connection refused\r\n", "bad_host",
     "nothing accepts ssh connections"),
    (255, "ssh: connect to host build-01 port 2222: Connection timed out\r\n", "timeout", "timed out"),
    (255, "@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
          "Host key verification failed.\r\n", "bad_host", "host key"),
    (255, "deploy@build-01: Permission denied (publickey).\r\n", "permission_denied",
     "refused the login"),
    (127, "bash: line 1: docker: command not found\n", "other", "no docker CLI"),
    (1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon "
        "running?\n", "daemon_down", "does not run"),
    (1, "permission denied while trying to connect to the Docker daemon socket at "
        "unix:///var/run/docker.sock: Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.47/version\": dial "
        "unix /var/run/docker.sock: connect: permission denied\n", "permission_denied",
     "may not use the engine"),
])
def test_each_failure_says_what_and_what_to_do(code, stderr, reason, words) -> None:
    err = classify_failure(EP, code, stderr)
    assert err.reason == reason, err.message
    assert words in err.message and "ssh://deploy@build-01:2222" in err.message
    assert err.hint and "\r" not in err.message and "\n" not in err.message


def test_control_characters_from_the_far_end_never_reach_the_message() -> None:
    err = classify_failure(EP, 255, "Permission denied\x1b]52;c;ZXZpbA==\x07 (publickey)\x1b[2J")
    assert "\x1b" not in err.message and "\x07" not in err.message


def test_a_context_endpoint_names_the_context() -> None:
    ep = Endpoint(host="ssh://build-01", source="context", context="ci")
    err = classify_failure(ep, 255, "ssh: connect to host build-01 port 22: Connection refused")
    assert err.reason == "bad_context" and "docker context 'ci'" in err.hint


def test_argv_passes_user_and_port_and_ends_options_before_the_host() -> None:
    argv = ssh_argv("ssh://deploy@build-01:2222", "docker system dial-stdio", connect_timeout=3)
    assert argv[:2] == ["ssh", "-T"] and "BatchMode=yes" in argv and "ConnectTimeout=3" in argv
    assert argv[argv.index("-l") + 1] == "deploy" and argv[argv.index("-p") + 1] == "2222"
    assert argv[-3:] == ["--", "build-01", "docker system dial-stdio"]
