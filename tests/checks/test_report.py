"""The default human report fits a screen on a large repository: every failure, warnings grouped
per kind (`-v` lists them all), `--json` unchanged in shape with every finding. Runs the
installed command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def doctor(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["NO_COLOR"] = "1"
    return subprocess.run([sys.executable, "-m", "toolbox_tui", "doctor", "--no-engine", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


def big_repo(root: Path) -> None:
    (root / ".git").mkdir()
    vols = "".join(f"      - ./conf/missing{i}.conf:/etc/app/{i}.conf\n" for i in range(5))
    vols += "".join(f"      - ./data/d{i}:/data/{i}\n" for i in range(12))
    (root / "compose.yaml").write_text(f"services:\n  app:\n    image: busybox\n    volumes:\n{vols}")
    (root / "docs").mkdir()
    for n in range(20):
        (root / "docs" / f"setup-{n}.md").write_text(
            "".join(f"Run `./scripts/step{n}_{k}.sh` first.\n" for k in range(10)))
    (root / "Archive").mkdir()
    for n in range(50):
        (root / "Archive" / f"old-{n}.md").write_text("Run ./scripts/ancient.sh\n" * 20)


def test_default_report_fits_a_screen(tmp_path: Path) -> None:
    big_repo(tmp_path)
    proc = doctor(tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) <= 45, proc.stdout
    for i in range(5):
        assert f"missing{i}.conf" in proc.stdout  # every failure
    assert "200 references to missing files in 20 file(s) — `-v` lists them" in proc.stdout
    assert "12 bind mount sources that do not exist" in proc.stdout
    assert "Archive" not in proc.stdout  # archives are not what a newcomer follows

    verbose = doctor(tmp_path, "-v")
    assert verbose.stdout.count("refers to ./scripts/step") == 200

    doc = json.loads(doctor(tmp_path, "--json").stdout)
    assert set(doc) == {"version", "project", "checks", "summary"}
    assert set(doc["checks"][0]) == {"id", "area", "severity", "status", "title", "detail", "hint",
                                     "file", "line", "column", "service", "path", "candidates",
                                     "data"}
    assert sum(c["id"].startswith("docs.missing.") for c in doc["checks"]) == 200
    assert doc["summary"]["fail"] == 5
