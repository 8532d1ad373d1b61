"""Applying and undoing fixes on copies of the example stack, with the real loader and path checks."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.helpers.fixes import BASE, COMPOSE, failing_ids, load, plan_for, runs_dir, snapshot
from toolbox_tui.fixes.apply import apply_plan
from toolbox_tui.fixes.runs import FixError
from toolbox_tui.fixes.undo import undo
from toolbox_tui.fixes.plan import PlanError

REDIS_CAND = Path("infrastructure/docker/redis.conf")
ROJO_CAND = Path("roblox/Config/default.project.json")
PG_CAND = Path("infrastructure/docker/config/postgres-init.sql")
EXPECTED = {"paths.bind.postgres.1", "paths.bind.redis.1", "paths.bind.roblox-sync.0",
            "env.file.missing"}


def _journal(run_dir: str | Path) -> dict:
    return json.loads((Path(run_dir) / "journal.json").read_text())


def test_example_findings_and_default_plan(example_copy: Path) -> None:
    stack = load(example_copy)
    assert failing_ids(stack) >= EXPECTED
    plan = plan_for(stack)
    kinds = {(a.kind, os.path.relpath(a.target, example_copy)) for a in plan.actions}
    assert kinds == {
        ("copy", str(COMPOSE / "config/postgres-init.sql")),
        ("copy", str(COMPOSE / "config/redis.conf")),
        ("copy", "infrastructure/config/rojo/default.project.json"),
        ("template", str(COMPOSE / ".env")),
    }
    assert plan.unfixed == ()


def test_default_apply_fixes_everything_and_undo_restores_bytes(example_copy: Path) -> None:
    before = snapshot(example_copy)
    stack = load(example_copy)
    result = apply_plan(plan_for(stack), stack.state_dir)

    after_stack = load(example_copy)
    assert not (failing_ids(after_stack) & EXPECTED)
    after = snapshot(example_copy)
    # Nothing that existed changed; only the intended files (and their parent dirs) are new.
    assert {k: v for k, v in after.items() if k in before} == before
    new = sorted(set(after) - set(before))
    assert new == sorted([
        "infrastructure/config", "infrastructure/config/rojo",
        "infrastructure/config/rojo/default.project.json",
        str(COMPOSE / ".env"), str(COMPOSE / "config"),
        str(COMPOSE / "config/postgres-init.sql"), str(COMPOSE / "config/redis.conf")])
    assert after[str(COMPOSE / "config/redis.conf")][1] == (example_copy / REDIS_CAND).read_bytes()
    # The env file is a byte copy of the template (comments kept), owner-only.
    env = example_copy / COMPOSE / ".env"
    assert env.read_bytes() == (example_copy / ".env.docker.example").read_bytes()
    assert stat.S_IMODE(env.stat().st_mode) == 0o600

    journal = _journal(result.run_dir)
    assert journal["status"] == "applied" and len(journal["actions"]) == 4
    for entry in journal["actions"]:
        assert entry["done"] and entry["sha256_after"] and entry["sha256_before"] is None
        assert entry["created"]

    res = undo(stack.state_dir)
    assert snapshot(example_copy) == before
    assert len(res.removed) == 7 and res.kept == ()
    assert _journal(result.run_dir)["status"] == "undone"


def test_symlink_option(example_copy: Path) -> None:
    stack = load(example_copy)
    apply_plan(plan_for(stack, "paths.bind.redis.1=symlink:1", "env.file.missing=skip"),
               stack.state_dir)
    link = example_copy / COMPOSE / "config" / "redis.conf"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert os.readlink(link) == "../../redis.conf"
    assert link.resolve() == (example_copy / REDIS_CAND).resolve()
    assert "paths.bind.redis.1" not in failing_ids(load(example_copy))


def _lines_changed(old: bytes, new: bytes) -> list[int]:
    a, b = old.split(b"\n"), new.split(b"\n")
    assert len(a) == len(b)
    return [i + 1 for i, (x, y) in enumerate(zip(a, b)) if x != y]


def test_rewrite_changes_only_the_referenced_scalars(example_copy: Path) -> None:
    before = snapshot(example_copy)
    stack = load(example_copy)
    plan = plan_for(stack, "paths.bind.redis.1=rewrite", "paths.bind.roblox-sync.0=rewrite:1",
                    "paths.bind.postgres.1=skip", "env.file.missing=skip")
    (action,) = plan.actions
    assert action.kind == "rewrite" and len(action.edits) == 2
    apply_plan(plan, stack.state_dir)
    old = before[str(BASE)][1]
    new = (example_copy / BASE).read_bytes()
    assert _lines_changed(old, new) == [53, 220]
    assert new.split(b"\n")[52] == b"      - ../redis.conf:/usr/local/etc/redis/redis.conf:ro"
    assert new.split(b"\n")[219] == b"        source: ../../../roblox/Config/default.project.json"
    after = snapshot(example_copy)
    assert {k: v for k, v in after.items() if k != str(BASE)} == {
        k: v for k, v in before.items() if k != str(BASE)}
    remaining = failing_ids(load(example_copy))
    assert "paths.bind.redis.1" not in remaining and "paths.bind.roblox-sync.0" not in remaining
    assert "paths.bind.postgres.1" in remaining
    undo(stack.state_dir)
    assert snapshot(example_copy) == before


@pytest.mark.engine
def test_rewrite_keeps_docker_compose_config_valid(example_copy: Path, compose_ready: str) -> None:
    from toolbox_tui.engine.compose_cli import config_json

    stack = load(example_copy)
    cfg_before = config_json(stack.compose_args())
    apply_plan(plan_for(stack, "paths.bind.redis.1=rewrite", "paths.bind.roblox-sync.0=rewrite",
                        "env.file.missing=skip"), stack.state_dir)
    cfg_after = config_json(load(example_copy).compose_args())
    redis_src = [v["source"] for v in cfg_after["services"]["redis"]["volumes"] if v["type"] == "bind"]
    rojo_src = [v["source"] for v in cfg_after["services"]["roblox-sync"]["volumes"]]
    assert redis_src == [str(example_copy / REDIS_CAND)]
    assert rojo_src == [str(example_copy / ROJO_CAND)]
    # Nothing else in the resolved model moved.
    for cfg in (cfg_before, cfg_after):
        for svc in ("redis", "roblox-sync"):
            for v in cfg["services"][svc].get("volumes", []):
                if v["type"] == "bind" and v["target"] in ("/usr/local/etc/redis/redis.conf",
                                                           "/app/default.project.json"):
                    v["source"] = "<fixed>"
    assert cfg_before == cfg_after


EXTRA = """\
# An extra override: the reference lives here, behind an anchor.
x-conf: &conf ./config/redis.conf   # shared
services:
  mcp-server:
    volumes:
      - type: bind
        source: *conf
        target: /etc/a.conf
  loki:
    volumes:
      - type: bind
        source: *conf
        target: /etc/b.conf
"""


def _with_extra(root: Path) -> list[str]:
    (root / COMPOSE / "docker-compose.extra.yml").write_text(EXTRA)
    return ["docker-compose.yml", "docker-compose.dev.yml", "docker-compose.extra.yml"]


def test_same_target_from_three_findings_is_one_copy(example_copy: Path) -> None:
    files = _with_extra(example_copy)
    stack = load(example_copy, files)
    plan = plan_for(stack)
    (redis,) = [a for a in plan.actions if a.target.endswith("config/redis.conf")]
    assert set(redis.finding_ids) == {"paths.bind.redis.1", "paths.bind.mcp-server.0",
                                      "paths.bind.loki.0"}
    apply_plan(plan, stack.state_dir)
    assert not failing_ids(load(example_copy, files)) & {"paths.bind.mcp-server.0", "paths.bind.loki.0"}


def test_override_reference_rewritten_in_that_file_at_the_anchor(example_copy: Path) -> None:
    files = _with_extra(example_copy)
    before = snapshot(example_copy)
    stack = load(example_copy, files)
    plan = plan_for(stack, "paths.bind.mcp-server.0=rewrite", "paths.bind.loki.0=rewrite",
                    "paths.bind.redis.1=skip", "paths.bind.postgres.1=skip",
                    "paths.bind.roblox-sync.0=skip", "env.file.missing=skip")
    (action,) = plan.actions
    assert action.target == str(example_copy / COMPOSE / "docker-compose.extra.yml")
    assert len(action.edits) == 1 and action.edits[0].line == 2
    apply_plan(plan, stack.state_dir)
    extra = (example_copy / COMPOSE / "docker-compose.extra.yml").read_text()
    assert extra == EXTRA.replace("&conf ./config/redis.conf", "&conf ../redis.conf")
    after = snapshot(example_copy)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed == {str(COMPOSE / "docker-compose.extra.yml")}
    assert not failing_ids(load(example_copy, files)) & {"paths.bind.mcp-server.0", "paths.bind.loki.0"}


def test_replace_the_empty_directory_docker_left(example_copy: Path) -> None:
    left = example_copy / COMPOSE / "config" / "redis.conf"
    left.mkdir(parents=True)
    os.chmod(left, 0o755)
    before = snapshot(example_copy)
    stack = load(example_copy)
    plan = plan_for(stack, "env.file.missing=skip")
    (action,) = [a for a in plan.actions if a.target == str(left)]
    assert action.kind == "replace_dir"
    apply_plan(plan, stack.state_dir)
    assert left.is_file() and left.read_bytes() == (example_copy / REDIS_CAND).read_bytes()
    assert "paths.bind.redis.1" not in failing_ids(load(example_copy))
    undo(stack.state_dir)
    assert snapshot(example_copy) == before and left.is_dir()


def test_directory_with_content_is_not_replaced(example_copy: Path) -> None:
    left = example_copy / COMPOSE / "config" / "redis.conf"
    left.mkdir(parents=True)
    (left / "notes.txt").write_text("mine\n")
    stack = load(example_copy)
    plan = plan_for(stack)
    assert not [a for a in plan.actions if a.target == str(left)]
    (fp,) = [f for f in plan.unfixed if f.finding_id == "paths.bind.redis.1"]
    assert "will not remove" in fp.reason


def test_candidate_outside_the_repo(example_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside" / "redis.conf"
    outside.parent.mkdir()
    outside.write_text("maxmemory 1mb\n")
    stack = load(example_copy)
    with pytest.raises(PlanError, match="outside the repository") as info:
        plan_for(stack, f"paths.bind.redis.1=copy:{outside}")
    assert "--allow-outside" in str(info.value) + info.value.hint
    plan = plan_for(stack, f"paths.bind.redis.1=copy:{outside}", allow_outside=True)
    apply_plan(plan, stack.state_dir)
    assert (example_copy / COMPOSE / "config" / "redis.conf").read_text() == "maxmemory 1mb\n"


def test_read_only_compose_file_is_not_touched(example_copy: Path) -> None:
    stack = load(example_copy)
    plan = plan_for(stack, "paths.bind.redis.1=rewrite")
    os.chmod(example_copy / BASE, 0o444)
    before = snapshot(example_copy)
    with pytest.raises(FixError, match="read-only") as info:
        apply_plan(plan, stack.state_dir)
    assert "chmod u+w" in info.value.hint and not info.value.rolled_back
    assert snapshot(example_copy) == before  # not even the copies of the other findings
    assert not runs_dir(stack).exists()


def test_compose_file_changed_between_plan_and_apply(example_copy: Path) -> None:
    stack = load(example_copy)
    plan = plan_for(stack, "paths.bind.redis.1=rewrite")
    with open(example_copy / BASE, "a") as fh:
        fh.write("# edited by hand meanwhile\n")
    before = snapshot(example_copy)
    with pytest.raises(FixError, match="changed since the plan") as info:
        apply_plan(plan, stack.state_dir)
    assert "toolbox-tui fix" in info.value.hint
    assert snapshot(example_copy) == before


def test_target_created_or_source_changed_between_plan_and_apply(example_copy: Path) -> None:
    stack = load(example_copy)
    plan = plan_for(stack)
    (example_copy / REDIS_CAND).write_text("changed\n")
    with pytest.raises(FixError, match="changed since the plan"):
        apply_plan(plan, stack.state_dir)
    plan = plan_for(load(example_copy))
    (example_copy / COMPOSE / ".env").write_text("A=1\n")
    with pytest.raises(FixError, match="exists now"):
        apply_plan(plan, stack.state_dir)


def test_failure_half_way_rolls_back(example_copy: Path) -> None:
    stack = load(example_copy)
    plan = plan_for(stack, "paths.bind.roblox-sync.0=rewrite")
    before = snapshot(example_copy)

    def boom(i, action):
        if i == len(plan.actions) - 1:
            raise OSError(28, "No space left on device")

    with pytest.raises(FixError, match="No space left on device") as info:
        apply_plan(plan, stack.state_dir, before_action=boom)
    assert info.value.rolled_back and info.value.leftovers == ()
    assert snapshot(example_copy) == before
    journal = _journal(info.value.run_dir)
    assert journal["status"] == "rolled_back"
    backups = list((Path(info.value.run_dir) / "backups").iterdir())
    assert [b.read_bytes() for b in backups] == [before[str(BASE)][1]]
    with pytest.raises(FixError, match="no applied fix run"):
        undo(stack.state_dir)


def test_undo_goes_back_one_run_at_a_time(example_copy: Path) -> None:
    s0 = snapshot(example_copy)
    stack = load(example_copy)
    apply_plan(plan_for(stack, "paths.bind.roblox-sync.0=skip", "paths.bind.postgres.1=skip",
                        "env.file.missing=skip"), stack.state_dir)
    s1 = snapshot(example_copy)
    apply_plan(plan_for(load(example_copy), "paths.bind.roblox-sync.0=rewrite"), stack.state_dir)
    assert plan_for(load(example_copy)).actions == ()  # idempotent: nothing left to do
    undo(stack.state_dir)
    assert snapshot(example_copy) == s1
    undo(stack.state_dir)
    assert snapshot(example_copy) == s0
    with pytest.raises(FixError, match="no applied fix run"):
        undo(stack.state_dir)


def test_undo_refuses_when_a_fixed_file_was_edited_afterwards(example_copy: Path) -> None:
    stack = load(example_copy)
    apply_plan(plan_for(stack, "paths.bind.redis.1=rewrite"), stack.state_dir)
    with open(example_copy / BASE, "a") as fh:
        fh.write("# my own edit\n")
    edited = snapshot(example_copy)
    with pytest.raises(FixError, match="changed after the fix") as info:
        undo(stack.state_dir)
    assert "backups" in info.value.hint
    assert snapshot(example_copy) == edited


def test_undo_keeps_a_created_file_the_user_changed(example_copy: Path) -> None:
    stack = load(example_copy)
    apply_plan(plan_for(stack), stack.state_dir)
    env = example_copy / COMPOSE / ".env"
    env.write_text("POSTGRES_USER=me\n")
    res = undo(stack.state_dir)
    assert str(env) in res.kept and env.read_text() == "POSTGRES_USER=me\n"


def test_paths_with_spaces_unicode_and_hash(example_copy: Path, compose_ready: str) -> None:
    from toolbox_tui.engine.compose_cli import config_json

    odd = example_copy / "infra files" / "über #1" / "redis.conf"
    odd.parent.mkdir(parents=True)
    (example_copy / REDIS_CAND).rename(odd)
    stack = load(example_copy)
    (fp,) = [f for f in plan_for(stack).findings if f.finding_id == "paths.bind.redis.1"]
    assert fp.chosen is not None and fp.chosen.candidate == str(odd)
    plan = plan_for(stack, "paths.bind.redis.1=rewrite:1", "env.file.missing=skip")
    (rewrite,) = [a for a in plan.actions if a.kind == "rewrite"]
    apply_plan(plan, stack.state_dir)
    line = (example_copy / BASE).read_text().splitlines()[52]
    assert line == "      - '../../../infra files/über #1/redis.conf:/usr/local/etc/redis/redis.conf:ro'"
    assert "paths.bind.redis.1" not in failing_ids(load(example_copy))
    cfg = config_json(load(example_copy).compose_args())
    assert str(odd) in [v["source"] for v in cfg["services"]["redis"]["volumes"]]


def test_windows_style_reference_in_yaml(example_copy: Path) -> None:
    extra = example_copy / COMPOSE / "docker-compose.win.yml"
    extra.write_bytes(b"services:\r\n  loki:\r\n    volumes:\r\n"
                      b"      - 'C:\\data\\redis.conf:/etc/redis.conf:ro'  # from a Windows laptop\r\n")
    files = ["docker-compose.yml", "docker-compose.dev.yml", "docker-compose.win.yml"]
    stack = load(example_copy, files)
    (fid,) = [c for c in failing_ids(stack) if c.startswith("paths.bind.loki")]
    plan = plan_for(stack, f"{fid}=rewrite:../redis.conf", "paths.bind.redis.1=skip",
                    "paths.bind.postgres.1=skip", "paths.bind.roblox-sync.0=skip",
                    "env.file.missing=skip")
    apply_plan(plan, stack.state_dir)
    assert extra.read_bytes() == (b"services:\r\n  loki:\r\n    volumes:\r\n"
                                  b"      - '../redis.conf:/etc/redis.conf:ro'  # from a Windows laptop\r\n")
    assert fid not in failing_ids(load(example_copy, files))


def test_ctrl_c_half_way_rolls_back_too(example_copy: Path) -> None:
    stack = load(example_copy)
    plan = plan_for(stack, "paths.bind.redis.1=rewrite")
    before = snapshot(example_copy)

    def interrupt(i, action):
        if i == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        apply_plan(plan, stack.state_dir, before_action=interrupt)
    assert snapshot(example_copy) == before
    (run,) = runs_dir(stack).iterdir()
    assert _journal(run)["status"] == "rolled_back"


def test_rewrite_keeps_mode_and_is_atomic(example_copy: Path) -> None:
    os.chmod(example_copy / BASE, 0o640)
    inode = os.stat(example_copy / BASE).st_ino
    stack = load(example_copy)
    apply_plan(plan_for(stack, "paths.bind.redis.1=rewrite"), stack.state_dir)
    st = os.stat(example_copy / BASE)
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_ino != inode  # replaced by rename, never rewritten in place
    assert not [p for p in (example_copy / COMPOSE).iterdir() if p.name.endswith(".tbx-tmp")]


def test_state_lives_outside_the_repository_in_a_private_folder(example_copy: Path) -> None:
    stack = load(example_copy)
    result = apply_plan(plan_for(stack), stack.state_dir)
    state_home = Path(os.environ["XDG_STATE_HOME"])
    assert Path(result.run_dir).is_relative_to(state_home / "toolbox-tui")
    assert not (example_copy / ".toolbox-tui").exists()
    for d in (stack.state_dir.parent, stack.state_dir, Path(result.run_dir)):
        st = os.lstat(d)
        assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.getuid(), d
    assert (stack.state_dir / "root.txt").read_text().strip() == str(example_copy.resolve())


def test_a_readable_state_folder_of_ours_is_made_private(example_copy: Path) -> None:
    # `mkdir -p` (or another tool) left toolbox-tui's folder 0755: the next write tightens it
    stack = load(example_copy)
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    for d in (stack.state_dir.parent, stack.state_dir):
        os.chmod(d, 0o755)
    apply_plan(plan_for(stack), stack.state_dir)
    for d in (stack.state_dir.parent, stack.state_dir):
        assert stat.S_IMODE(os.lstat(d).st_mode) == 0o700, d


@pytest.mark.engine
def test_doctor_is_clean_for_fixed_findings(example_copy: Path, compose_ready: str) -> None:
    from toolbox_tui.checks.doctor import run_doctor

    stack = load(example_copy)
    before = {c.id for c in run_doctor(stack, engine=False, docs=False) if c.status == "fail"}
    assert before >= EXPECTED
    apply_plan(plan_for(stack), stack.state_dir)
    checks = run_doctor(load(example_copy), engine=False, docs=False)
    failing = {c.id for c in checks if c.status == "fail"}
    assert not failing & EXPECTED
    assert not [c for c in checks if c.area == "paths" and c.status == "fail"]
    compose = [c for c in checks if c.area == "compose"]
    assert compose and not [c for c in compose if c.status == "fail"], [c.title for c in compose]


def test_undo_finishes_a_run_that_was_killed_half_way(example_copy: Path) -> None:
    before = snapshot(example_copy)
    stack = load(example_copy)
    result = apply_plan(plan_for(stack, "paths.bind.redis.1=rewrite"), stack.state_dir)
    # What a kill -9 after the last action (before the journal said `applied`) leaves behind.
    journal = _journal(result.run_dir)
    journal["status"] = "applying"
    journal["actions"][-1]["done"] = False
    (Path(result.run_dir) / "journal.json").write_text(json.dumps(journal))
    undo(stack.state_dir)
    assert snapshot(example_copy) == before
