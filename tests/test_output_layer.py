"""The headless commands print through one layer (`toolbox_tui/cli/output.py`), which sanitizes
every part of every line, by construction: no other module of the CLI, and no engine module,
writes to stdout or stderr itself or calls `print` (issue 14, case 9). A module that needs to
print imports `out`, `note`, `error`, `write_line`, `emit`, `emit_text` or `emit_record`.

The check reads the source (AST), so it cannot be satisfied by a test that happens not to reach
the printing line; a planted `sys.stdout.write` proves it catches one.
"""

from __future__ import annotations

import ast
import io
from pathlib import Path

from tests.helpers.machine import REPO_ROOT

ALLOWED = {Path("toolbox_tui/cli/output.py"), Path("screens/wizard/launch.py"),
           Path("toolbox_tui/cli/entry.py")}
"""The one output layer; the wizard launcher's `_err` (the faces may not import the CLI; it
writes through `sanitize.plain_text`, checked below); and `cli/entry.py`, which must import
nothing of the package before the signal handlers are in place and writes one constant line
("interrupted", checked below)."""


def direct_writes(source: str) -> list[int]:
    """Lines that write to sys.stdout/sys.stderr (`.write`, `.writelines`) or call `print`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id == "print":
            found.append(node.lineno)
        elif (isinstance(f, ast.Attribute) and f.attr in ("write", "writelines")
              and isinstance(f.value, ast.Attribute) and f.value.attr in ("stdout", "stderr")
              and isinstance(f.value.value, ast.Name) and f.value.value.id == "sys"):
            found.append(node.lineno)
    return found


def test_only_the_output_layer_prints() -> None:
    offenders = []
    for path in sorted([*(REPO_ROOT / "toolbox_tui").rglob("*.py"), *(REPO_ROOT / "screens").rglob("*.py")]):
        rel = path.relative_to(REPO_ROOT)
        if rel in ALLOWED:
            continue
        for line in direct_writes(path.read_text(encoding="utf-8")):
            offenders.append(f"{rel}:{line}")
    assert not offenders, ("print through toolbox_tui.cli.output instead: " + ", ".join(offenders))


def test_the_check_catches_a_planted_write() -> None:
    assert direct_writes("import sys\nsys.stderr.write('x')\n") == [2]
    assert direct_writes("print('x')\n") == [1]
    assert direct_writes("out('x')\n") == []


def test_write_line_sanitizes_every_part_and_colours_only_styled_parts() -> None:
    from toolbox_tui.cli.output import Styled, write_line

    buf = io.StringIO()
    write_line(buf, "a\x1b]0;T\x07b", Styled("31", "c\x1b[2Jd\x9b1m"), color=True)
    assert buf.getvalue() == "ab\x1b[31mcd\x1b[0m\n"
    buf = io.StringIO()
    write_line(buf, Styled("31", "x"), color=False)
    assert buf.getvalue() == "x\n"


def test_the_wizard_launcher_sanitizes_what_it_writes() -> None:
    source = (REPO_ROOT / "screens/wizard/launch.py").read_text(encoding="utf-8")
    assert direct_writes(source) and 'sys.stderr.write(plain_text(text) + "\\n")' in source
    assert source.count("sys.stderr.write(") == 1


def test_the_entry_point_writes_only_constant_text() -> None:
    tree = ast.parse((REPO_ROOT / "toolbox_tui/cli/entry.py").read_text(encoding="utf-8"))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and n.func.attr == "write"]
    assert calls and all(isinstance(a, ast.Constant) for c in calls for a in c.args)
