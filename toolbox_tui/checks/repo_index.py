"""An index of the files in a repository, for finding where a missing file really is.

Walked once per doctor run, skipping VCS, dependency and build directories; bounded so a huge
monorepo cannot stall the doctor.
"""

from __future__ import annotations

import os
import stat
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from toolbox_tui import safe_read

SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox",
             ".mypy_cache", ".pytest_cache", ".toolbox-tui", "dist", "build", ".next", ".cache",
             "site-packages", ".idea", ".vscode"}
MAX_ENTRIES = 200_000


@dataclass
class RepoIndex:
    root: Path
    files: dict[str, list[Path]] = field(default_factory=lambda: defaultdict(list))
    """basename -> files with that name."""
    dirs: dict[str, list[Path]] = field(default_factory=lambda: defaultdict(list))
    truncated: bool = False

    @classmethod
    def build(cls, root: Path) -> "RepoIndex":
        idx = cls(root=root)
        count = 0
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            base = Path(dirpath)
            for d in dirnames:
                idx.dirs[d].append(base / d)
            for f in filenames:
                idx.files[f].append(base / f)
            count += len(dirnames) + len(filenames)
            if count > MAX_ENTRIES:
                idx.truncated = True
                break
        return idx

    def candidates(self, expected: Path, want_dir: bool = False) -> list[Path]:
        """Existing paths with the expected name, best first (most trailing path parts in common,
        then fewest steps away from the expected location)."""
        pool = self.dirs if want_dir else self.files
        name = expected.name.replace("\\", "/").rsplit("/", 1)[-1]  # a Windows-style path in YAML
        found = [p for p in pool.get(name, ()) if p != expected]
        if not want_dir:
            found = [p for p in found if p.is_file()]
        return sorted(found, key=lambda p: (-_common_suffix(p, expected), _distance(p, expected), str(p)))


def _common_suffix(a: Path, b: Path) -> int:
    n = 0
    for x, y in zip(reversed(a.parts), reversed(b.parts)):
        if x.lower() != y.lower():
            break
        n += 1
    return n


def _distance(a: Path, b: Path) -> int:
    common = 0
    for x, y in zip(a.parts, b.parts):
        if x != y:
            break
        common += 1
    return (len(a.parts) - common) + (len(b.parts) - common)


def content_groups(paths: list[Path], limit_bytes: int = 8 * 1024 * 1024) -> list[tuple[Path, ...]]:
    """Group candidates whose contents are identical, in the order given. Only files of the same
    size (at most `limit_bytes`) can be identical, so only those are hashed, and the hash is
    streamed (`safe_read.sha256_file`): a 1.5 GB candidate is never read into memory."""
    sizes: dict[Path, int | None] = {}
    for p in paths:
        try:
            st = os.stat(p)
            sizes[p] = st.st_size if stat.S_ISREG(st.st_mode) else None
        except OSError:
            sizes[p] = None
    same_size = Counter(s for s in sizes.values() if s is not None)
    groups: dict[str, list[Path]] = {}
    order: list[str] = []
    for p in paths:
        size = sizes[p]
        if size is None:
            key = f"unreadable:{p}"
        elif size > limit_bytes or same_size[size] == 1:
            key = f"only:{p}"
        else:
            key = safe_read.sha256_file(p) or f"unreadable:{p}"
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(p)
    return [tuple(groups[k]) for k in order]
