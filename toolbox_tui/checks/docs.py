"""Documentation that points at scripts or files the repository does not have.

Only the documents a newcomer follows are read: the root README and CONTRIBUTING, the compose
directory's README, setup / install / quick-start / deployment guides, and other Markdown that
mentions this project's compose files or `docker compose`. Archives, changelogs, vendored
packages and the directories of other Compose projects (a sibling sample's README) are not.

What counts as a reference to a repository file: a path-looking token in prose or inline code,
a Markdown link target (percent-decoded), and in a code block only the command being run
(`./install.sh`, `bash scripts/x.sh`) and the source of a `cp`. Absolute paths (container
paths), paths that leave the repository and destinations are not references.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import unquote

from toolbox_tui.findings import SKIP, WARN, Check
from toolbox_tui.checks.repo_index import SKIP_DIRS
from toolbox_tui.safe_read import DOC, ReadRefused, open_regular, read_text, resolves_outside

# A repo-relative path-looking token: ./x/y.sh, ../x, infrastructure/docker/x.sh
_TOKEN = re.compile(r"(?<![\w/.:%!-])((?:\.{1,2}/)?[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+/?|\./[A-Za-z0-9_.-]+)")
_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_FILE_EXT = re.compile(r"\.(sh|py|ya?ml|json|toml|ini|conf|env|sql|md|txt|js|ts|ps1|bash|Dockerfile)$",
                       re.IGNORECASE)
_FENCE = re.compile(r"^\s*(```|~~~)")
_PROMPT = re.compile(r"^\s*(?:[$#>]\s+)?(?:sudo\s+(?:-\S+\s+)*)?")
_RUNNERS = {"bash", "sh", "zsh", "source", ".", "python", "python3", "exec"}
_GUIDE = re.compile(r"(setup|install|quick[-_]?start|getting[-_]?started|"
                    r"deploy|development|usage|running|docker)", re.IGNORECASE)
_NOT_FOLLOWED = re.compile(r"^(archives?|archived|old|deprecated|attic|legacy|history|outdated|"
                           r"changelogs?|release[-_]?notes|vendor|node_modules|third[-_]party)$",
                           re.IGNORECASE)
_NOT_FOLLOWED_FILE = re.compile(r"^(changelog|changes|history|release[-_]?notes|news)", re.IGNORECASE)
_COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
MAX_DOCS = 300
MAX_DEPTH = 4


def _other_project(d: Path, project_dir: Path) -> bool:
    """A directory with its own compose file that is not on the way to this project."""
    return not project_dir.is_relative_to(d) and any((d / n).is_file() for n in _COMPOSE_NAMES)


def newcomer_docs(root: Path, project_dir: Path, compose_files: Iterable[Path] = ()) -> list[Path]:
    """The Markdown files a newcomer to this project follows (see the module docstring)."""
    names = {f.name for f in compose_files} | {"docker compose", "docker-compose"}
    project_dir = project_dir.resolve()
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        depth = len(here.relative_to(root).parts)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
                             and not _NOT_FOLLOWED.match(d) and depth < MAX_DEPTH
                             and not _other_project((here / d).resolve(), project_dir))
        for f in sorted(filenames):
            if not f.lower().endswith((".md", ".markdown")) or _NOT_FOLLOWED_FILE.match(f):
                continue
            p = here / f
            if resolves_outside(p, root):
                out.append(p)  # named by doc_checks as leading outside; never opened here
                continue
            at_top = here.resolve() in (root.resolve(), project_dir)
            if (at_top and re.match(r"(readme|contributing)", f, re.I)) or _GUIDE.search(f) \
                    or _mentions(p, names):
                out.append(p)
        if len(out) >= MAX_DOCS:
            break
    return sorted(out)[:MAX_DOCS]


def _not_checked(rel_md: str, why: str) -> Check:
    return Check(id=f"docs.unread.{rel_md}", area="docs", severity="info", status=SKIP,
                 title=why, hint="Nothing to do unless it should be documentation of this project.")


def _mentions(path: Path, words: set[str]) -> bool:
    """Whether the first 256 KiB of `path` mention one of `words`; True for a file the bounded
    reader refuses (a FIFO, a device, too large), so `doc_checks` names it as not read."""
    try:
        fd = open_regular(path, DOC)
    except ReadRefused:
        return True
    try:
        text = os.read(fd, 256 * 1024).decode("utf-8", "replace")
    except OSError:
        return False
    finally:
        os.close(fd)
    return any(w in text for w in words)


def _code_refs(line: str) -> Iterator[tuple[str, int]]:
    """References in one line of a code block: the command run, and a `cp`'s source."""
    m = _PROMPT.match(line)
    rest = line[m.end():] if m else line
    offset = len(line) - len(rest)
    words = [(w.group(), w.start() + offset) for w in re.finditer(r"\S+", rest)]
    if not words:
        return
    cmd, col = words[0]
    if cmd in _RUNNERS and len(words) > 1:
        yield words[1]
    elif cmd == "cp":
        args = [w for w in words[1:] if not w[0].startswith("-")]
        if len(args) >= 2:
            yield args[0]
    elif "/" in cmd:
        yield cmd, col


_INLINE = re.compile(r"`([^`]+)`")


def _prose_refs(line: str) -> Iterator[tuple[str, int]]:
    """References in prose: link targets, path tokens, and inline code — a code span holding a
    command (`docker compose exec web x ../export`) is read like a line of a code block."""
    for m in _INLINE.finditer(line):
        if " " in m.group(1).strip():
            for tok, col in _code_refs(m.group(1)):
                yield tok, m.start(1) + col
    line = _INLINE.sub(lambda m: " " * len(m.group()) if " " in m.group(1).strip() else m.group(),
                       line)
    if "://" in line and "`" not in line:
        return
    for m in _LINK.finditer(line):
        target = m.group(1)
        if "://" not in target and not target.startswith(("#", "mailto:")):
            yield unquote(target.split("#", 1)[0]), m.start(1)
    for m in _TOKEN.finditer(line):
        if "://" in line[max(0, m.start() - 10):m.start()] or line[max(0, m.start() - 2):m.start()] == "](":
            continue
        yield m.group(1), m.start(1)


_TEMPLATE_SUFFIXES = (".example", ".dist", ".sample", ".template", ".tmpl")
_ENV_TEMPLATES = (".env.example", "env.example", "example.env", ".env.sample", ".env.dist",
                  ".env.template")


def _made_from_template(p: Path) -> bool:
    """A file the reader creates from a template beside it (`cp env.example .env`)."""
    if any(p.with_name(p.name + s).exists() for s in _TEMPLATE_SUFFIXES):
        return True
    return p.name.endswith(".env") and any((p.parent / t).exists() for t in _ENV_TEMPLATES)


def doc_checks(root: Path, project_dir: Path | None = None,
               compose_files: Iterable[Path] = (), mount_names: Iterable[str] = ()) -> list[Check]:
    """`mount_names`: basenames of the project's bind sources and targets — a doc path with one
    of those names (`../export`, "inside the container") is about the mount, which the paths
    checks cover, not a repository file."""
    mounts = {m for m in mount_names if m}
    out: list[Check] = []
    root = root.resolve()
    top = {p.name for p in root.iterdir()} if root.is_dir() else set()
    for md in newcomer_docs(root, project_dir or root, compose_files):
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
        in_code = outside = False
        for n, line in enumerate(text.splitlines(), 1):
            if _FENCE.match(line):
                in_code, outside = not in_code, False
                continue
            if in_code and re.match(r"^\s*(?:[$#>]\s+)?cd\s", line):
                outside = True  # later commands run elsewhere: their paths are not ours to check
            if in_code and outside:
                continue
            refs = list(_code_refs(line) if in_code else _prose_refs(line))
            k = 0
            for raw, col in refs:
                tok = raw.strip("`'\"").rstrip(".,;:)")
                if not tok or tok in seen or tok.startswith(("/", "~", "$", "-")) or "*" in tok \
                        or os.path.basename(tok.rstrip("/")) in mounts:
                    continue
                first = tok.split("/")[0]
                relative = first in (".", "..")
                if not relative and first not in top:
                    continue
                if not relative and not _FILE_EXT.search(tok) and not tok.endswith("/"):
                    continue
                bases = [md.parent, root] if relative else [root, md.parent]
                resolved = [(b / tok).resolve() for b in bases]
                inside = [p for p in resolved if p.is_relative_to(root)]
                if not inside or any(p.exists() or _made_from_template(p) for p in inside):
                    continue  # leaves the repository (a GitHub-relative link), exists, or is made
                seen.add(tok)
                k += 1
                out.append(Check(
                    id=f"docs.missing.{rel_md}:{n}" + (f".{k}" if k > 1 else ""), area="docs",
                    severity="warning", status=WARN,
                    title=f"{rel_md}:{n} refers to {tok}, which does not exist",
                    detail="Readers following the docs will hit a missing file.",
                    hint="Write it, or update the docs to what exists (toolbox-tui can replace "
                         "setup scripts: `toolbox-tui doctor`, `fix`, `secrets`, `up`).",
                    file=str(md), line=n, column=col + 1, path=str(inside[0])))
    return out
