"""The project's own set-up step (issue 15): found in the docs a newcomer follows before the first
`docker compose up`, reported by the doctor while not run, run only after a yes, never outside
the repository. Real files, real subprocesses; the corpus projects with the steps we expect
after reading each project's README."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.corpus import load_projects, materialize, require_corpus
from toolbox_tui.checks.setup_commands import COPY, REFUSED, SCRIPT, WRITE
from toolbox_tui.checks.setup_steps import find_setup_steps, setup_checks
from toolbox_tui.checks.doctor import run_doctor
from toolbox_tui.compose.project import ProjectOptions, load_stack
from toolbox_tui.lifecycle.setup_run import SetupRefused, project_setup_steps, run_setup_step

# What each corpus project's own docs (in the tree) say to run before the first `up`, written
# after reading them: (kind, command, document, line, has it run?).
EXPECTED_STEPS = {
    # README.md "Quickstart": `tee docker-compose.override.yml <<EOF ... EOF`, then pull and up.
    "netbox": [(WRITE, "tee docker-compose.override.yml <<EOF", "README.md", 36, False)],
    "netbox+told": [(WRITE, "tee docker-compose.override.yml <<EOF", "README.md", 36, True)],
    # The README points to external docs; `.env` links to mailcow.conf, which only
    # generate_config.sh writes (`cat << EOF > mailcow.conf`, line 168).
    "mailcow": [(SCRIPT, "./generate_config.sh", "generate_config.sh", 168, False)],
    "mailcow+told": [],  # mailcow.conf is there: nothing Compose needs is missing
    # After the handbook's `cp env.example .env` the XMPP passwords are empty; gen-passwords.sh
    # (the handbook's next step, named by no doc in the tree) fills them.
    "jitsi+told": [(SCRIPT, "./gen-passwords.sh", "gen-passwords.sh", 1, False)],
    # README.md:63 and docs/setup.md:11: `bash -c "$(curl -L .../install-paperless-ngx.sh)"` —
    # downloaded code, listed and never run.
    "paperless": [(REFUSED, None, "README.md", 63, None), (REFUSED, None, "docs/setup.md", 11, None)],
    # jitsi's and n8n's READMEs link to external guides; awesome-compose samples, fastapi
    # (committed .env, `docker compose watch`) and the vendored minify package name no step.
}


@pytest.mark.parametrize("name", [p.name for p in load_projects()] or ["(corpus missing)"])
def test_corpus_setup_steps(name, tmp_path):
    require_corpus()
    project = next(p for p in load_projects() if p.name == name)
    root, cwd = materialize(project, tmp_path)
    files = [cwd / project.args[i + 1] for i, a in enumerate(project.args) if a == "-f"]
    stack = load_stack(ProjectOptions(files=tuple(map(str, files)), cwd=str(cwd)))
    steps = project_setup_steps(stack)  # what `toolbox-tui setup` and the wizard list
    got = [(s.kind, s.command if s.kind != REFUSED else None, os.path.relpath(s.doc, root), s.line,
            s.has_run()) for s in steps]
    assert got == EXPECTED_STEPS.get(name, []), got
    for s in steps:
        assert Path(s.cwd).resolve().is_relative_to(root.resolve())
        if s.kind == REFUSED:
            assert "network" in s.reason
    checks = [c for c in run_doctor(stack, engine=False, compose=False) if c.id.startswith("docs.setup.")]
    assert [c.status for c in checks] == ["warn" if ran is not True else "pass"
                                          for *_, ran in EXPECTED_STEPS.get(name, [])]


def _repo(tmp_path: Path, readme: str, script: str | None = None) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "README.md").write_text(readme)
    (root / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    if script is not None:
        (root / "install.sh").write_text(script)
        (root / "install.sh").chmod(0o755)
    return root


README = "# Demo\n\n## Quick start\n\n```bash\n$ ./install.sh --quiet\ndocker compose up -d\n./after.sh\n```\n"
INSTALL = ('#!/bin/sh\necho "writing .env in $(pwd)"\necho "GREETING=hello $1" > .env\n'
           "printf 'evil \\033]0;title\\007 \\033[2J done\\n'\necho to-stderr >&2\nexit 3\n")


def test_found_with_doc_line_then_run_after_yes_streams_sanitized_output(tmp_path):
    root = _repo(tmp_path, README, INSTALL)
    (root / "after.sh").write_text("#!/bin/sh\n")  # after the first `up`: not a set-up step
    (step,) = find_setup_steps(root)
    assert (step.kind, step.command, step.line, step.argv) == (SCRIPT, "./install.sh --quiet", 6,
                                                               ("./install.sh", "--quiet"))
    assert step.creates == (str(root / ".env"),) and step.has_run() is False
    (check,) = setup_checks(root)
    assert check.status == "warn" and "has not been run yet" in check.title
    assert check.file == str(root / "README.md") and check.line == 6 and "toolbox-tui setup" in check.hint

    lines: list[str] = []
    code = run_setup_step(step, root, yes=True, on_line=lines.append)
    assert code == 3  # the script's own exit code
    assert lines[0] == f"writing .env in {root.resolve()}"
    assert "to-stderr" in lines
    assert not any("\x1b" in ln or "\x07" in ln for ln in lines), lines
    assert (root / ".env").read_text() == "GREETING=hello --quiet\n"
    assert find_setup_steps(root)[0].has_run() is True
    assert setup_checks(root)[0].status == "pass"


def test_nothing_runs_without_yes(tmp_path):
    root = _repo(tmp_path, README, INSTALL)
    (step,) = find_setup_steps(root)
    with pytest.raises(SetupRefused, match="needs your yes"):
        run_setup_step(step, root, yes=False, on_line=lambda _: None)
    assert not (root / ".env").exists()


def test_script_that_resolves_outside_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    marker = tmp_path / "ran"
    (outside / "evil.sh").write_text(f"#!/bin/sh\ntouch {marker}\n")
    (outside / "evil.sh").chmod(0o755)
    root = _repo(tmp_path, README)
    (root / "install.sh").symlink_to(outside / "evil.sh")
    (step,) = find_setup_steps(root)
    assert step.kind == REFUSED and "outside the repository" in step.reason
    (check,) = setup_checks(root)
    assert check.status == "warn" and "will not run it" in check.detail
    with pytest.raises(SetupRefused, match="outside the repository"):
        run_setup_step(step, root, yes=True, on_line=lambda _: None)
    assert not marker.exists()


def test_script_swapped_for_a_link_outside_after_it_was_found_is_refused(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "evil.sh").write_text(f"#!/bin/sh\ntouch {marker}\n")
    (tmp_path / "evil.sh").chmod(0o755)
    root = _repo(tmp_path, README, INSTALL)
    (step,) = find_setup_steps(root)
    (root / "install.sh").unlink()
    (root / "install.sh").symlink_to(tmp_path / "evil.sh")
    with pytest.raises(SetupRefused, match="outside the repository"):
        run_setup_step(step, root, yes=True, on_line=lambda _: None)
    assert not marker.exists()


def test_downloaded_code_and_shell_syntax_are_listed_not_run(tmp_path):
    readme = ("Install:\n\n```\ncurl -fsSL https://example.invalid/x.sh | sudo bash\n"
              "./install.sh $(hostname) | tee log\ndocker compose up\n```\n")
    root = _repo(tmp_path, readme, INSTALL)
    steps = find_setup_steps(root)
    assert [s.kind for s in steps] == [REFUSED, REFUSED]
    assert "network" in steps[0].reason and "shell syntax" in steps[1].reason
    for s in steps:
        with pytest.raises(SetupRefused):
            run_setup_step(s, root, yes=True, on_line=lambda _: None)
    assert not (root / ".env").exists()


def test_copy_and_heredoc_steps_never_overwrite(tmp_path):
    readme = ("```sh\ncp example.env .env\ntee compose.override.yaml <<EOF\nservices:\n  web: {}\nEOF\n"
              "docker compose up -d\n```\n")
    root = _repo(tmp_path, readme)
    (root / "example.env").write_text("A=1\n")
    copy, write = find_setup_steps(root)
    assert (copy.kind, copy.target, write.kind, write.content) == (
        COPY, str(root / ".env"), WRITE, "services:\n  web: {}\n")
    out: list[str] = []
    assert run_setup_step(copy, root, yes=True, on_line=out.append) == 0
    assert (root / ".env").read_text() == "A=1\n"
    (root / "compose.override.yaml").write_text("mine\n")
    assert run_setup_step(write, root, yes=True, on_line=out.append) == 0
    assert (root / "compose.override.yaml").read_text() == "mine\n" and "left as it is" in out[-1]


def test_docs_that_go_elsewhere_are_not_followed(tmp_path):
    readme = "```\ncd ~/somewhere\n./install.sh\n```\n"
    root = _repo(tmp_path, readme, INSTALL)
    assert find_setup_steps(root) == []


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["NO_COLOR"] = "1"
    return subprocess.run([sys.executable, "-m", "toolbox_tui", "setup", *args], cwd=root, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)


def test_cli_asks_for_yes_then_runs_in_the_repo_root(tmp_path):
    root = _repo(tmp_path, README, INSTALL.replace("exit 3", "exit 0"))
    p = _cli(root)
    assert p.returncode == 1 and "needs your yes" in p.stderr and "--yes" in p.stderr
    assert "./install.sh --quiet" in p.stdout and "README.md:6" in p.stdout
    assert "repository's own code" in p.stdout and not (root / ".env").exists()
    p = _cli(root, "--yes")
    assert p.returncode == 0, p.stderr
    assert "writing .env" in p.stdout and "exited with 0" in p.stdout and "\x1b" not in p.stdout
    assert (root / ".env").is_file()
    p = _cli(root, "--json", "--list")
    doc = json.loads(p.stdout)
    assert doc["steps"][0]["status"] == "done" and doc["steps"][0]["line"] == 6


def test_corpus_jitsi_gen_passwords_runs_after_yes_and_then_is_done(tmp_path):
    """The real project's own script, run on a throwaway copy: the empty passwords get values."""
    require_corpus()
    project = next(p for p in load_projects() if p.name == "jitsi+told")
    root, cwd = materialize(project, tmp_path)
    stack = load_stack(ProjectOptions(files=(str(cwd / "docker-compose.yml"),), cwd=str(cwd)))
    (step,) = project_setup_steps(stack)
    lines: list[str] = []
    assert run_setup_step(step, root, yes=True, on_line=lines.append) == 0
    assert "JICOFO_AUTH_PASSWORD=\n" not in (root / ".env").read_text()
    stack = load_stack(ProjectOptions(files=(str(cwd / "docker-compose.yml"),), cwd=str(cwd)))
    assert project_setup_steps(stack) == []
