"""Every global name a module uses is defined in it, imported into it, or a builtin.

A split or a move that leaves a name behind (`TIMEOUT_ENV` after secrets/store.py was split)
raises NameError only when that line runs, often on an error path no test reaches; this reads the
symbol tables Python itself builds and fails on the first such name, in the engine, the faces,
the tests, the scripts and the benchmarks.
"""

from __future__ import annotations

import builtins
import symtable
from pathlib import Path

from tests.helpers.machine import REPO_ROOT

ROOTS = ("toolbox_tui", "screens", "styles", "tests", "scripts", "benchmarks")
MODULE_NAMES = {"__file__", "__name__", "__doc__", "__spec__", "__path__", "__package__",
                "__builtins__", "__loader__", "__annotations__"}


def undefined_names(source: str, filename: str) -> list[tuple[int, str]]:
    """(line of the scope, name) for each global name used but never bound at module level."""
    top = symtable.symtable(source, filename, "exec")
    bound = {s.get_name() for s in top.get_symbols()
             if s.is_assigned() or s.is_imported() or s.is_namespace()}
    bound |= set(dir(builtins)) | MODULE_NAMES
    found: list[tuple[int, str]] = []

    def walk(table: symtable.SymbolTable) -> None:
        for sym in table.get_symbols():
            name = sym.get_name()
            if not sym.is_referenced() or name in bound:
                continue
            if table is top or (sym.is_global() and not sym.is_declared_global()):
                found.append((table.get_lineno(), name))
        for child in table.get_children():
            walk(child)

    walk(top)
    return found


def test_no_module_uses_an_undefined_global() -> None:
    bad = []
    for root in ROOTS:
        for path in sorted((REPO_ROOT / root).rglob("*.py")):
            rel = path.relative_to(REPO_ROOT)
            bad += [f"{rel}:{line}: {name}" for line, name in undefined_names(path.read_text(), str(rel))]
    assert not bad, "names used but never defined or imported:\n" + "\n".join(bad)


def test_the_check_catches_a_name_left_behind() -> None:
    source = ("from os import path\n\nLIMIT = 3\n\n"
              "def f(x):\n    return path.join(x, str(LIMIT), TIMEOUT_ENV)\n\n"
              "class C:\n    def g(self):\n        return missing_helper(self)\n\nentry()\n")
    assert sorted(n for _, n in undefined_names(source, "m.py")) == ["TIMEOUT_ENV", "entry",
                                                                     "missing_helper"]
    assert undefined_names("import os\n\ndef f():\n    global G\n    G = os.sep\n    return G\n", "m.py") == []
