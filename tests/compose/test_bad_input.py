"""Bad input never produces a traceback: a clear message naming the place, and exit 3."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.machine import REPO_ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolbox_tui.compose.env_files import env_file_problems, read_env_file
from toolbox_tui.compose.project import ProjectOptions, load_stack
from toolbox_tui.compose.yaml_source import LoadError


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("toolbox-tui", path=os.path.dirname(sys.executable)) or "toolbox-tui"
    return subprocess.run([exe, "doctor", "--no-engine", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def assert_clean_error(proc: subprocess.CompletedProcess, *needles: str, code: int = 3) -> None:
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    for n in needles:
        assert n in proc.stderr, proc.stderr


def test_malformed_yaml_names_line_column_and_shows_line(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: [busybox\n    ports: 1\n")
    proc = run(tmp_path)
    assert_clean_error(proc, "compose.yaml:", "invalid YAML", "|")


@pytest.mark.parametrize("text,needle", [("- a\n- b\n", "is a list"), ("just text\n", "not a Compose mapping"),
                                         ("services: [a]\n", "must be a mapping")])
def test_wrong_shapes(tmp_path, text, needle):
    (tmp_path / "compose.yaml").write_text(text)
    assert_clean_error(run(tmp_path), needle)


def test_unknown_key_with_suggestion(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: busybox\n    volume: [x]\n")
    assert_clean_error(run(tmp_path), "compose.yaml:4:5", "unknown key 'volume'", "'volumes'")


def test_not_utf8(tmp_path):
    (tmp_path / "compose.yaml").write_bytes(b"services:\n  a:\n    image: caf\xe9\n")
    assert_clean_error(run(tmp_path), "not valid UTF-8", "compose.yaml:3")


def test_huge_file_refused_quickly(tmp_path):
    with open(tmp_path / "compose.yaml", "wb") as f:
        f.write(b"services:\n" + b"# padding\n" * (5 * 1024 * 1024))  # 50 MB
    assert_clean_error(run(tmp_path), "refusing files over")


def test_missing_and_directory_dash_f(tmp_path):
    assert_clean_error(run(tmp_path, "-f", "nope.yml"), "nope.yml does not exist")
    (tmp_path / "dir.yml").mkdir()
    assert_clean_error(run(tmp_path, "-f", "dir.yml"), "not a regular file")


def test_billion_laughs(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    (tmp_path / "compose.yaml").write_text("x-lol:\n" + "\n".join("  " + ln for ln in lines)
                                           + "\nservices:\n  a:\n    image: busybox\n")
    assert_clean_error(run(tmp_path), "billion laughs")


def test_unreadable_file_as_other_user(tmp_path):
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        pytest.skip("needs root and setpriv to act as another user")
    f = tmp_path / "compose.yaml"
    f.write_text("services:\n  a:\n    image: busybox\n")
    f.chmod(0o600)
    tmp_path.chmod(0o755)
    code = ("import sys; from toolbox_tui.cli.main import main; sys.exit(main(['doctor','--no-engine','-f',"
            f"{str(f)!r}]))")
    proc = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                           "-c", code], capture_output=True, text=True, cwd="/",
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert_clean_error(proc, "permission denied")


def test_env_file_garbage_is_a_finding_not_a_crash(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: ${IMG:-busybox}\n")
    (tmp_path / ".env").write_bytes(b"GOOD=1\nthis is not a line\n\x01\x02=3\nexport OK=2\n")
    proc = run(tmp_path, "--json")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "could not parse" not in proc.stderr  # python-dotenv's own warnings are not leaked
    assert '"env.syntax.' in proc.stdout and '"line": 2' in proc.stdout


def test_usage_error_exit_2(tmp_path):
    exe = shutil.which("toolbox-tui", path=os.path.dirname(sys.executable)) or "toolbox-tui"
    proc = subprocess.run([exe, "doctor", "--mode", "staging"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


# -- fuzzing the loaders ------------------------------------------------------------------------

yaml_chars = st.sampled_from(list("abc:-[]{}&*!|>'\"#%@`,? \n\t$\\0123456789") + ["<<", "\u00e9", "\x00"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(yaml_chars, max_size=120).map("".join))
def test_fuzz_compose_loading_only_raises_load_error(tmp_path, text):
    f = tmp_path / "compose.yaml"
    f.write_text("services:\n  a:\n    image: x\n" + text, encoding="utf-8", errors="surrogatepass")
    try:
        load_stack(ProjectOptions(cwd=str(tmp_path)), environ={})
    except LoadError as exc:
        assert str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_fuzz_env_file(tmp_path, data):
    f = tmp_path / ".env"
    f.write_bytes(data)
    try:
        read_env_file(f)
    except LoadError:
        pass
    env_file_problems(f)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=20))
def test_fuzz_structures_under_services(tmp_path, value):
    import yaml

    f = tmp_path / "compose.yaml"
    f.write_text(yaml.safe_dump({"services": {"a": {"image": "x", "volumes": value, "ports": value,
                                                       "build": value, "env_file": value}}}))
    try:
        s = load_stack(ProjectOptions(cwd=str(tmp_path)), environ={})
        s.path_refs()
        s.published_ports()
    except LoadError:
        pass
