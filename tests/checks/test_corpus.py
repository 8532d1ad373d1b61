"""The doctor on real projects (the shared corpus, fresh and "as told"): the findings we expect
after reading each project (`corpus_expected.py`), the exit code, and the `paths` results equal
to Compose's own resolution. Runs the installed command as a newcomer would (`--no-engine`:
nothing here needs the engine; `test_corpus_engine.py` covers what does)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.checks.corpus_expected import EXPECTED, judge
from tests.helpers.corpus import (CORPUS_DIR, SYMLINKS, load_projects, require_corpus,
                                  run_project, symlink_like_files)

PROJECTS = load_projects()
# One xdist worker per project: its doctor runs once (the module's cache) for all three tests.
NAMES = [pytest.param(p.name, marks=pytest.mark.xdist_group(f"corpus-{p.name}")) for p in PROJECTS] \
    or ["(corpus missing)"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    require_corpus()
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            project = next(p for p in PROJECTS if p.name == name)
            dest = tmp_path_factory.mktemp(name.replace("+", "_"))
            cache[name] = run_project(project, dest)
        return cache[name]
    return get


def test_every_project_has_expectations() -> None:
    require_corpus()
    assert sorted(EXPECTED) == sorted(p.name for p in PROJECTS)


def test_symlinks_rebuilt_are_all_the_stored_ones() -> None:
    """Every file shaped like a stored symlink is in SYMLINKS (so a new one is not missed)."""
    require_corpus()
    for tree in sorted({p.tree for p in PROJECTS}):
        found = set(symlink_like_files(CORPUS_DIR / "trees" / tree))
        assert found <= set(SYMLINKS.get(tree, {})), (tree, found)


@pytest.mark.parametrize("name", NAMES)
def test_findings_as_expected(runs, name: str) -> None:
    run = runs(name)
    verdict = judge(name, run.doctor["checks"])
    show = lambda cs: [(c["id"], c["status"], c["title"]) for c in cs]  # noqa: E731
    assert not verdict["false"], f"false findings on {name}: {show(verdict['false'])}"
    assert not verdict["missing"], f"expected findings missing on {name}: {verdict['missing']}"
    assert run.doctor_exit == EXPECTED[name]["exit"], (run.doctor_exit, show(
        [c for c in run.doctor["checks"] if c["status"] == "fail"]))


@pytest.mark.parametrize("name", NAMES)
def test_report_invariants(runs, name: str) -> None:
    """Ids unique; paths inside the repository for docs; no located-nowhere Compose error; no
    candidate from a vendored package the project is not part of; the human report carries
    every failure."""
    run = runs(name)
    checks = run.doctor["checks"]
    ids = [c["id"] for c in checks]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    root = str(run.root.resolve())
    for c in checks:
        if c["area"] == "docs" and c["path"]:
            assert c["path"].startswith(root + os.sep), c
        if c["area"] == "compose" and c["status"] == "fail":
            assert c["line"] is not None, c
        for cand in c["candidates"]:
            rel = Path(os.path.relpath(cand, run.cwd.resolve()))
            assert not {"vendor", "node_modules"} & set(rel.parts), (c["id"], cand)
    for c in checks:
        if c["status"] == "fail":
            assert c["title"] in run.human, c["title"]


def _norm(p: str) -> str:
    return os.path.normpath(os.path.expanduser(p))


@pytest.mark.parametrize("name", NAMES)
def test_paths_equal_compose_resolution(runs, name: str) -> None:
    """Every bind source, build context and secret file the doctor checked is the path Compose
    itself resolves (`docker compose config --format json`)."""
    run = runs(name)
    cfg = run.compose_config
    if cfg is None:
        pytest.skip(f"docker compose config fails on {name}: {run.compose_stderr.strip()[:200]}")
    services = cfg.get("services") or {}
    compared = 0
    for c in run.doctor["checks"]:
        if c["area"] != "paths":
            continue
        data = c["data"]
        svc = services.get(c["service"] or "") or {}
        theirs = None
        if data.get("kind") == "bind":
            target = (data.get("target") or "").rstrip("/")
            for v in svc.get("volumes") or ():
                if v.get("type") == "bind" and v.get("target", "").rstrip("/") == target:
                    theirs = v["source"]
        elif data.get("kind") == "build_context":
            theirs = (svc.get("build") or {}).get("context")
        elif data.get("kind") == "secret_file":
            theirs = ((cfg.get("secrets") or {}).get(data.get("name")) or {}).get("file")
        if theirs is None:
            continue
        compared += 1
        assert _norm(c["path"]) == _norm(theirs), (c["id"], c["path"], theirs)
    assert compared or not any(c["area"] == "paths" for c in run.doctor["checks"])
