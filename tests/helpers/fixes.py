"""Helpers shared by the fix tests (no tests here): load a copy of the example, plan, snapshot."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Sequence

from toolbox_tui.fixes.plan import gather_findings
from toolbox_tui.findings import FAIL, Check
from toolbox_tui.fixes.plan import FixPlan, make_plan, parse_choice
from toolbox_tui.compose.project import ProjectOptions, load_stack

COMPOSE = Path("infrastructure/docker/compose")
BASE = COMPOSE / "docker-compose.yml"
DEV = COMPOSE / "docker-compose.dev.yml"


def load(root: Path, files: Sequence[str] = ()):
    """The stack of an example copy, as `toolbox-tui` run from its compose directory sees it."""
    return load_stack(ProjectOptions(files=tuple(files), cwd=str(root / COMPOSE)))


def plan_for(stack, *choices: str, allow_outside: bool = False) -> FixPlan:
    return make_plan(gather_findings(stack), root=stack.root_dir(), project_dir=stack.project_dir,
                     choices=[parse_choice(c) for c in choices], allow_outside=allow_outside,
                     cwd=stack.project_dir)


def failing_ids(stack) -> set[str]:
    return {c.id for c in gather_findings(stack) if c.status == FAIL}


def runs_dir(stack) -> Path:
    return stack.state_dir / "runs"


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root: type, bytes or link text, and mode (toolbox-tui's state is outside)."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            rel = str(p.relative_to(root))
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("file", p.read_bytes(), stat.S_IMODE(st.st_mode))
    return out


def check(id: str, path: Path, *, candidates: Sequence[Path] = (), file: Path | None = None,
          line: int | None = None, column: int | None = None, status: str = FAIL,
          **data) -> Check:
    """A path finding built by hand, as `path_checks` would report it."""
    base = {"kind": "bind", "expect": "file", "syntax": "short", "problem": "missing"}
    base.update(data)
    return Check(id=id, area="paths", severity="error", status=status, title=f"{id} test finding",
                 file=str(file) if file else None, line=line, column=column, path=str(path),
                 candidates=tuple(str(c) for c in candidates), data=tuple(base.items()))
