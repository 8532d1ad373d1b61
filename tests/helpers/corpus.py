"""The shared Compose corpus (`../shared/corpus` beside the checkout): real public projects,
trimmed, used as test data for the doctor. See that directory's README.md.

`materialize(project, tmp)` lays one project out as its users would have it: the tree copied, the
upstream symlinks rebuilt, `git init`, and the project's "as told" set-up step run.

The corpus trees hold no real symlinks: a symlink upstream is stored as a regular file whose whole
content is its target. `SYMLINKS` lists the ones rebuilt, each with why it is one upstream;
`symlink_like_files` finds every file of that shape so a test notices one this list misses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.machine import REPO_ROOT, in_ci

CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus"
"""Where CI puts the corpus: beside the clone."""

SYMLINKS: dict[str, dict[str, str]] = {
    # mailcow's README/docs: `.env` is a symlink to `mailcow.conf`, which generate_config.sh
    # writes (the corpus README says so too; the set-up script checks `[ -L .env ]`).
    "mailcow": {".env": "mailcow.conf"},
    # fastapi: agent-skill links into a virtualenv (`../../.venv/...`), dangling in a fresh
    # clone. No compose file reads them; rebuilt so the tree is the clone's.
    "fastapi": {
        ".claude/skills/fastapi": "../../.venv/lib/python3.14/site-packages/fastapi/.agents/skills/fastapi",
        ".claude/skills/sqlmodel": "../../.venv/lib/python3.14/site-packages/sqlmodel/.agents/skills/sqlmodel",
        ".agents/skills/fastapi": "../../.venv/lib/python3.14/site-packages/fastapi/.agents/skills/fastapi",
        ".agents/skills/sqlmodel": "../../.venv/lib/python3.14/site-packages/sqlmodel/.agents/skills/sqlmodel",
    },
}
"""tree -> {path in the tree: symlink target}."""


@dataclass(frozen=True)
class CorpusProject:
    name: str
    tree: str
    cwd: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    setup: str | None


def corpus_available() -> bool:
    return (CORPUS_DIR / "projects.json").is_file()


def require_corpus() -> Path:
    """The corpus directory; skips with one line saying what is missing (fails under CI)."""
    if corpus_available():
        return CORPUS_DIR
    message = f"the Compose corpus is not at {CORPUS_DIR} (projects.json missing)"
    if in_ci():
        pytest.fail(f"{message}; CI=true, so this is a failure: CI puts it beside the clone",
                    pytrace=False)
    pytest.skip(message)


def load_projects() -> list[CorpusProject]:
    """Every project in projects.json (empty when the corpus is absent)."""
    if not corpus_available():
        return []
    doc = json.loads((CORPUS_DIR / "projects.json").read_text(encoding="utf-8"))
    return [CorpusProject(name=p["name"], tree=p["tree"], cwd=p["cwd"], args=tuple(p["args"]),
                          env=tuple(sorted((p.get("env") or {}).items())), setup=p.get("setup"))
            for p in doc["projects"]]


def symlink_like_files(tree: Path) -> list[str]:
    """Files that look like a stored symlink: under 256 bytes, no newline, and the whole content
    is a relative path that exists beside the file or climbs with `../`."""
    out = []
    for dirpath, _dirs, files in os.walk(tree):
        for f in files:
            p = Path(dirpath) / f
            try:
                if p.stat().st_size >= 256:
                    continue
                text = p.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if not text or "\n" in text or " " in text or text.startswith("/"):
                continue
            if text.startswith("../") or (p.parent / text).exists():
                out.append(str(p.relative_to(tree)))
    return sorted(out)


def clean_env(project: CorpusProject) -> dict[str, str]:
    """The environment a newcomer's shell would have: no COMPOSE_*, DOCKER_HOST, DOCKER_CONTEXT."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("COMPOSE_") and k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    env.update(dict(project.env))
    return env


def materialize(project: CorpusProject, dest: Path) -> tuple[Path, Path]:
    """Copy the project's tree to `dest/<tree>`, rebuild its symlinks, `git init`, run its set-up
    step. Returns (repository root, the directory Compose runs in)."""
    root = dest / project.tree
    shutil.copytree(CORPUS_DIR / "trees" / project.tree, root, symlinks=True)
    for rel, target in SYMLINKS.get(project.tree, {}).items():
        p = root / rel
        if p.is_file() and not p.is_symlink():
            p.unlink()
            p.symlink_to(target)
    for dirpath, dirs, files in os.walk(root):  # the trees are read-only copies
        for name in dirs + files:
            p = Path(dirpath) / name
            if not p.is_symlink():
                p.chmod(p.stat().st_mode | 0o200)
    root.chmod(root.stat().st_mode | 0o200)
    subprocess.run(["git", "init", "-q", str(root)], check=True, stdin=subprocess.DEVNULL)
    if project.setup:
        env = clean_env(project)
        env["CORPUS_TOOLS"] = str(CORPUS_DIR)
        proc = subprocess.run(["bash", "-c", project.setup], cwd=root, env=env,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"set-up of {project.name} failed: {proc.stderr.strip()}")
    return root, root / project.cwd


@dataclass
class CorpusRun:
    """One project as a user would meet it: the doctor's JSON and human report, and Compose's
    own view (`docker compose <args> config --format json`)."""

    project: CorpusProject
    root: Path
    cwd: Path
    doctor: dict
    doctor_exit: int
    human: str
    compose_exit: int
    compose_config: dict | None
    compose_stderr: str
    seconds_doctor: float = 0.0
    seconds_compose: float = 0.0


def run_project(project: CorpusProject, dest: Path, *, engine: bool = False,
                python: str | None = None) -> CorpusRun:
    """Materialize `project` under `dest` and run `toolbox-tui doctor` (JSON and human) and
    `docker compose config` in its directory with a newcomer's environment."""
    import sys
    import time

    root, cwd = materialize(project, dest)
    env = clean_env(project)
    env["NO_COLOR"] = "1"
    cmd = [python or sys.executable, "-m", "toolbox_tui", "doctor", *project.args]
    if not engine:
        cmd.append("--no-engine")
    t0 = time.perf_counter()
    js = subprocess.run([*cmd, "--json"], cwd=cwd, env=env, capture_output=True, text=True,
                        stdin=subprocess.DEVNULL, timeout=300)
    t1 = time.perf_counter()
    human = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=300)
    t2 = time.perf_counter()
    cc = subprocess.run(["docker", "compose", *project.args, "config", "--format", "json"], cwd=cwd,
                        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    t3 = time.perf_counter()
    try:
        doc = json.loads(js.stdout)
    except ValueError as exc:
        raise AssertionError(f"{project.name}: doctor --json printed no JSON (exit {js.returncode}): "
                             f"{js.stderr.strip()[-800:]}") from exc
    return CorpusRun(project=project, root=root, cwd=cwd, doctor=doc, doctor_exit=js.returncode,
                     human=human.stdout, compose_exit=cc.returncode,
                     compose_config=json.loads(cc.stdout) if cc.returncode == 0 else None,
                     compose_stderr=cc.stderr, seconds_doctor=t1 - t0, seconds_compose=t3 - t2)
