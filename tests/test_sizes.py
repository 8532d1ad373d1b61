"""Modules stay under 400 lines and functions under 80 (README, "Size:"), except the few the
README names with the one thing each of them says.

The allow-list below and the README paragraph must agree: an exception nobody wrote down, or one
written down that no longer exists, fails here, so the map and the code cannot drift apart.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.helpers.machine import REPO_ROOT

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80

MODULES = {"engine/client.py": 430}
"""Module (relative to the package) -> the most lines it may have."""
FUNCTIONS = {"HealthWaiter.run": 87, "rotate.rotate_swarm": 91}
"""`Class.method` or `module.function` -> the most lines it may have."""

ROOTS = (REPO_ROOT / "toolbox_tui", REPO_ROOT / "screens")


def _sources() -> list[tuple[str, Path]]:
    out = []
    for root in ROOTS:
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            out.append(("screens/" + rel if root.name == "screens" else rel, path))
    return out


def _functions(tree: ast.AST, module: str):
    """(qualified name, lines) of every function and method; nested ones count in their parent."""
    for node in tree.body:  # type: ignore[attr-defined]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield f"{module}.{node.name}", node.end_lineno - node.lineno + 1
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{node.name}.{item.name}", item.end_lineno - item.lineno + 1


def test_modules_and_functions_stay_small() -> None:
    too_big = []
    for rel, path in _sources():
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MODULES.get(rel, MAX_MODULE_LINES):
            too_big.append(f"{rel}: {lines} lines (at most {MODULES.get(rel, MAX_MODULE_LINES)})")
        module = Path(rel).stem
        for name, n in _functions(ast.parse(text), module):
            if n > FUNCTIONS.get(name, MAX_FUNCTION_LINES):
                too_big.append(f"{rel}: {name} is {n} lines (at most "
                               f"{FUNCTIONS.get(name, MAX_FUNCTION_LINES)})")
    assert not too_big, ("split by concept (README, 'Size:'); a real exception goes in the README "
                         "and in this test's allow-list:\n" + "\n".join(too_big))


def test_every_exception_is_still_needed() -> None:
    sizes = {rel: len(p.read_text(encoding="utf-8").splitlines()) for rel, p in _sources()}
    funcs = {}
    for rel, p in _sources():
        funcs.update(_functions(ast.parse(p.read_text(encoding="utf-8")), Path(rel).stem))
    stale = [m for m in MODULES if sizes.get(m, 0) <= MAX_MODULE_LINES]
    stale += [f for f in FUNCTIONS if funcs.get(f, 0) <= MAX_FUNCTION_LINES]
    assert not stale, f"no longer over the limit: drop them here and in the README: {stale}"


def test_the_readme_names_the_same_exceptions() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^- Size:.*?(?=^\S|^- |\Z)", readme, re.M | re.S)
    assert m, "README.md has no '- Size:' paragraph"
    para = m.group(0)
    named_modules = set(re.findall(r"`([\w/]+\.py)`\s+\(", para))
    named_functions = set(re.findall(r"`(\w+\.\w+)`\s+\(", para))
    assert named_modules == set(MODULES), (named_modules, set(MODULES))
    assert named_functions == set(FUNCTIONS), (named_functions, set(FUNCTIONS))
