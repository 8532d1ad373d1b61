"""Packaging: the engine stays free of Textual, and the wheel holds exactly the `toolbox_tui` tree.

Import checks run each module in a fresh interpreter (harlequin's approach): importing any headless
module must not pull `textual` into `sys.modules`. The wheel is built from a copy of the work tree
with `pip wheel --no-deps`, so nothing is written into the checkout.
"""

from __future__ import annotations

import ast
import email.parser
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("packaging")
"""One worker: the wheel is built once (a module fixture), not once per worker."""

REPO = Path(__file__).resolve().parent.parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


ENGINE_MODULES = sorted(
    _module_name(p) for p in (REPO / "toolbox_tui").rglob("*.py")
    if p.stem != "__main__"  # runs the CLI on import
)
"""Every engine module, in every subpackage: a new folder cannot escape the no-Textual check."""
ENGINE_PACKAGES = sorted(_module_name(p) for p in (REPO / "toolbox_tui").rglob("__init__.py"))
RUNTIME_DEPENDENCIES = {"textual", "docker", "pyyaml", "python-dotenv", "keyring", "httpx", "cryptography",
                        "tomli"}
"""The card's dependencies. Adding one means giving the reason in the README (docs/setup.md)."""

NO_TEXTUAL = """
import importlib, json, sys, traceback
result = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except BaseException:
        result[name] = "import failed: " + traceback.format_exc(limit=3)
        continue
    loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
    result[name] = ("loaded " + ", ".join(loaded[:5])) if loaded else ""
    if loaded:
        break  # every later module would be blamed for this one
print(json.dumps(result))
"""
"""Imports the modules one after another in one fresh interpreter and looks for Textual after
each: the first module that brings it in is the one named (the ones before it did not)."""


def run_py(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_engine_modules_were_found() -> None:
    assert "toolbox_tui.cli.main" in ENGINE_MODULES and "toolbox_tui.findings" in ENGINE_MODULES
    assert "toolbox_tui.compose.model" in ENGINE_MODULES and "toolbox_tui.compose" in ENGINE_MODULES


def test_every_package_is_listed_for_the_wheel() -> None:
    """A folder missing from pyproject's `packages` would be left out of the installed command."""
    import re

    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    listed = set(re.findall(r'"(toolbox_tui[\w.]*)"', text.split("packages = [", 1)[1].split("]", 1)[0]))
    faces = {"toolbox_tui.screens" + _module_name(p)[len("screens"):]
             for p in (REPO / "screens").rglob("__init__.py")} | {"toolbox_tui.styles"}
    assert listed == set(ENGINE_PACKAGES) | faces, sorted(listed ^ (set(ENGINE_PACKAGES) | faces))


@pytest.fixture(scope="module")
def engine_imports() -> dict[str, str]:
    """module -> "" when importing it (after the ones before) left Textual out, else why not."""
    proc = run_py("-c", NO_TEXTUAL, *ENGINE_MODULES, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_engine_module_imports_without_textual(module: str, engine_imports: dict[str, str]) -> None:
    assert module in engine_imports, "an earlier module already loaded textual (see its failure)"
    assert engine_imports[module] == "", f"importing {module}: {engine_imports[module]}"


@pytest.mark.parametrize("argv", [["--help"], ["doctor", "--help"]])
def test_headless_cli_help_does_not_load_textual(argv: list[str]) -> None:
    code = ("import sys\nfrom toolbox_tui.cli.main import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
            "sys.exit(1 if bad else 0)\n")
    proc = run_py("-c", code, *argv)
    assert proc.returncode == 0, f"toolbox-tui {' '.join(argv)} loaded textual:\n{proc.stderr}"


@pytest.mark.parametrize("path", sorted(
    str(p.relative_to(REPO)) for d in ("toolbox_tui", "screens", "styles") for p in (REPO / d).rglob("*.py")))
def test_source_parses_as_python_3_10(path: str) -> None:
    """requires-python is >=3.10: no 3.11+ syntax (except*, PEP 695...) and no 3.11-only stdlib."""
    src = (REPO / path).read_text(encoding="utf-8")
    ast.parse(src, filename=path, feature_version=(3, 10))
    tree = ast.parse(src)
    modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    names = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
             for a in n.names}
    too_new = {"tomllib", "wsgiref.types"} & modules
    too_new |= {f"{m}.{a}" for m, a in names & {("typing", "Self"), ("typing", "LiteralString"),
                                                 ("typing", "Never"), ("enum", "StrEnum"),
                                                 ("datetime", "UTC"), ("typing", "assert_never")}}
    assert not too_new, f"{path} uses Python 3.11+ only: {sorted(too_new)}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the current work tree."""
    src = tmp_path_factory.mktemp("src") / "toolbox-tui"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
        ".hypothesis", "examples", "benchmarks", "tests", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir",
                           "--disable-pip-version-check", "-q", "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"pip wheel failed:\n{proc.stdout}\n{proc.stderr}"
    wheels = list(out.glob("toolbox_tui-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_holds_only_the_toolbox_tui_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names}
    dist_info = {t for t in top if t.endswith(".dist-info")}
    assert len(dist_info) == 1 and top - dist_info == {"toolbox_tui"}, sorted(top)
    assert "toolbox_tui/cli/main.py" in names
    assert "toolbox_tui/compose/model.py" in names
    assert "toolbox_tui/screens/__init__.py" in names
    assert "toolbox_tui/styles/__init__.py" in names
    assert any(n.startswith("toolbox_tui/screens/") and n.endswith(".py")
               and not n.endswith("__init__.py") for n in names), "no screen modules in the wheel"
    assert not [n for n in names if "/tests/" in n or n.endswith(".pyc")]


def test_wheel_ships_the_stylesheets(wheel: Path) -> None:
    shipped = {n.rsplit("/", 1)[1] for n in zipfile.ZipFile(wheel).namelist()
               if n.startswith("toolbox_tui/styles/") and n.endswith(".tcss")}
    in_tree = {p.name for p in (REPO / "styles").glob("*.tcss")}
    assert in_tree, "styles/ has no .tcss stylesheet yet"
    assert shipped == in_tree, f"missing from the wheel: {sorted(in_tree - shipped)}"


def test_wheel_metadata(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        info = next(n.split("/")[0] for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        entry_points = zf.read(f"{info}/entry_points.txt").decode()
        meta = email.parser.Parser().parsestr(zf.read(f"{info}/METADATA").decode())
    assert "[console_scripts]" in entry_points
    assert "toolbox-tui = toolbox_tui.cli.entry:entry" in entry_points
    assert meta["Requires-Python"] == ">=3.10"
    runtime = {r.split(";")[0].split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
               for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r}
    assert runtime == RUNTIME_DEPENDENCIES, (
        f"runtime dependencies changed: {sorted(runtime ^ RUNTIME_DEPENDENCIES)}; "
        "give the reason in docs/setup.md and update this list")


def test_editable_install_maps_faces_into_the_namespace() -> None:
    code = ("import importlib.util, importlib.resources as r\n"
            "for name in ('toolbox_tui.screens', 'toolbox_tui.styles'):\n"
            "    spec = importlib.util.find_spec(name)\n"
            "    print(spec.submodule_search_locations[0])\n")
    proc = run_py("-c", code)
    assert proc.returncode == 0, proc.stderr
    screens, styles = (Path(p).resolve() for p in proc.stdout.split())
    assert screens == REPO / "screens" and styles == REPO / "styles"
