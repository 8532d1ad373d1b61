"""A repository is not trusted with toolbox-tui's state (issue 14, cases 1, 2, 3, 5, 6, 10a, 10d).

A newcomer runs toolbox-tui on a repository they just cloned; it may commit any file, including
`.toolbox-tui/` (a fix journal, a secrets record, a secrets override) or a symbolic link by that
name, and a directory on a fix's path may be swapped for a link while the fix runs. Real files,
real links, the installed command where the case is about the command. Invariants: nothing
outside the repository is touched, what the repository ships is never read as state (and the user
is told once), undo and removal act only on what this user's own run recorded and still left.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets as pysecrets
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.helpers.fixes import plan_for
from tests.helpers.secrets import make_project, purge_keyring
from toolbox_tui.compose.project import ProjectOptions, load_stack
from toolbox_tui.fixes.apply import apply_plan
from toolbox_tui.fixes.runs import FixError
from toolbox_tui.state_dir import state_dir_for

from .invariants import problems, run_exe, tree_digest

TRUST = "repository-shipped state and path races (issue 14)"

FIX_COMPOSE = """\
services:
  app:
    image: busybox
    volumes:
      - ./config/app.conf:/etc/app.conf:ro
"""


def _fix_project(root: Path, compose: str = FIX_COMPOSE) -> Path:
    (root / "other").mkdir(parents=True)
    (root / "other" / "app.conf").write_text("setting = 1\n")
    (root / "compose.yaml").write_text(compose)
    return root


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _clean(out: str, err: str, code: int, exits: set[int]) -> None:
    bad = problems(out, err, code, exits=exits)
    assert "internal error" not in err, err
    assert not bad, bad


# --- case 1: a journal the repository ships ------------------------------------------------------

def test_undo_never_runs_a_journal_the_repository_ships(tmp_path, record):
    record.case(TRUST, "`fix --undo` with a committed .toolbox-tui/runs/99991231T0/journal.json "
                       "(delete, overwrite, 0777 dir for uid 65534)")
    root = _fix_project(tmp_path / "repo")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    overwritten = tmp_path / "overwritten.txt"
    overwritten.write_text("mine\n")
    made = tmp_path / "made-by-journal"
    planted = root / ".toolbox-tui" / "runs" / "99991231T0"
    (planted / "backups").mkdir(parents=True)
    (planted / "backups" / "001-x").write_text("the repository's bytes\n")
    (planted.parent / "99991232T0").mkdir()
    entries = [
        {"kind": "copy", "target": str(victim), "created": [{"path": str(victim), "type": "file"}],
         "backup": None, "sha256_before": None, "sha256_after": None, "removed_dir": None, "done": True},
        {"kind": "rewrite", "target": str(overwritten), "created": [], "removed_dir": None,
         "backup": str(planted / "backups" / "001-x"), "sha256_before": "0" * 64,
         "sha256_after": _sha(overwritten), "done": True},
        {"kind": "replace_dir", "target": str(made), "created": [], "backup": None, "done": True,
         "removed_dir": {"path": str(made), "mode": 0o777, "uid": 65534, "gid": 65534}},
    ]
    for d, version in ((planted, 1), (planted.parent / "99991232T0", 2)):
        (d / "journal.json").write_text(json.dumps(
            {"version": version, "status": "applied", "root": str(tmp_path), "allow_outside": True,
             "actions": entries}))

    out, err, code = run_exe(["fix", "--undo"], root)
    _clean(out, err, code, {1})
    assert code == 1 and "no applied fix run" in err, err
    assert victim.read_text() == "keep me\n" and overwritten.read_text() == "mine\n"
    assert not made.exists()
    assert "ignored" in err and ".toolbox-tui" in err, err  # told once, with what to do
    out, err, code = run_exe(["fix", "--undo"], root)
    assert code == 1 and "ignored" not in err, err  # ... and only once

    # the user's own run is what undo acts on
    out, err, code = run_exe(["fix", "--apply", "--yes"], root)
    assert code == 0, err
    assert (root / "config" / "app.conf").read_text() == "setting = 1\n"
    out, err, code = run_exe(["fix", "--undo"], root)
    assert code == 0, err
    assert not (root / "config").exists()
    assert victim.read_text() == "keep me\n" and overwritten.read_text() == "mine\n" and not made.exists()
    record.note("exit 1 'no applied fix run' + one notice; the user's own run undone; "
                "victim files and uid/mode untouched")


# --- case 2: a secrets record the repository ships -----------------------------------------------

def _ssh_like(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    ssh = tmp_path / "home" / ".ssh"
    ssh.mkdir(parents=True, mode=0o700)
    (ssh / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n")
    (ssh / "config").write_text("Host *\n")
    return ssh, tree_digest(ssh)


@pytest.mark.engine
def test_removal_never_follows_a_secrets_record_the_repository_ships(tmp_path, record, project_name,
                                                                     cleanup_project):
    record.case(TRUST, "`secrets materialize --remove`, `down`, the wizard's clean-up with a "
                       "committed .toolbox-tui/secrets.json naming ~/.ssh")
    root = make_project(tmp_path / "repo", cleanup_project(project_name))
    ssh, before = _ssh_like(tmp_path)
    (root / ".toolbox-tui").mkdir()
    (root / ".toolbox-tui" / "secrets.json").write_text(json.dumps(
        {"target": "compose", "dir": str(ssh), "files": {"db_password": str(ssh / "id_ed25519")}}))
    for args in (["secrets", "materialize", "--remove"], ["down"]):
        out, err, code = run_exe(args, root)
        _clean(out, err, code, {0})
        assert tree_digest(ssh) == before, args
    from toolbox_tui.wizard.backend import WizardBackend

    WizardBackend().remove_secret_files(load_stack(ProjectOptions(cwd=str(root))))
    assert tree_digest(ssh) == before and ssh.is_dir()

    # even our own record is checked: a private record naming another folder is not followed
    sd = state_dir_for(root)
    sd.mkdir(parents=True, exist_ok=True, mode=0o700)
    (sd / "secrets.json").write_text(json.dumps(
        {"target": "compose", "dir": str(ssh), "files": {"db_password": str(ssh / "id_ed25519")}}))
    out, err, code = run_exe(["secrets", "materialize", "--remove", "--json"], root)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["removed"] == [] and [k["path"] for k in doc["kept"]] == [str(ssh / "id_ed25519")]
    assert tree_digest(ssh) == before
    record.note("~/.ssh stand-in untouched by all three; a private record naming it: kept, reported")


@pytest.mark.keyring
def test_removal_keeps_a_secret_file_replaced_since(tmp_path, record, keyring_backend):
    record.case(TRUST, "`secrets materialize --remove` after the recorded secret file was replaced "
                       "by another file")
    name = f"tbxtest-{pysecrets.token_hex(4)}"
    root = make_project(tmp_path / "repo", name)
    try:
        assert run_exe(["secrets", "generate"], root)[2] == 0
        out, err, code = run_exe(["secrets", "materialize", "--target", "compose", "--json"], root)
        assert code == 0, err
        files = {f["name"]: Path(f["path"]) for f in json.loads(out)["files"]}
        swapped = files["db_password"]
        swapped.unlink()
        swapped.write_text("a file someone else put here\n")
        out, err, code = run_exe(["secrets", "materialize", "--remove", "--json"], root)
        assert code == 0, err
        doc = json.loads(out)
        assert str(swapped) in [k["path"] for k in doc["kept"]]
        assert swapped.read_text() == "a file someone else put here\n"
        assert str(files["database_url"]) in doc["removed"] and not files["database_url"].exists()
        swapped.unlink()
        swapped.parent.rmdir()
        record.note("replaced file kept and named; the others removed")
    finally:
        purge_keyring(name)


# --- case 3: an override the repository ships ----------------------------------------------------

HOSTILE_OVERRIDE = """\
services:
  app:
    privileged: true
    volumes: ["/:/host"]
"""


def test_a_shipped_secrets_override_is_never_merged(tmp_path, record):
    record.case(TRUST, "committed .toolbox-tui/compose.secrets.yml (privileged, /:/host) and a "
                       "forged one in the private folder without our record")
    root = _fix_project(tmp_path / "repo")
    (root / "config").mkdir()
    (root / "config" / "app.conf").write_text("x\n")
    (root / ".toolbox-tui").mkdir()
    (root / ".toolbox-tui" / "compose.secrets.yml").write_text(HOSTILE_OVERRIDE)
    sd = state_dir_for(root)
    sd.mkdir(parents=True, mode=0o700)
    (sd / "compose.secrets.yml").write_text(HOSTILE_OVERRIDE)
    (sd / "secrets.json").write_text(json.dumps({"override_sha256": "0" * 64}))
    out, err, code = run_exe(["doctor", "--no-engine", "--no-docs", "--json"], root)
    _clean(out, err, code, {0, 1})
    doc = json.loads(out)
    assert doc["project"]["files"] == [str((root / "compose.yaml").resolve())], doc["project"]
    text = json.dumps(doc)
    assert "privileged" not in text and "/host" not in text
    assert "overrides.legacy_state" in {c["id"] for c in doc["checks"]}
    stack = load_stack(ProjectOptions(cwd=str(root)))
    assert stack.secrets_override is None and "privileged" not in stack.services["app"].data
    record.note(f"exit {code}: files = compose.yaml only; legacy folder reported as ignored")


# --- case 5: replace_dir outside the repository --------------------------------------------------

@pytest.mark.parametrize("how", ["../", "absolute"])
def test_replace_dir_refuses_a_target_outside_the_repository(tmp_path, record, how):
    record.case(TRUST, f"default `replace_dir` for an empty directory named by a {how} bind outside "
                       "the repository")
    outside = tmp_path / "outside" / "app.conf"
    outside.mkdir(parents=True)
    src = "../outside/app.conf" if how == "../" else str(outside)
    root = _fix_project(tmp_path / "repo", FIX_COMPOSE.replace("./config/app.conf", src))
    out, err, code = run_exe(["fix", "--json"], root)
    doc = json.loads(out)
    options = [o for f in doc["findings"] for o in f["options"] if o["option"] == "replace_dir"]
    assert options and all("--allow-outside" in (o["refused"] or "") for o in options), doc["findings"]
    out, err, code = run_exe(["fix", "--apply", "--yes"], root)
    _clean(out, err, code, {0, 1})
    assert "Applied" not in out
    assert outside.is_dir() and not any(outside.iterdir())
    fid = doc["findings"][0]["id"]
    out, err, code = run_exe(["fix", "--apply", "--yes", "--choose", f"{fid}=replace_dir"], root)
    assert code == 2 and "--allow-outside" in err, err
    assert outside.is_dir() and not any(outside.iterdir())
    record.note(f"refused: {options[0]['refused'][:90]}")


# --- case 6: links planted or swapped in ----------------------------------------------------------

def test_a_planted_state_link_sends_nothing_outside(tmp_path, record):
    record.case(TRUST, "pre-planted `.toolbox-tui -> ../elsewhere` link, then `fix --apply` and undo")
    root = _fix_project(tmp_path / "repo")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / ".toolbox-tui").symlink_to("../elsewhere")
    out, err, code = run_exe(["fix", "--apply", "--yes"], root)
    assert code == 0, err
    assert "Applied" in out and not any(elsewhere.iterdir())
    runs = state_dir_for(root) / "runs"
    assert [p.name for p in runs.iterdir()] and all((r / "journal.json").is_file() for r in runs.iterdir())
    assert run_exe(["fix", "--undo"], root)[2] == 0
    assert not any(elsewhere.iterdir()) and (root / ".toolbox-tui").is_symlink()
    record.note("backups and journal in the private state folder; ../elsewhere stayed empty")


def test_a_parent_swapped_for_a_link_before_the_copy_is_refused(tmp_path, record):
    record.case(TRUST, "parent directory swapped for a link to outside between preflight and copy")
    root = _fix_project(tmp_path / "repo")
    (root / "config").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    stack = load_stack(ProjectOptions(cwd=str(root)))
    plan = plan_for(stack)
    assert [a.kind for a in plan.actions] == ["copy"]

    def swap(_i, _action):
        os.rename(root / "config", tmp_path / "stash")
        os.symlink(outside, root / "config")

    with pytest.raises(FixError) as info:
        apply_plan(plan, stack.state_dir, before_action=swap)
    assert "symbolic link" in str(info.value) and info.value.rolled_back
    assert not any(outside.iterdir()) and not any((tmp_path / "stash").iterdir())
    record.note(str(info.value)[:110])


def test_a_parent_swapped_back_and_forth_during_fixes_never_lands_outside(tmp_path, record):
    record.case(TRUST, "parent directory swapped for a link to outside, back and forth, while 30 "
                       "fixes run (a real race)")
    root = _fix_project(tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    stash = tmp_path / "stash"
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            try:
                os.rename(root / "config", stash)
                os.symlink(outside, root / "config")
                os.unlink(root / "config")
                os.rename(stash, root / "config")
            except OSError:
                pass

    outcomes = {"applied": 0, "refused": 0}
    for _ in range(30):
        (root / "config").mkdir(exist_ok=True)
        stack = load_stack(ProjectOptions(cwd=str(root)))
        plan = plan_for(stack)
        if not plan.actions:
            continue
        stop.clear()
        t = threading.Thread(target=flip)
        t.start()
        try:
            apply_plan(plan, stack.state_dir)
            outcomes["applied"] += 1
        except FixError:
            outcomes["refused"] += 1
        finally:
            stop.set()
            t.join()
        assert not any(outside.iterdir()), list(outside.iterdir())
        if os.path.islink(root / "config"):
            os.unlink(root / "config")
        shutil.rmtree(root / "config", ignore_errors=True)  # applied inside: the fix's own folder
        shutil.rmtree(stash, ignore_errors=True)
    assert sum(outcomes.values()) >= 20
    record.note(f"{outcomes['applied']} applied inside, {outcomes['refused']} refused, 0 outside")


def test_undo_keeps_a_users_file_that_replaced_a_link_the_fix_made(tmp_path, record):
    record.case(TRUST, "`fix --undo` after the user replaced the symlink the fix created with a file")
    root = _fix_project(tmp_path / "repo")
    out, err, code = run_exe(["fix", "--json"], root)
    fid = json.loads(out)["findings"][0]["id"]
    out, err, code = run_exe(["fix", "--apply", "--yes", "--choose", f"{fid}=symlink"], root)
    assert code == 0, err
    link = root / "config" / "app.conf"
    assert link.is_symlink()
    link.unlink()
    link.write_text("the user's own settings\n")
    out, err, code = run_exe(["fix", "--undo"], root)
    _clean(out, err, code, {0})
    assert link.read_text() == "the user's own settings\n"
    assert "kept" in out and "config/app.conf" in out and "no longer the symbolic link" in out, out
    assert (root / "other" / "app.conf").read_text() == "setting = 1\n"
    record.note(next(line.strip() for line in out.splitlines() if "kept" in line)[:110])


# --- case 10: smaller ------------------------------------------------------------------------------

@pytest.mark.keyring
def test_materialize_leaves_a_git_checkout_clean(tmp_path, record, keyring_backend):
    record.case(TRUST, "`secrets materialize` in a git checkout: nothing untracked appears")
    name = f"tbxtest-{pysecrets.token_hex(4)}"
    root = make_project(tmp_path / "repo", name)
    git = ["git", "-C", str(root), "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    try:
        assert run_exe(["secrets", "generate"], root)[2] == 0
        out, err, code = run_exe(["secrets", "materialize", "--target", "compose"], root)
        assert code == 0, err
        status = subprocess.run([*git, "status", "--porcelain", "--ignored"], capture_output=True,
                                text=True, check=True).stdout
        assert status == "", status
        assert (state_dir_for(root) / "compose.secrets.yml").is_file()
        assert run_exe(["secrets", "materialize", "--remove"], root)[2] == 0
        record.note("git status --porcelain --ignored: empty")
    finally:
        purge_keyring(name)


DOT_COMPOSE = """\
services:
  app:
    image: busybox
    secrets: ["..", "{other}"]
secrets:
  "..":
    external: true
  "{other}":
    external: true
"""


@pytest.mark.keyring
@pytest.mark.parametrize("other", ["api_key", "_.."])
def test_a_secret_named_dot_dot(tmp_path, record, keyring_backend, other):
    record.case(TRUST, f"secrets named '..' and {other!r}: set, materialize, remove")
    name = f"tbxtest-{pysecrets.token_hex(4)}"
    root = make_project(tmp_path / "repo", name, compose=DOT_COMPOSE.format(other=other),
                        manifest="project_name: {name}\n")
    try:
        for secret in ("..", other):
            out, err, code = run_exe(["secrets", "set", secret], root, stdin=b"value-" + os.urandom(4).hex().encode())
            assert code == 0, err
        out, err, code = run_exe(["secrets", "materialize", "--target", "compose", "--json"], root)
        _clean(out, err, code, {0, 1})
        if other == "_..":
            assert code == 1 and "'..'" in err and "'_..'" in err and "rename" in err, err
            record.note(err.strip().splitlines()[0][:110])
            return
        assert code == 0, err
        files = {f["name"]: Path(f["path"]) for f in json.loads(out)["files"]}
        assert files[".."].name == "_.." and files[".."].is_file()
        assert files[".."].parent == files["api_key"].parent
        assert run_exe(["secrets", "materialize", "--remove"], root)[2] == 0
        assert not files[".."].parent.exists()
        record.note("'..' written as _.. in the private folder, removed again")
    finally:
        purge_keyring(name)


# --- the private state folder itself ---------------------------------------------------------------

@pytest.mark.parametrize("how", ["a symbolic link", "owned by another user", "group-writable"])
def test_an_unsafe_state_folder_is_refused(tmp_path, record, how):
    record.case(TRUST, f"the private state folder is {how}: `fix --apply` refuses")
    root = _fix_project(tmp_path / "repo")
    sd = state_dir_for(root)
    sd.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if how == "a symbolic link":
        sd.symlink_to(elsewhere)
    else:
        sd.mkdir(mode=0o700)
        if how == "owned by another user":
            os.chown(sd, 65534, 65534)
        else:
            os.chmod(sd, 0o770)
    before = tree_digest(root)
    try:
        out, err, code = run_exe(["fix", "--apply", "--yes"], root)
        _clean(out, err, code, {1, 3})
        assert code in (1, 3) and "Applied" not in out
        assert str(sd) in err and "refusing to use it" in err and "hint:" in err, err
        assert tree_digest(root) == before and not any(elsewhere.iterdir())
        record.note(err.strip().splitlines()[0][:120])
    finally:
        if sd.is_symlink():
            sd.unlink()
        else:
            shutil.rmtree(sd)
