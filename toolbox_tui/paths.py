"""Paths as toolbox-tui shows them: relative to the repository root when they are inside it
(shorter, and the same on every machine), as they are otherwise."""

from __future__ import annotations

import os
from pathlib import Path


def rel(path: str | Path | None, root: str | Path | None) -> str:
    """`path` relative to `root` when it is inside `root`; else `path` unchanged ("" for None)."""
    if not path:
        return ""
    if not root:
        return str(path)
    try:
        if Path(path).is_relative_to(root):
            return os.path.relpath(path, root)
    except ValueError:
        pass
    return str(path)
