"""Documentation that points at scripts or files the repository does not have."""

from __future__ import annotations

import os
import re
from pathlib import Path

from toolbox_tui.findings import SKIP, WARN, Check
from toolbox_tui.checks.repo_index import SKIP_DIRS
from toolbox_tui.safe_read import DOC, ReadRefused, read_text, resolves_outside

# A repo-relative path-looking token: ./x/y.sh, ../x, infrastructure/docker/x.sh
_TOKEN = re.compile(r"(?<![\w/.:-])((?:\.{1,2}/)?[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+/?|\./[A-Za-z0-9_.-]+)")
_FILE_EXT = re.compile(r"\.(sh|py|ya?ml|json|toml|ini|conf|env|sql|md|txt|js|ts|ps1|bash|Dockerfile)$",
                       re.IGNORECASE)
MAX_DOCS = 300


def _markdown_files(root: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")]
        if Path(dirpath).relative_to(root).parts.__len__() > 4:
            dirnames[:] = []
        for f in filenames:
            if f.lower().endswith((".md", ".markdown")):
                out.append(Path(dirpath) / f)
        if len(out) >= MAX_DOCS:
            break
    return sorted(out)[:MAX_DOCS]


def _not_checked(rel_md: str, why: str) -> Check:
    return Check(id=f"docs.unread.{rel_md}", area="docs", severity="info", status=SKIP,
                 title=why, hint="Nothing to do unless it should be documentation of this project.")


def doc_checks(root: Path) -> list[Check]:
    out: list[Check] = []
    top = {p.name for p in root.iterdir()} if root.is_dir() else set()
    for md in _markdown_files(root):
        rel_md = os.path.relpath(md, root)
        if resolves_outside(md, root):  # not this repository's docs: named, never quoted
            out.append(_not_checked(rel_md, f"{rel_md} leads outside the repository "
                                            f"({os.path.realpath(md)}); it was not read"))
            continue
        try:
            text = read_text(md, DOC)
        except ReadRefused as exc:  # a FIFO, a device, an oversized file named *.md
            out.append(_not_checked(rel_md, exc.message))
            continue
        seen: set[str] = set()
        for n, line in enumerate(text.splitlines(), 1):
            if "://" in line and not re.search(r"`[^`]*`", line):
                continue
            for m in _TOKEN.finditer(line):
                tok = m.group(1).rstrip(".,;:)")
                if tok in seen or "://" in line[max(0, m.start() - 10):m.start()]:
                    continue
                first = tok.split("/")[0]
                relative = first in (".", "..")
                if not relative and first not in top:
                    continue
                if not relative and not _FILE_EXT.search(tok) and not tok.endswith("/"):
                    continue
                bases = [md.parent, root] if relative else [root, md.parent]
                if any((b / tok).exists() for b in bases):
                    continue
                seen.add(tok)
                col = m.start(1) + 1
                out.append(Check(
                    id=f"docs.missing.{rel_md}:{n}", area="docs", severity="warning", status=WARN,
                    title=f"{rel_md}:{n} refers to {tok}, which does not exist",
                    detail="Readers following the docs will hit a missing file.",
                    hint="Write it, or update the docs to what exists (toolbox-tui can replace "
                         "setup scripts: `toolbox-tui doctor`, `fix`, `secrets`, `up`).",
                    file=str(md), line=n, column=col, path=str((root / tok).resolve())))
    return out
