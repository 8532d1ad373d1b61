"""`secrets list/set/generate` through the real CLI and the real Secret Service."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import pytest

from tests.helpers.secrets import cli_json, make_project, purge_keyring, run_cli

pytestmark = pytest.mark.keyring


def test_list_set_generate(keyring_project) -> None:
    name, root = keyring_project
    data = cli_json(["secrets", "list"], root)
    rows = {r["name"]: r for r in data["secrets"]}
    assert set(rows) == {"db_password", "database_url", "openai_api_key"}
    for r in rows.values():
        assert {"name", "kind", "set", "store", "used_by"} <= set(r)
    assert rows["db_password"] | {} == rows["db_password"]
    assert (rows["db_password"]["set"], rows["db_password"]["kind"]) == (False, "password")
    assert rows["openai_api_key"]["store"] == "placeholder"
    assert rows["database_url"]["used_by"] == ["app"]

    bad = run_cli(["secrets", "set", "db_password"], root, stdin="short\n")
    assert bad.returncode == 1
    assert "db_password: must be at least 12 characters long" in bad.stderr
    assert "short" not in bad.stderr.replace("shorter", "")

    canary = "Canary" + secrets.token_hex(12)
    ok = run_cli(["secrets", "set", "db_password", "--json"], root, stdin=canary + "\n")
    assert ok.returncode == 0, ok.stderr
    assert canary not in ok.stdout + ok.stderr
    assert json.loads(ok.stdout) == {"name": "db_password", "kind": "password", "set": True, "store": "keyring"}
    import keyring

    assert keyring.get_password(f"toolbox-tui:{name}", "db_password") == canary

    derived = run_cli(["secrets", "set", "database_url"], root, stdin="postgresql://x:y@z/db\n")
    assert derived.returncode == 1 and "derived" in derived.stderr

    listed = run_cli(["secrets", "list", "--json"], root)
    assert canary not in listed.stdout + listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)["secrets"]}
    assert rows["db_password"]["set"] and rows["db_password"]["store"] == "keyring"
    assert rows["database_url"]["set"] and rows["database_url"]["store"] == "derived"

    gen = cli_json(["secrets", "generate"], root)
    assert gen["skipped"] == ["db_password"] and gen["generated"] == []
    gen = cli_json(["secrets", "generate", "db_password", "--force"], root)
    assert gen["generated"] == ["db_password"]
    assert keyring.get_password(f"toolbox-tui:{name}", "db_password") != canary
    refused = run_cli(["secrets", "generate", "openai_api_key"], root)
    assert refused.returncode == 1 and "must come from its issuer" in refused.stdout

    unknown = run_cli(["secrets", "set", "nope"], root, stdin="x\n")
    assert unknown.returncode == 2 and "not a secret of this stack" in unknown.stderr


def _read_until(fd: int, marker: bytes, timeout: float = 30) -> bytes:
    import os
    import select
    import time

    buf = b""
    end = time.monotonic() + timeout
    while marker not in buf and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


def test_set_from_a_real_terminal_does_not_echo(keyring_project) -> None:
    """`secrets set` on a TTY: hidden prompt, typed twice, nothing echoed back to the terminal."""
    import os
    import pty

    name, root = keyring_project
    value = "Tty" + secrets.token_hex(10)
    pid, fd = pty.fork()
    if pid == 0:  # child: the CLI on a pseudo-terminal
        os.chdir(root)
        os.execv(sys.executable, [sys.executable, "-m", "toolbox_tui", "secrets", "set", "db_password"])
    seen = _read_until(fd, b"input hidden")
    assert b"db_password (password, input hidden)" in seen
    os.write(fd, value.encode() + b"\r")
    seen += _read_until(fd, b"again")
    os.write(fd, value.encode() + b"\r")
    seen += _read_until(fd, b"stored")
    seen += _read_until(fd, b"\n__never__", timeout=3)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert b"db_password: stored" in seen
    assert value.encode() not in seen
    import keyring

    assert keyring.get_password(f"toolbox-tui:{name}", "db_password") == value


CERT_COMPOSE = """\
services:
  app:
    image: ${TBX_IMAGE:-toolbox-tui/busybox:test}
    command: ["sh", "-c", "sleep 3600"]
    stop_grace_period: 1s  # PID 1 sh ignores SIGTERM: stop would wait 10 s
    secrets: [tls_key]
secrets:
  tls_key:
    external: true
"""


def test_set_certificate_from_file_keeps_pem_and_refuses_controls(tmp_path: Path, keyring_backend) -> None:
    """A PEM file ends with a newline (LF or CRLF): stored as is. NUL/ESC or bad UTF-8: refused by
    class and position, nothing stored, the value never echoed."""
    name = f"tbxtest-{secrets.token_hex(4)}"
    root = make_project(tmp_path / "proj", name, compose=CERT_COMPOSE, manifest="project_name: {name}\n")
    try:
        body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + secrets.token_hex(16)
        pem = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
        for label, raw, code, fragment in (
                ("LF", pem.encode(), 0, "tls_key: stored"),
                ("CRLF", pem.replace("\n", "\r\n").encode(), 0, "tls_key: stored"),
                ("NUL", pem.encode() + b"\x00", 1, "a NUL byte at character"),
                ("ESC", pem.replace("\n", "\n\x1b[2J", 1).encode(), 1, "an ESC (escape sequence) at character 29"),
                ("bad UTF-8", pem.encode() + b"\xff", 2, "not valid UTF-8 (bad byte at offset")):
            f = tmp_path / f"key-{label}.pem"
            f.write_bytes(raw)
            proc = run_cli(["secrets", "set", "tls_key", "--from-file", str(f)], root)
            assert proc.returncode == code, (label, proc.stderr)
            assert fragment in proc.stdout + proc.stderr, (label, proc.stdout, proc.stderr)
            assert body not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
        rows = {r["name"]: r for r in cli_json(["secrets", "list"], root)["secrets"]}
        assert rows["tls_key"]["kind"] == "certificate" and rows["tls_key"]["set"] is True
    finally:
        purge_keyring(name)
