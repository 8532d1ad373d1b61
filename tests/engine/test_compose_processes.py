"""No Compose outlives the run that started it. The docker CLI runs Compose as a child process (a
CLI plugin); killing only the CLI left the plugin running: a discarded `config` prefetch of a
billion-laughs file (refused by our loader) grew to 24 GB on a CI machine after its doctor was
gone. Real docker CLI and Compose plugin; no engine needed for `config`."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.helpers.waiting import wait_until
from toolbox_tui.engine import compose_cli

pytestmark = pytest.mark.engine


def _laughs(root: Path) -> Path:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    f = root / "compose.yaml"
    f.write_text("x-lol:\n" + "\n".join("  " + ln for ln in lines)
                 + "\nservices:\n  a:\n    image: busybox\n")
    return f


def _composes_for(marker: str) -> dict[int, str]:
    """pid -> command line of live processes (not zombies) whose command line names `marker`."""
    found = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmd and state != "Z" and d.name != str(os.getpid()):
            found[int(d.name)] = cmd
    return found


def _plugin_running(marker: str) -> bool:
    return wait_until(lambda: any("cli-plugins" in cmd for cmd in _composes_for(marker).values()), 20)


def _gone(marker: str) -> dict[int, str]:
    wait_until(lambda: not _composes_for(marker), 10)
    return _composes_for(marker)


def test_a_discarded_prefetch_stops_the_compose_plugin_too(tmp_path, compose_ready) -> None:
    f = _laughs(tmp_path)
    args = ["--project-directory", str(tmp_path), "-p", "tbxtest-laughs", "-f", str(f)]
    early = compose_cli.prefetch_config(args)
    try:
        assert _plugin_running(str(f)), "Compose's plugin process never started"
    finally:
        early.discard()
    assert _gone(str(f)) == {}, "a Compose process outlived the discarded prefetch"


def test_a_timed_out_run_stops_the_compose_plugin_too(tmp_path, compose_ready) -> None:
    f = _laughs(tmp_path)
    t0 = time.monotonic()
    with pytest.raises(compose_cli.ComposeError) as err:
        compose_cli.run(["--project-directory", str(tmp_path), "-p", "tbxtest-laughs", "-f", str(f),
                         "config", "--format", "json"], timeout=1.5)
    assert err.value.returncode == 124 and "did not finish within 2 s" in err.value.message
    assert time.monotonic() - t0 < 15
    assert _gone(str(f)) == {}, "a Compose process outlived the run's timeout"
