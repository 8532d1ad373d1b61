"""Containers that die in the ways real stacks die, on the real engine: OOM-killed, restart loop,
removed by hand. `toolbox-tui up` and `verify` must name the cause per service, without a traceback.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from .invariants import problems, run_exe


def _stack(image: str) -> dict:
    hc = {"test": ["CMD", "sh", "-c", "test -f /tmp/ok"], "interval": "1s", "timeout": "1s",
          "retries": 30, "start_period": "1s"}
    return {"services": {
        "hog": {"image": image, "mem_limit": "8m", "memswap_limit": "8m",
                "command": ["sh", "-c", "x=a; while true; do x=$$x$$x; done"]},
        "looper": {"image": image, "restart": "always",
                   "command": ["sh", "-c", "echo crashing; sleep 0.3; exit 3"]},
        "steady": {"image": image, "init": True, "healthcheck": hc,
                   "command": ["sh", "-c", "touch /tmp/ok; sleep 3600"]},
    }}


@pytest.mark.slow
@pytest.mark.engine
def test_oom_restart_loop_and_removed_container(tmp_path, docker_client, test_image, compose_ready,
                                                project_name, cleanup_project, record):
    full = _stack(test_image)["services"]

    def write(*names: str) -> None:
        (tmp_path / "compose.yaml").write_text(yaml.safe_dump({"services": {n: full[n] for n in names}}))

    write("hog", "steady")
    cleanup_project(project_name, files=[tmp_path / "compose.yaml"], project_dir=tmp_path)
    args = ["-p", project_name]

    record.case("container faults (real engine)", "OOM-killed service diagnosed by `up`")
    out, err, code = run_exe([*args, "up", "--timeout", "25"], tmp_path, timeout=120)
    assert not problems(out, err, code), (out[-600:], err[-600:])
    assert code == 1, (out[-600:], err[-600:])
    text = (out + err).lower()
    hog = [ln for ln in text.splitlines() if ln.lstrip().startswith("hog")]
    assert any("oom" in ln or "out of memory" in ln for ln in hog), text[-1500:]
    record.note(f"exit {code}; hog: OOM named")

    record.case("container faults (real engine)", "restart loop diagnosed by `up`")
    write("looper", "steady")  # `up` stops at the first failure: one failing service per run
    out, err, code = run_exe([*args, "up", "--timeout", "25"], tmp_path, timeout=120)
    assert not problems(out, err, code), (out[-600:], err[-600:])
    assert code == 1, (out[-600:], err[-600:])
    text = (out + err).lower()
    looper = [ln for ln in text.splitlines() if ln.lstrip().startswith("looper")]
    assert any("restart loop" in ln for ln in looper), text[-1500:]
    record.note("looper: restart loop named")

    record.case("container faults (real engine)", "container removed by hand, then `verify`")
    subprocess.run(["docker", "rm", "-f", f"{project_name}-steady-1"], capture_output=True, check=True)
    out, err, code = run_exe([*args, "verify"], tmp_path, timeout=120)
    assert not problems(out, err, code), (out[-600:], err[-600:])
    assert code == 1, (out, err)
    assert "steady" in out + err and ("missing" in (out + err).lower() or "no container" in (out + err).lower()
                                      or "not running" in (out + err).lower()), out + err
    record.note(f"verify exit {code}: steady reported missing")

    record.case("container faults (real engine)", "project recreated with `up --force` after removal")
    write("steady")
    out, err, code = run_exe([*args, "up", "--timeout", "40"], tmp_path, timeout=120)
    assert not problems(out, err, code), (out[-600:], err[-600:])
    assert code == 0, (out[-1000:], err[-1000:])
    record.note("steady healthy again, orphans removed")
