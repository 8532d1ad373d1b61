"""Secret values on stdin, no keyring, and hostile container log content.

Secret invariants: the value (a canary) never appears in stdout/stderr, exit code documented, no
traceback, and without a secure keyring the command refuses (exit 3) with the explicit choice and
writes no file. Log invariants: after `sanitize` / `log_pipeline`, no escape sequence other than an
SGR colour, no C0/C1 control, no bidi override, and lines bounded.
"""

from __future__ import annotations

import os
import re
import secrets as pysecrets
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolbox_tui.live.log_lines import LineSplitter
from toolbox_tui.sanitize import DEFAULT_MAX_LINE, TRUNCATION_MARKER, sanitize_line, strip_all

from .invariants import problems, run_exe

from tests.helpers.secrets import make_project


def _values(canary: str) -> dict[str, bytes]:
    c = canary.encode()
    return {
        "empty": b"",
        "only a newline": b"\n",
        "1 MB": c + b"x" * (1024 * 1024),
        "embedded newlines": c + b"\nsecond line\nthird\n",
        "NUL bytes": c + b"\x00\x00tail-after-nul",
        "invalid UTF-8": c + b"\xff\xfe\xfd-rest",
        "escape sequences": c + b"\x1b]0;pwn\x07\x1b[2J",
        "CRLF": c + b"-crlf-value\r\n",
        "bell (C0 control)": c + b"\x07ding-dong",
        "C1 control (8-bit CSI)": c + "\u009b2J-after".encode(),
        "DEL": c + b"\x7f-after-del",
        "tab inside": c + b"\tafter-tab",
        "ESC first": b"\x1b[31m" + c,
    }


CASES = list(_values("x"))

_AT = len("CANARY") + 16 + 1
"""1-based position of the first character after the canary (`CANARY` + 16 hex digits)."""
EXPECT = {
    "NUL bytes": (1, f"a NUL byte at character {_AT} (2 control characters in all)"),
    "escape sequences": (1, f"an ESC (escape sequence) at character {_AT}"),
    "bell (C0 control)": (1, f"control character U+0007 at character {_AT}"),
    "C1 control (8-bit CSI)": (1, f"C1 control character U+009B at character {_AT}"),
    "DEL": (1, f"a DEL character at character {_AT}"),
    "tab inside": (1, f"control character U+0009 at character {_AT}"),
    "ESC first": (1, "an ESC (escape sequence) at character 1"),
    "invalid UTF-8": (2, f"not valid UTF-8 (bad byte at offset {_AT - 1})"),
    "1 MB": (2, "stdin gave more than 500 KiB"),  # bounded read: refused before validation
    "embedded newlines": (1, "must be a single line"),
    "empty": (1, "at least 12 characters"),
    "CRLF": (0, "db_password: stored"),
}
"""Exit code and message fragment of `secrets set db_password` (no --json) for each case."""


@pytest.mark.keyring
@pytest.mark.parametrize("case", CASES)
def test_secret_value_on_stdin(case, keyring_project, record):
    record.case("secret value on stdin (`secrets set db_password`)", case)
    name, root = keyring_project
    canary = "CANARY" + pysecrets.token_hex(8)
    value = _values(canary)[case]
    before = sorted(p.name for p in root.rglob("*"))
    for extra in ([], ["--json"]):
        out, err, code = run_exe(["secrets", "set", "db_password", *extra], root, stdin=value)
        bad = problems(out, err, code, secret=canary)
        assert not bad, bad
        if not extra and case in EXPECT:
            want_code, fragment = EXPECT[case]
            assert code == want_code and fragment in out + err, (code, err, out)
            if code:
                assert "db_password" in err, err
        if not extra:
            set_note = f"exit {code}: " + ((err.strip() or out.strip()).splitlines() or [""])[0][:120]
    # nothing may appear in the project (state is outside it); the value never lands in a file there
    after = sorted(p.name for p in root.rglob("*"))
    assert set(after) == set(before), after
    for p in root.rglob("*"):
        if p.is_file():
            assert canary.encode() not in p.read_bytes(), p
    out, err, code = run_exe(["secrets", "list", "--json"], root)
    assert not problems(out, err, code, secret=canary)
    record.note(set_note)


def test_no_session_bus_refuses_with_explicit_choice(tmp_path, record):
    name = f"tbxtest-{pysecrets.token_hex(4)}"
    root = make_project(tmp_path / "proj", name)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent", XDG_RUNTIME_DIR=str(runtime),
               TMPDIR=str(tmp_path))
    canary = "CANARY" + pysecrets.token_hex(8)
    for cmd, stdin in ((["secrets", "set", "db_password"], canary.encode()),
                       (["secrets", "generate"], b""), (["secrets", "materialize"], b""),
                       (["secrets", "rotate", "db_password"], b"")):
        record.case("keyring daemon gone / no session bus", " ".join(cmd))
        out, err, code = run_exe(cmd, root, stdin=stdin, env=env)
        bad = problems(out, err, code, secret=canary, exits={2, 3})
        assert not bad, (cmd, bad, err)
        if code == 3:
            assert "no secure keyring" in err and "--store session" in err, err
        assert not list(runtime.rglob("*")), list(runtime.rglob("*"))
        assert not list(tmp_path.glob("toolbox-tui-*")), "secret dir created without a keyring"
        record.note(f"exit {code}: {err.strip().splitlines()[0][:100]}")


# --- container log content ---------------------------------------------------------------------

_DANGEROUS = re.compile(r"\x1b(?!\[[0-9;:]*m)|[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""What must not survive `sanitize_line(keep_sgr=True)`: any ESC that does not start an SGR."""

HOSTILE = {
    "OSC title + BEL": b"a\x1b]0;pwned\x07b",
    "OSC 8 hyperlink": b"\x1b]8;;http://127.0.0.1/x\x1b\\click\x1b]8;;\x1b\\",
    "DCS / SOS / PM / APC": b"\x1bPq#0;2;0;0;0\x1b\\\x1bXsos\x1b\\\x1b^pm\x1b\\\x1b_apc\x1b\\ok",
    "8-bit C1 CSI and OSC": "x\u009b2J\u009d0;t\u009cy".encode(),
    "clear + cursor moves": b"\x1b[2J\x1b[H\x1b[10;10H\x1b[?1049h\x1b[?25l",
    "unterminated OSC": b"before\x1b]0;never ends",
    "bidi override": "safe\u202eexe.txt".encode(),
    "raw binary": bytes(range(256)) * 4,
    "90k-char line": b"L" * 90_000,
    "90k line of escapes": b"\x1b[31m" * 18_000,
    "markup lookalike": b"[@click=app.quit]x[/] [b]bold[/b]",
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_log_content_through_splitter_and_sanitizer(case, record):
    record.case("container log content (sanitize + LineSplitter)", case)
    data = HOSTILE[case]
    lines = []
    for chunk_size in (1, 7, 4096, len(data) + 1):
        sp = LineSplitter(timestamps=False)
        raw = []
        for i in range(0, len(data), chunk_size):
            raw += sp.feed(data[i:i + chunk_size])
        raw += sp.flush()
        lines = [sanitize_line(p) for _f, _l, p in raw]
        for ln in lines:
            m = _DANGEROUS.search(ln)
            assert not m, (chunk_size, ln[max(0, m.start() - 10): m.end() + 10])
            assert len(strip_all(ln, max_len=None)) <= DEFAULT_MAX_LINE + len(TRUNCATION_MARKER) + 12
    record.note(f"{len(lines)} line(s), longest {max((len(x) for x in lines), default=0)} chars, "
                "no escape but SGR")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"\x1b", b"[", b"]", b"P", b"\\", b"\x07", b"\x9b", b"\x9d", b"\x9c",
                                 b"0", b";", b"m", b"2J", b"\n", b"\r", b"\x00", b"\xff", b"\xe2\x80\xae",
                                 b"a", b"\t", b"\xc2\x9b"]) | st.binary(max_size=8), max_size=80))
def test_log_content_fuzzed(pieces):
    data = b"".join(pieces)
    sp = LineSplitter(timestamps=False)
    raw = sp.feed(data) + sp.flush()
    for _f, _l, p in raw:
        ln = sanitize_line(p)
        assert not _DANGEROUS.search(ln), (data, ln)


def test_log_fuzz_recorded(record):
    record.case("container log content (hypothesis, 300 byte soups)", "no escape but SGR survives",
                "see test_log_content_fuzzed")


@pytest.mark.engine
def test_hostile_logs_from_a_real_container_via_cli(docker_client, test_image, project_name,
                                                    cleanup_project, tmp_path, record):
    """`toolbox-tui logs` of a container printing every hostile class: nothing dangerous on stdout."""
    record.case("container log content (real container, `toolbox-tui logs`)", "all hostile classes")
    script = ("printf 'a\\033]0;pwned\\007b\\n'; printf '\\033]8;;http://127.0.0.1/\\033\\\\link\\n'; "
              "printf '\\033P1$r\\033\\\\dcs\\n'; printf '\\033[2J\\033[?1049hclear\\n'; "
              "printf '\\302\\233' ; printf '31mc1\\n'; printf 'bi\\342\\200\\256di\\n'; "
              "head -c 3000 /dev/urandom; echo; "
              "head -c 90000 /dev/zero | tr '\\0' L; echo; echo DONE; sleep 600")
    import yaml

    (tmp_path / "compose.yaml").write_text(yaml.safe_dump(
        {"services": {"noisy": {"image": test_image, "init": True, "command": ["sh", "-c", script]}}}))
    cleanup_project(project_name, files=[tmp_path / "compose.yaml"], project_dir=tmp_path)
    out, err, code = run_exe(["-p", project_name, "up", "--timeout", "60"], tmp_path)
    assert code == 0, err
    deadline = time.time() + 60  # the 90k-character line takes a while on a loaded machine
    while time.time() < deadline:
        out, err, code = run_exe(["-p", project_name, "logs", "noisy"], tmp_path)
        if "DONE" in out:
            break
        time.sleep(0.5)
    assert "DONE" in out
    bad = problems(out, err, code)
    assert not bad, bad
    longest = max(len(x) for x in out.splitlines())
    assert longest < 90_000
    record.note(f"exit {code}, {len(out.splitlines())} lines, longest {longest} chars, no raw controls")
