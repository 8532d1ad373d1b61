"""The layering written in pyproject.toml (`[tool.importlinter]`) holds: the engine never imports
Textual or the faces, and no folder imports one above it.

`lint-imports` reads a package from one directory, while the checkout keeps the faces beside the
engine (`screens/` and `styles/` are installed inside `toolbox_tui`), so the package is laid out
as the wheel has it in a temporary directory first. A second test plants a forbidden import in
such a copy and checks the contracts catch it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers.machine import REPO_ROOT


def _installed_layout(dest: Path) -> Path:
    pkg = dest / "toolbox_tui"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO_ROOT / "toolbox_tui", pkg, ignore=ignore)
    shutil.copytree(REPO_ROOT / "screens", pkg / "screens", ignore=ignore)
    shutil.copytree(REPO_ROOT / "styles", pkg / "styles", ignore=ignore)
    return dest


def _lint(view: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    assert exe.exists(), "import-linter is not installed (pip install '.[test]')"
    return subprocess.run([str(exe), "--no-cache", str(REPO_ROOT / "pyproject.toml")], cwd=view,
                          env={"PYTHONPATH": str(view), "PATH": "/usr/bin:/bin"}, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_the_contracts_hold(tmp_path: Path) -> None:
    proc = _lint(_installed_layout(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 kept, 0 broken" in proc.stdout, proc.stdout[-2000:]


def test_a_forbidden_import_breaks_them(tmp_path: Path) -> None:
    view = _installed_layout(tmp_path)
    (view / "toolbox_tui" / "compose" / "planted.py").write_text(
        "import textual.app  # the stack model must not know a face\n"
        "from toolbox_tui.lifecycle import up  # nor a folder above it\n")
    proc = _lint(view)
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert "toolbox_tui.compose.planted -> textual" in proc.stdout.replace("\n", " ") or \
        "planted" in proc.stdout, proc.stdout[-3000:]
    assert "0 kept, 2 broken" in proc.stdout, proc.stdout[-2000:]
