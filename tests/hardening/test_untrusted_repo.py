"""A repository is not trusted (issue 14, cases 4, 7, 8, 9, 10): what it ships must not make
toolbox-tui quote files outside it, block, read without bound, expand without bound, or drive the
terminal. Every case runs the installed `toolbox-tui` on real files, real symbolic links and real
FIFOs (os.mkfifo), with a subprocess timeout, so a regression fails instead of hanging.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .invariants import EXE, problems, run_exe

TIMEOUT = 60
"""Seconds any one command may take here; a hang or a read of /dev/zero runs into it."""

BASE = "services:\n  app:\n    image: busybox\n"


def project(root: Path, compose: str = BASE) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / ".git").mkdir(exist_ok=True)  # the repository root
    (root / "compose.yaml").write_text(compose)
    return root


def run(root: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
        timeout: float = TIMEOUT) -> tuple[str, str, int]:
    try:
        return run_exe(list(args), root, stdin=stdin, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`toolbox-tui {' '.join(args)}` did not finish within {timeout} s (blocked "
                    "or reading without bound)")


def said(err: str, root: Path) -> str:
    """The first line of an error, with the test's directory shortened (for the record)."""
    lines = err.strip().splitlines() or [""]
    first = next((x for x in lines if "error:" in x), lines[0]).replace(str(root), "<repo>")
    return first.replace("toolbox-tui: error: ", "")[:140]


def clean(out: str, err: str, code: int, exits: set[int] = {0, 1, 2, 3}) -> None:
    bad = problems(out, err, code, exits=exits)
    for label, text in (("stdout", out), ("stderr", err)):
        for marker in ("internal error", "RecursionError", "MemoryError"):
            if marker in text:
                bad.append(f"{marker!r} on {label}")
    assert not bad, bad


# --- case 4: files that resolve outside the repository are named, never quoted -----------------

SHADOW_CANARY = "CANARYSHADOW"
KEY_CANARY = "CANARYKEYLINE"


def _outside_files(tmp: Path) -> tuple[Path, Path]:
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    shadow = elsewhere / "shadow"
    shadow.write_text(f"root:{SHADOW_CANARY}$6$salt:19000:0:99999:7:::\n"
                      f"daemon:*:{SHADOW_CANARY}2:0:99999:7:::\n")
    key = elsewhere / "id_rsa"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n"
                   + "".join(f"{KEY_CANARY}{i}b3BlbnNzaC1rZXktdjEAAAAABG5v\n" for i in range(5))
                   + "-----END OPENSSH PRIVATE KEY-----\n")
    return shadow, key


@pytest.mark.parametrize("fmt", ["human", "json"])
def test_doctor_never_quotes_files_outside_the_repository(tmp_path, record, fmt):
    record.case("untrusted repository: files outside it", f"doctor ({fmt}): .env -> shadow, "
                ".env.example -> private key")
    shadow, key = _outside_files(tmp_path)
    root = project(tmp_path / "repo", BASE + "    environment:\n      X: ${X:-x}\n")
    (root / ".env").symlink_to(shadow)
    (root / ".env.example").symlink_to(key)
    args = ["doctor", "--no-engine"] + (["--json"] if fmt == "json" else [])
    out, err, code = run(root, *args)
    clean(out, err, code, {0, 1})
    for text in (out, err):
        assert SHADOW_CANARY not in text and KEY_CANARY not in text and "BEGIN OPENSSH" not in text
    if fmt == "json":
        checks = {c["id"]: c for c in json.loads(out)["checks"]}
        named = [c for c in checks.values() if c["id"].startswith("env.outside.")]
    else:
        named = [line for line in out.splitlines() if "resolves outside the repository" in line]
    assert len(named) == 2, out
    assert ".env" in out and ".env.example" in out and "not read" in out
    record.note(f"exit {code}: both named as outside the repository and not read; no line quoted")


# --- case 7: bounded, non-blocking reads --------------------------------------------------------

def _special(root: Path, name: str, what: str) -> Path:
    p = root / name
    if what == "fifo":
        os.mkfifo(p)
    else:
        p.symlink_to("/dev/zero")
    return p


@pytest.mark.parametrize("what", ["fifo", "/dev/zero"])
@pytest.mark.parametrize("how", [".env", "--env-file", "COMPOSE_ENV_FILES"])
def test_env_file_that_is_not_a_regular_file_is_refused(tmp_path, record, what, how):
    record.case("untrusted repository: unbounded or blocking reads", f"{how} is {what}")
    root = project(tmp_path / "repo")
    env = dict(os.environ)
    if how == ".env":
        _special(root, ".env", what)
        args = ["doctor", "--no-engine"]
    else:
        p = _special(root, "prod.env", what)
        if how == "--env-file":
            args = ["--env-file", str(p), "doctor", "--no-engine"]
        else:
            args = ["doctor", "--no-engine"]
            env["COMPOSE_ENV_FILES"] = str(p)
    out, err, code = run(root, *args, env=env)
    clean(out, err, code)
    assert code == 3, (out, err)
    kind = "FIFO" if what == "fifo" else "character device"
    assert kind in err and "not a regular file" in err and ("prod.env" in err or ".env" in err), err
    record.note(f"exit 3 at once: {said(err, root)}")


def test_oversized_env_file_is_refused(tmp_path, record):
    record.case("untrusted repository: unbounded or blocking reads", ".env of 3 MiB (limit 1 MiB)")
    root = project(tmp_path / "repo")
    with open(root / ".env", "w") as fh:
        fh.write(("K=" + "v" * 1000 + "\n") * 3000)
    out, err, code = run(root, "doctor", "--no-engine")
    clean(out, err, code)
    assert code == 3 and "refusing files over 1.0 MiB" in err and ".env" in err, err
    record.note(f"exit 3: {said(err, root)}")


def test_markdown_fifo_and_dev_zero_are_skipped_by_name(tmp_path, record):
    record.case("untrusted repository: unbounded or blocking reads", "README.md -> /dev/zero, "
                "NOTES.md a FIFO (doctor with docs)")
    root = project(tmp_path / "repo")
    (root / "README.md").symlink_to("/dev/zero")
    os.mkfifo(root / "NOTES.md")
    (root / "docs").mkdir()
    os.mkfifo(root / "docs" / "guide.md")
    out, err, code = run(root, "doctor", "--no-engine", "-v")
    clean(out, err, code, {0, 1})
    assert "NOTES.md is a FIFO" in out and "docs/guide.md is a FIFO" in out, out
    assert "README.md leads outside the repository" in out, out
    record.note("exit %d, the three named as not read" % code)


def test_compose_file_fifo_is_refused(tmp_path, record):
    record.case("untrusted repository: unbounded or blocking reads", "-f a FIFO")
    root = project(tmp_path / "repo")
    os.mkfifo(root / "pipe.yaml")
    out, err, code = run(root, "-f", "pipe.yaml", "doctor", "--no-engine")
    clean(out, err, code)
    assert code == 3 and "pipe.yaml" in err and "not a regular file" in err, err


SECRET_PROJECT = BASE + "    secrets: [db_password]\nsecrets:\n  db_password:\n    file: ./db.txt\n"


def test_secrets_set_from_dev_zero_is_refused(tmp_path, record):
    record.case("untrusted repository: unbounded or blocking reads", "secrets set < /dev/zero")
    root = project(tmp_path / "repo", SECRET_PROJECT)
    with open("/dev/zero", "rb") as zero:
        proc = subprocess.run([EXE, "secrets", "set", "db_password", "--store", "session"],
                              cwd=root, stdin=zero, capture_output=True, timeout=TIMEOUT,
                              env={**os.environ, "NO_COLOR": "1"})
    out, err = proc.stdout.decode(), proc.stderr.decode()
    clean(out, err, proc.returncode)
    assert proc.returncode == 2 and "500 KiB" in err and "nothing was stored" in err, err
    record.note(f"exit 2: {said(err, root)}")


@pytest.mark.parametrize("what", ["fifo", "/dev/zero"])
def test_secrets_set_from_file_that_is_not_regular_is_refused(tmp_path, record, what):
    record.case("untrusted repository: unbounded or blocking reads", f"secrets set --from-file {what}")
    root = project(tmp_path / "repo", SECRET_PROJECT)
    p = _special(root, "value", what)
    out, err, code = run(root, "secrets", "set", "db_password", "--store", "session",
                         "--from-file", str(p))
    clean(out, err, code)
    assert code == 2 and "not a regular file" in err and "nothing was stored" in err, err


def test_fix_plan_hashes_a_huge_candidate_streamed(tmp_path, record):
    record.case("untrusted repository: unbounded or blocking reads",
                "fix (plan) with a 1.5 GB candidate (sparse file)")
    root = project(tmp_path / "repo", BASE + "    volumes:\n      - ./conf/app.conf:/etc/app.conf\n")
    (root / "other").mkdir()
    subprocess.run(["truncate", "-s", "1500M", str(root / "other" / "app.conf")], check=True)
    # A fresh wrapper process, so RUSAGE_CHILDREN is this command's alone.
    probe = ("import resource, subprocess, sys;"
             "p = subprocess.run(sys.argv[1:], capture_output=True);"
             "sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) + '\\n'"
             " + str(p.returncode) + '\\n' + p.stdout.decode())")
    proc = subprocess.run([sys.executable, "-c", probe, EXE, "fix"], cwd=root, capture_output=True,
                          timeout=TIMEOUT * 2, env={**os.environ, "NO_COLOR": "1"})
    rss_kb, code, out = proc.stdout.decode().split("\n", 2)
    assert code == "0" and "copy other/app.conf -> conf/app.conf" in out, out
    assert int(rss_kb) < 300 * 1024, f"fix held {int(rss_kb) // 1024} MB while planning"
    record.note(f"plan offers the copy; peak RSS {int(rss_kb) // 1024} MB (the file is 1,500 MB)")


# --- case 8: one expansion budget, bounded nesting ----------------------------------------------

def _alias_bomb() -> str:
    inner = "x"
    for _ in range(40):
        inner = "${A:-" + inner + "}"
    lines = [f'x-s: &s "{inner}"', "x-l0: &l0 [" + ", ".join(["*s"] * 10) + "]"]
    for i in range(1, 6):
        lines.append(f"x-l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n" + BASE + "    command: *l5\n"


def test_alias_bomb_of_interpolated_strings(tmp_path, record):
    record.case("untrusted repository: expansion", "15 KB of aliases repeating interpolated strings (fix)")
    text = _alias_bomb()
    assert len(text) < 15_000
    root = project(tmp_path / "repo", text)
    out, err, code = run(root, "fix")
    clean(out, err, code)
    assert code == 3 and "billion laughs" in err, err
    assert re.search(r"compose\.yaml:\d+:\d+", err), err
    record.note(f"exit 3: {said(err, root)}")


def test_interpolation_charges_every_alias_use(tmp_path, record):
    """Few nodes and little raw text, but each use of the alias expands to 512 KiB: what
    interpolation adds is charged per use, so the budget stops it (not memory)."""
    record.case("untrusted repository: expansion", "a 512 KiB variable used through 1,000 aliases")
    root = project(tmp_path / "repo", 'x-s: &s "${BIG}"\nx-l0: &l0 [' + ", ".join(["*s"] * 10) + "]\n"
                   + "x-l1: &l1 [" + ", ".join(["*l0"] * 10) + "]\n"
                   + BASE + "    command: [" + ", ".join(["*l1"] * 10) + "]\n")
    (root / ".env").write_text("BIG=" + "b" * (512 * 1024) + "\n")
    out, err, code = run(root, "doctor", "--no-engine", "--no-docs")
    clean(out, err, code)
    assert code == 3 and "64 MiB" in err and re.search(r"compose\.yaml:1:\d+", err), err
    record.note(f"exit 3: {said(err, root)}")


def test_deeply_nested_defaults(tmp_path, record):
    record.case("untrusted repository: expansion", "499 nested ${A:-${A:-...}}")
    inner = "x"
    for _ in range(499):
        inner = "${A:-" + inner + "}"
    root = project(tmp_path / "repo", BASE + f'    environment:\n      X: "{inner}"\n')
    out, err, code = run(root, "doctor", "--no-engine", "--no-docs")
    clean(out, err, code)
    assert code == 3 and "nesting is deeper than 64 levels" in err, err
    assert "compose.yaml:5" in err, err
    record.note(f"exit 3: {said(err, root)}")


def test_yaml_nesting_limit_names_the_file(tmp_path, record):
    record.case("untrusted repository: expansion", "YAML nested 600 levels (limit 500)")
    deep = "".join("  " * i + f"k{i}:\n" for i in range(600)) + "  " * 600 + "v: 1\n"
    root = project(tmp_path / "repo", BASE + deep)
    out, err, code = run(root, "doctor", "--no-engine", "--no-docs")
    clean(out, err, code)
    assert code == 3 and "YAML nesting is deeper than 500" in err, err
    assert re.search(r"compose\.yaml:\d+", err), err
    record.note(f"exit 3: {said(err, root)}")


# --- case 9: no escape sequence from the repository reaches the terminal ------------------------

ESC_YAML = r"\e]0;PWNED\a\e[2J\x9b31m"
"""Written inside double-quoted YAML: an OSC title, a clear-screen CSI and an 8-bit CSI."""
ESC_RAW = "\x1b]0;PWNED\x07\x1b[2J\x9b31m"

HOSTILE = (f'services:\n  "web{ESC_YAML}":\n    image: busybox\n    secrets: ["db{ESC_YAML}"]\n'
           f'secrets:\n  "db{ESC_YAML}":\n    file: ./missing.txt\n')


def _no_escapes(out: str, err: str, code: int) -> None:
    clean(out, err, code)
    for text in (out, err):
        assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text


@pytest.mark.parametrize("case", ["secrets list", "secrets list --json", "secrets set: known",
                                  "${X:?message}", "doctor report", "doctor --json", "include: path",
                                  "manifest mode file name", "fix plan"])
def test_printers_never_pass_escape_sequences(tmp_path, record, case):
    record.case("untrusted repository: escape sequences on the terminal", case)
    root = project(tmp_path / "repo", HOSTILE)
    store = ["--store", "session"]
    if case == "secrets list":
        out, err, code = run(root, "secrets", "list", *store)
        assert "used by web ~" in out, out  # cleaned, and marked as not the literal name
    elif case == "secrets list --json":
        out, err, code = run(root, "secrets", "list", *store, "--json")
        assert json.loads(out)["secrets"][0]["name"] == "db" + ESC_RAW
    elif case == "secrets set: known":
        out, err, code = run(root, "secrets", "set", "nope", *store)
        assert "known: db" in err, err
    elif case == "${X:?message}":
        (root / "compose.yaml").write_text(BASE + f'    environment:\n      X: "${{X:?set it {ESC_YAML} now}}"\n')
        out, err, code = run(root, "doctor", "--no-engine")
        assert "set it" in err and code == 3, err
    elif case in ("doctor report", "doctor --json"):
        named = root / f"c{ESC_RAW}.yaml"
        named.write_text(HOSTILE)
        extra = ["--json"] if case == "doctor --json" else []
        for color in ({"NO_COLOR": "1"},):
            out, err, code = run(root, "-f", named.name, "doctor", "--no-engine", *extra,
                                 env={**os.environ, **color})
        assert code == 1, (out, err)
        if not extra:
            assert "files: c" in out and "(c" in out, out  # the files: line and a location
    elif case == "include: path":
        (root / "compose.yaml").write_text(f'include:\n  - "inc{ESC_YAML}.yaml"\n' + BASE)
        out, err, code = run(root, "doctor", "--no-engine")
        assert code == 3 and "included file" in err, err
    elif case == "manifest mode file name":
        (root / f"m{ESC_RAW}.yaml").write_text(BASE)
        (root / ".toolbox-tui.yml").write_text(f'modes:\n  dev: ["m{ESC_YAML}.yaml", "gone{ESC_YAML}.yaml"]\n')
        out, err, code = run(root, "doctor", "--no-engine")
        assert code == 3 and "gone" in err, err
        (root / ".toolbox-tui.yml").write_text(f'modes:\n  dev: ["m{ESC_YAML}.yaml"]\n')
        out2, err2, code2 = run(root, "doctor", "--no-engine")
        _no_escapes(out2, err2, code2)
        assert "files: m" in out2, out2
    else:  # fix plan
        out, err, code = run(root, "fix")
    _no_escapes(out, err, code)
    record.note(f"exit {code}, no ESC/C1/BEL on stdout or stderr")


def test_doctor_colours_are_the_only_escapes(tmp_path, record):
    record.case("untrusted repository: escape sequences on the terminal", "doctor with FORCE_COLOR")
    root = project(tmp_path / "repo", HOSTILE)
    env = {**os.environ, "FORCE_COLOR": "1"}
    env.pop("NO_COLOR", None)
    proc = subprocess.run([EXE, "doctor", "--no-engine"], cwd=root, capture_output=True,
                          timeout=TIMEOUT, env=env)
    out = proc.stdout.decode()
    assert "\x1b[31m" in out, out  # colour is on
    rest = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert "\x1b" not in rest and "\x9b" not in rest and "\x07" not in rest, repr(rest[:400])
    record.note("only SGR colour sequences in the report")


# --- case 10: the URL message does not quote the value ------------------------------------------

def test_url_validation_does_not_quote_the_scheme(tmp_path, record):
    record.case("untrusted repository: messages", "secrets set postgres_url with the secret as scheme")
    root = project(tmp_path / "repo", BASE + "    secrets: [postgres_url]\nsecrets:\n  postgres_url:\n"
                                             "    file: ./url.txt\n")
    canary = "hunter2canary"
    out, err, code = run(root, "secrets", "set", "postgres_url", "--store", "session",
                         stdin=f"{canary}://user:pw@db:5432/app\n".encode())
    clean(out, err, code)
    assert code == 1 and "must use scheme postgres" in err, err
    assert canary not in out and canary not in err
    record.note(f"exit 1, value not quoted: {said(err, root)}")
