"""The compose file edited on disk while the wizard is open, and the disk filling up part-way
through a write.

Edits: the wizard (driven with Pilot on a copy of the example) shows a plan, then the compose file
changes under it (a path fixed by hand, a new missing bind mount, broken YAML, an override file
deleted, a secret added or removed). The wizard must never write a stale plan, must name the file
that changed, must re-read the project on a re-check (and on every later step), and must show a
YAML error as file:line, never a traceback.

Disk: a small tmpfs with just enough room for the first file(s) of a run but not the rest, swept
page by page so every write of the run is the one that fails once (the backup, the journal, each
copy, the rewrite; each secret file, the override, the secrets journal). Each time: exit 1 or 3, no
traceback, every file old bytes or new bytes (`tree_digest` before == after), no temp file, no
secret file left behind, and the message names the path and says "no space left on device" and
what to do.
"""

from __future__ import annotations

import os
import re
import secrets as pysecrets
import shutil
from pathlib import Path

import pytest

from .invariants import problems, run_exe, tree_digest

from tests.helpers.secrets import make_project, purge_keyring
from toolbox_tui.state_dir import state_dir_for

DISK = "disk fills during a write"
EDIT = "compose file edited while the wizard is open"
PAGE = 4096


# --- disk fills during a write -----------------------------------------------------------------

@pytest.fixture
def tmpfs(small_tmpfs):
    """The 256 KiB tmpfs of tests/hardening/conftest.py."""
    return small_tmpfs


def leave_free(mnt: Path, pages: int) -> None:
    """Fill `mnt` to the last byte, then give back `pages` pages: the next writes get exactly that."""
    filler = mnt / "zz-filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (PAGE, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - pages * PAGE))


def temp_files(root: Path) -> list[str]:
    """Temp files of atomic_files (`.NAME.XXXX.tbx-tmp`, files or directories) anywhere under root."""
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.name.endswith(".tbx-tmp")]


def message_problems(err: str, out: str, path_words: tuple[str, ...]) -> list[str]:
    """The disk-full message names a path, says what happened and what to do."""
    text = (err or out).lower()
    bad = []
    if "no space left on device" not in text:
        bad.append("does not say 'no space left on device'")
    if not any(w.lower() in text for w in path_words):
        bad.append(f"names none of {path_words}")
    if "free some space" not in text:
        bad.append("does not say what to do (free some space)")
    return bad


FIX_COMPOSE = """\
services:
  cache:
    image: busybox
    volumes:
      - ./config/redis.conf:/usr/local/etc/redis/redis.conf:ro
      - ./config/big.dat:/data/big.dat:ro
      - ./config/small.txt:/data/small.txt:ro
"""


def _which_write(err: str) -> str:
    """The write the message says failed, as a case name."""
    m = re.search(r"error: (copy|rewrite|symlink|template) (\S+) failed", err)
    if m:
        return f"`fix --apply`: {m.group(1)} {m.group(2)}"
    if "backup directory" in err:
        return "`fix --apply`: the backup directory"
    m = re.search(r"cannot write \S*/(backups/\S+|journal\.json)", err)
    if m:
        what = "the journal" if m.group(1) == "journal.json" else "the backup of compose.yaml"
        return f"`fix --apply`: {what} (before any change)"
    m = re.search(r"cannot write the fix journal", err)
    if m:
        return "`fix --apply`: the final journal"
    return "`fix --apply`: unrecognised message"


def test_disk_fills_during_fix_apply(tmpfs, record, monkeypatch):
    """Three copies (one 60 KB) and a rewrite of the compose file; free space swept page by page
    from zero until the run fits, so every write of the run is once the one that fails. The
    private state folder (backups, journal) is on the same small filesystem."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmpfs / "state"))
    proj = tmpfs / "proj"
    (proj / "other").mkdir(parents=True)
    (proj / "compose.yaml").write_text(FIX_COMPOSE + "# " + "padding " * 1000 + "\n")
    (proj / "other" / "redis.conf").write_text("maxmemory 1mb\n")
    (proj / "other" / "big.dat").write_bytes(os.urandom(60_000))
    (proj / "other" / "small.txt").write_text("hi\n")
    args = ["fix", "--apply", "--yes", "--choose", "paths.bind.cache.2=rewrite"]
    original = tree_digest(proj)
    compose_bytes = (proj / "compose.yaml").read_bytes()

    seen: dict[str, list[str]] = {}
    failures: list[str] = []
    done = False
    for free in range(0, 40):
        shutil.rmtree(state_dir_for(proj), ignore_errors=True)
        leave_free(tmpfs, free)
        out, err, code = run_exe(args, proj)
        if code == 0:
            done = True
            break
        bad = problems(out, err, code, exits={1, 3})
        now = tree_digest(proj)
        if now != original:
            bad.append("files changed: " + ", ".join(sorted(k for k in set(now) | set(original)
                                                            if now.get(k) != original.get(k))))
        bad += [f"temp file left: {t}" for t in temp_files(proj)]
        bad += message_problems(err, out, ("config/", "compose.yaml", "toolbox-tui/"))
        for backup in state_dir_for(proj).rglob("backups/*"):
            if backup.read_bytes() != compose_bytes:
                bad.append(f"partial backup left: {backup.relative_to(state_dir_for(proj))}")
        for run in (state_dir_for(proj) / "runs").glob("*") if (state_dir_for(proj) / "runs").is_dir() else ():
            if not (run / "journal.json").is_file():
                bad.append(f"run directory without a journal left: {run.name}")
        case = _which_write(err)
        if case not in seen:  # once per failing write (it costs a run): nothing is left to undo
            u_out, u_err, u_code = run_exe(["fix", "--undo"], proj)
            if "no applied fix run" not in u_err:
                bad.append(f"`fix --undo` after the failure: {u_err.strip() or u_out.strip()}")
        seen.setdefault(case, []).append(f"{free}p exit {code}" + (f" BAD {bad}" if bad else ""))
        if bad:
            failures.append(f"{free} free page(s): {bad} | {err.strip()[:300]}")
    assert done, "the run never fitted: the tmpfs is too small for this test"
    for case, runs in seen.items():
        ok = not any("BAD" in r for r in runs)
        record.add(DISK, f"{case} does not fit", "pass" if ok else "fail",
                   f"{len(runs)} free-space level(s): " + "; ".join(runs)[:300])
    record.add(DISK, "`fix --apply` with room for everything (control)", "pass", f"exit 0 at {free} free pages")
    assert not failures, failures
    assert any("copy config/big.dat" in c for c in seen), seen  # the large copy was the one once
    assert any("rewrite" in c for c in seen) and any("before any change" in c for c in seen), seen


def _secrets_project(root: Path, name: str) -> Path:
    compose = """\
services:
  app:
    image: ${TBX_IMAGE:-toolbox-tui/busybox:test}
    command: ["sh", "-c", "sleep 3600"]
    stop_grace_period: 1s  # PID 1 sh ignores SIGTERM: stop would wait 10 s
    secrets: [a_password, b_tls_cert, c_token]
secrets:
  a_password:
    external: true
  b_tls_cert:
    external: true
  c_token:
    external: true
"""
    manifest = """\
project_name: {name}
secrets:
  a_password: {{kind: password}}
  b_tls_cert: {{kind: certificate}}
  c_token: {{kind: token}}
"""
    return make_project(root, name, compose=compose, manifest=manifest)


def _pem(size: int) -> bytes:
    import base64

    body = base64.encodebytes(os.urandom(size * 3 // 4)).decode()
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n".encode()


@pytest.mark.keyring
def test_disk_fills_during_secrets_materialize(tmpfs, tmp_path, keyring_backend, record):
    """Three secrets, the middle one a 100 KB certificate, written to a runtime dir on the tmpfs
    with 0, 1, 2, ... pages free: each secret file in turn is the one that does not fit."""
    name = f"tbxtest-{pysecrets.token_hex(4)}"
    root = _secrets_project(tmp_path / "proj", name)
    pem = tmp_path / "cert.pem"
    pem.write_bytes(_pem(100_000))
    runtime = tmpfs / "runtime"
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime))
    try:
        for args in (["secrets", "generate"], ["secrets", "set", "b_tls_cert", "--from-file", str(pem)]):
            out, err, code = run_exe(args, root)
            assert code == 0, (args, out, err)
        original = tree_digest(root)
        seen: dict[str, list[str]] = {}
        failures = []
        done = False
        for free in [0, 1, 2, 3, 4, 8, 16, 24, 26, 27, 28, 29, 30, 32, 40]:
            shutil.rmtree(runtime, ignore_errors=True)
            (tmpfs / "zz-filler").unlink(missing_ok=True)
            runtime.mkdir(mode=0o700)
            leave_free(tmpfs, free)
            out, err, code = run_exe(["secrets", "materialize", "--target", "compose"], root, env=env)
            if code == 0:
                done = True
                break
            bad = problems(out, err, code, exits={1, 3})
            files = [str(p.relative_to(runtime)) for p in runtime.rglob("*") if p.is_file()]
            bad += [f"secret file left behind: {f}" for f in files]
            bad += [f"temp file left: {t}" for t in temp_files(runtime)]
            if tree_digest(root) != original:
                bad.append("project files changed")
            if (state_dir_for(root) / "compose.secrets.yml").exists():
                bad.append("override written although the secret files were not")
            bad += message_problems(err, out, (f"{runtime}/",))  # a path in it, not just the prefix
            m = re.search(r"cannot write \S*/(\w+):", err)
            case = f"`secrets materialize`: secret file {m.group(1)}" if m else \
                "`secrets materialize`: the private directory"
            seen.setdefault(case, []).append(f"{free}p exit {code}" + (f" BAD {bad}" if bad else ""))
            if bad:
                failures.append(f"{free} free page(s): {bad} | {err.strip()[:300]}")
        assert done, "materialize never fitted: the tmpfs is too small for this test"
        for case, runs in seen.items():
            ok = not any("BAD" in r for r in runs)
            record.add(DISK, f"{case} does not fit", "pass" if ok else "fail",
                       f"{len(runs)} free-space level(s): " + "; ".join(runs)[:300])
        assert not failures, failures
        assert any("b_tls_cert" in c for c in seen), seen  # the large value was the one once
        run_exe(["secrets", "materialize", "--remove"], root, env=env)
    finally:
        purge_keyring(name)


@pytest.mark.keyring
def test_disk_fills_writing_the_secrets_override(tmpfs, tmp_path, keyring_backend, record, monkeypatch):
    """The secret files fit (runtime dir elsewhere) but the state folder's disk is full: the
    override or the secrets journal cannot be written, so the secret files just written must go
    again."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmpfs / "state"))
    name = f"tbxtest-{pysecrets.token_hex(4)}"
    root = make_project(tmpfs / "proj", name)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime))
    try:
        out, err, code = run_exe(["secrets", "generate"], root)
        assert code == 0, err
        original = tree_digest(root)
        seen: dict[str, list[str]] = {}
        failures = []
        for free in (0, 1):
            shutil.rmtree(state_dir_for(root), ignore_errors=True)
            (tmpfs / "zz-filler").unlink(missing_ok=True)
            leave_free(tmpfs, free)
            out, err, code = run_exe(["secrets", "materialize", "--target", "compose"], root, env=env)
            if code == 0:
                break
            bad = problems(out, err, code, exits={1, 3})
            files = [str(p.relative_to(runtime)) for p in runtime.rglob("*") if p.is_file()]
            bad += [f"secret file left behind: {f}" for f in files]
            bad += [f"temp file left: {t}" for t in temp_files(root) + temp_files(runtime)]
            if tree_digest(root) != original:
                bad.append("project files changed")
            override = state_dir_for(root) / "compose.secrets.yml"
            if override.exists():
                bad.append("an override naming secret files that were removed is left")
            bad += message_problems(err, out, ("toolbox-tui/",))
            what = "secrets.json" if "secrets.json" in err else "compose.secrets.yml" \
                if "compose.secrets.yml" in err else "the state directory"
            seen.setdefault(f"`secrets materialize`: {what} (after the secret files)", []).append(
                f"{free}p exit {code}" + (f" BAD {bad}" if bad else ""))
            if bad:
                failures.append(f"{free} free page(s): {bad} | {err.strip()[:300]}")
        for case, runs in seen.items():
            ok = not any("BAD" in r for r in runs)
            record.add(DISK, f"{case} does not fit", "pass" if ok else "fail", "; ".join(runs)[:300])
        assert seen, "the override always fitted: nothing was tested"
        assert not failures, failures
    finally:
        purge_keyring(name)


# --- the compose file edited while the wizard is open -----------------------------------------

SIZE = (110, 34)
COMPOSE_REL = "infrastructure/docker/compose/docker-compose.yml"
DEV_REL = "infrastructure/docker/compose/docker-compose.dev.yml"


# Pilot helpers shared with the wizard tests
from tests.helpers.wizard import screen_text, status, wait_for  # noqa: E402,F401


def make_app(root: Path, name: str, start_step: str):
    pytest.importorskip("textual")
    from toolbox_tui.compose.project import ProjectOptions, load_stack
    from toolbox_tui.screens.wizard.app import WizardApp
    from toolbox_tui.wizard.backend import WizardBackend

    opts = ProjectOptions(project_name=name, cwd=str(root))
    return WizardApp(load_stack(opts), opts, WizardBackend(), start_step=start_step, persist=False,
                     cursor_blink=False)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


async def paths_ready(pilot) -> None:
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.plan is not None and not screen.busy, what="fix plan")


def plan_ids(app) -> list[str]:
    return [f.finding_id for f in app.screen.plan.findings]


async def apply_and_confirm(pilot) -> None:
    await pilot.press("a")
    await wait_for(pilot, lambda: "Apply" in screen_text(pilot.app), what="confirm dialog")
    await pilot.press("y")


def no_traceback(app) -> None:
    text = screen_text(app)
    assert "Traceback" not in text and "Error" not in type(app.screen).__name__, text[-500:]


async def test_paths_plan_refused_after_a_path_is_fixed_by_hand(example_copy, project_name, compose_ready,
                                                                record):
    """Plan shown; the redis bind is corrected by hand in the compose file; apply is refused (no
    stale copy), the message names the file; r re-reads and the plan no longer has that finding."""
    record.case(EDIT, "Paths step: a broken path fixed by hand in the compose file, then apply")
    compose = example_copy / COMPOSE_REL
    app = make_app(example_copy, project_name, "paths")
    async with app.run_test(size=SIZE) as pilot:
        await paths_ready(pilot)
        assert "paths.bind.redis.1" in plan_ids(app)
        edit(compose, "./config/redis.conf:/usr/local/etc/redis", "../redis.conf:/usr/local/etc/redis")
        edited = tree_digest(example_copy)
        await apply_and_confirm(pilot)
        screen = app.screen
        await wait_for(pilot, lambda: screen.stale and not screen.busy, what="apply refused")
        assert tree_digest(example_copy) == edited, "the stale plan wrote something"
        assert "docker-compose.yml changed on disk" in status(app), status(app)
        assert "nothing was written" in status(app) and "re-check" in screen_text(app)
        assert screen.next_blocked() and not screen.check_action("apply", ())
        no_traceback(app)
        await pilot.press("r")
        await wait_for(pilot, lambda: not screen.stale and not screen.busy and screen.plan is not None,
                       what="re-check")
        assert "paths.bind.redis.1" not in plan_ids(app), plan_ids(app)
        assert "changed on disk: read again" in status(app), status(app)
        await apply_and_confirm(pilot)
        await wait_for(pilot, lambda: not screen.busy and "Applied" in status(app), what="applied")
        assert not (example_copy / "infrastructure/docker/compose/config/redis.conf").exists()
        assert (example_copy / "infrastructure/docker/compose/config/postgres-init.sql").is_file()
        assert not [f for f in screen.plan.findings if f.status == "fail" and f.chosen is not None]
    record.note("apply refused naming docker-compose.yml, nothing written; r: plan without the "
                "fixed finding; apply then matched the file on disk")


async def test_paths_new_missing_bind_mount_appears_on_recheck(example_copy, project_name, compose_ready,
                                                               record):
    record.case(EDIT, "Paths step: a new missing bind mount added, then re-check")
    compose = example_copy / COMPOSE_REL
    app = make_app(example_copy, project_name, "paths")
    async with app.run_test(size=SIZE) as pilot:
        await paths_ready(pilot)
        before = plan_ids(app)
        edit(compose, "      - ./config/postgres-init.sql:/docker-entrypoint-initdb.d/init.sql:ro\n",
             "      - ./config/postgres-init.sql:/docker-entrypoint-initdb.d/init.sql:ro\n"
             "      - ./config/added-by-hand.conf:/etc/added.conf:ro\n")
        await pilot.press("r")
        screen = app.screen
        await wait_for(pilot, lambda: not screen.busy and plan_ids(app) != before, what="new plan")
        added = [f for f in screen.plan.findings if "added-by-hand" in (f.title or "")]
        assert added, plan_ids(app)
        assert set(before) <= set(plan_ids(app))
        assert "docker-compose.yml changed on disk" in status(app)
        assert "added-by-hand.conf" in screen_text(app)
        assert app.stack.services["postgres"] is not None
        assert any("added-by-hand" in str(v) for v in app.stack.services["postgres"].data.get("volumes", []))
        new = len(plan_ids(app)) - len(before)
    record.note(f"re-check re-read the file: {new} new finding(s) for the added bind, status names the file")


async def test_paths_broken_yaml_shows_file_and_line(example_copy, project_name, compose_ready, record):
    record.case(EDIT, "Paths step: YAML broken on disk, then apply and re-check")
    compose = example_copy / COMPOSE_REL
    original = compose.read_text()
    app = make_app(example_copy, project_name, "paths")
    async with app.run_test(size=SIZE) as pilot:
        await paths_ready(pilot)
        lines = original.splitlines(keepends=True)
        bad_line = next(i for i, line in enumerate(lines) if line.startswith("  redis:")) + 1
        lines.insert(bad_line, "   broken: [unclosed\n")
        compose.write_text("".join(lines))
        edited = tree_digest(example_copy)
        await apply_and_confirm(pilot)
        screen = app.screen
        await wait_for(pilot, lambda: screen.stale and not screen.busy, what="apply refused")
        assert tree_digest(example_copy) == edited
        await pilot.press("r")
        await wait_for(pilot, lambda: not screen.busy and "does not load" in screen.next_blocked()
                       or "no longer loads" in screen_text(app), what="load error shown")
        text = screen_text(app)
        assert re.search(r"docker-compose\.yml:\d+", text), text[-1500:]
        assert "Traceback" not in text
        assert screen.next_blocked()
        assert not screen.check_action("apply", ())
        compose.write_text(original)
        await pilot.press("r")
        await wait_for(pilot, lambda: not screen.busy and not screen.stale and screen.plan is not None,
                       what="plan back")
        assert "paths.bind.redis.1" in plan_ids(app)
    m = re.search(r"docker-compose\.yml:\d+(:\d+)?", text)
    record.note(f"apply refused; r shows {m.group(0) if m else '?'} in the step, Next blocked; "
                "repaired file: plan back")


async def test_paths_override_file_deleted(example_copy, project_name, compose_ready, record):
    record.case(EDIT, "Paths step: an override file (docker-compose.dev.yml) deleted")
    dev = example_copy / DEV_REL
    app = make_app(example_copy, project_name, "paths")
    async with app.run_test(size=SIZE) as pilot:
        await paths_ready(pilot)
        dev.unlink()
        edited = tree_digest(example_copy)
        await apply_and_confirm(pilot)
        screen = app.screen
        await wait_for(pilot, lambda: screen.stale and not screen.busy, what="apply refused")
        assert "docker-compose.dev.yml" in status(app), status(app)
        assert tree_digest(example_copy) == edited
        await pilot.press("r")
        await wait_for(pilot, lambda: not screen.busy and "docker-compose.dev.yml" in screen_text(app)
                       and "does not exist" in screen_text(app), what="missing file named")
        assert "Traceback" not in screen_text(app)
        assert screen.next_blocked()
    record.note("apply refused naming docker-compose.dev.yml; r: 'compose file ... does not exist', Next blocked")


async def test_secrets_step_follows_secrets_added_and_removed(example_copy, project_name, compose_ready,
                                                              record):
    """On the Secrets step a secret is added to the compose file, then removed again, then the
    YAML is broken: f5 (and every save) re-reads the project; Review re-reads it too."""
    out, err, code = run_exe(["fix", "--apply", "--yes"], example_copy)  # the .env, as Paths would
    assert code in (0, 1), err
    compose = example_copy / COMPOSE_REL
    original = compose.read_text()
    app = make_app(example_copy, project_name, "secrets")
    app.store = app.backend.open_store(app.stack, session=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.entries and screen.missing is not None and not screen.busy,
                       what="inventory")
        names = [e.name for e in screen.entries]
        assert "hand_added_token" not in names

        record.case(EDIT, "Secrets step: a secret added to the compose file")
        edit(compose, "    secrets:\n      - redis_password\n",
             "    secrets:\n      - redis_password\n      - hand_added_token\n")
        compose.write_text(compose.read_text() + "  hand_added_token:\n    external: true\n")
        await pilot.press("f5")
        await wait_for(pilot, lambda: not screen.busy and "hand_added_token" in [e.name for e in screen.entries],
                       what="added secret listed")
        assert "hand_added_token" in (screen.missing or []), screen.missing
        assert "changed on disk" in status(app), status(app)
        assert "hand_added_token" in screen_text(app)
        record.note("f5: new secret listed and required; status names the file")

        record.case(EDIT, "Secrets step: a secret removed from the compose file")
        compose.write_text(original)
        await pilot.press("ctrl+t")  # generate-all also re-reads first
        await wait_for(pilot, lambda: not screen.busy and "hand_added_token" not in [e.name for e in screen.entries],
                       what="removed secret gone")
        await wait_for(pilot, lambda: screen.missing == [], what="all set")
        assert not screen.next_blocked()
        record.note("generate-all re-read the file first: the removed secret left the form and is not required")

        record.case(EDIT, "Secrets step: YAML broken on disk")
        compose.write_text(original.replace("  redis:\n", "  redis:\n   oops: [\n", 1))
        await pilot.press("f5")
        await wait_for(pilot, lambda: not screen.busy and screen.broken, what="load error")
        assert re.search(r"docker-compose\.yml:\d+", status(app)), status(app)
        assert screen.next_blocked() and "Traceback" not in screen_text(app)
        compose.write_text(original)
        await pilot.press("f5")
        await wait_for(pilot, lambda: not screen.busy and not screen.broken and not screen.next_blocked(),
                       what="recovered")
        record.note("status shows docker-compose.yml:LINE, Next blocked; repaired + f5: ready again")

        record.case(EDIT, "Secrets -> Review: a bind mount added while on Secrets")
        edit(compose, "      - ./config/redis.conf:/usr/local/etc/redis/redis.conf:ro\n",
             "      - ./config/redis.conf:/usr/local/etc/redis/redis.conf:ro\n"
             "      - ./config/hand-added.conf:/etc/hand-added.conf:ro\n")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: getattr(app.screen, "STEP", "") == "review", what="review")
        review = app.screen
        await wait_for(pilot, lambda: review.ready is not None and not review.busy, what="review checked")
        assert any("hand-added" in c.title for c in review.ready.checks), \
            [c.title for c in review.ready.checks if c.status == "fail"]
        assert "Paths" in review.next_blocked(), review.next_blocked()
        record.note("Review re-read the file: the new missing bind blocks Start (go back to Paths)")


async def test_review_refuses_start_on_a_stale_project(example_copy, project_name, record):
    """The last gate: the Startup step's engine call refuses a stack whose files changed after the
    review (no secret file written, nothing started) and names the file."""
    record.case(EDIT, "Review -> Start: compose file edited after the review")
    from toolbox_tui.compose.project import ProjectOptions
    from toolbox_tui.secrets.materialize import read_journal
    from toolbox_tui.wizard.backend import WizardBackend

    backend = WizardBackend()
    stack = backend.load(ProjectOptions(project_name=project_name, cwd=str(example_copy)))
    store = backend.open_store(stack, session=True)
    edit(example_copy / COMPOSE_REL, "  redis:\n", "  redis:\n    labels: {edited: 'yes'}\n")
    called = []
    outcome = backend.run_startup(stack, store, on_progress=called.append, on_state=called.append,
                                  on_stack=called.append)
    assert not outcome.ok and "docker-compose.yml changed on disk" in outcome.summary, outcome
    assert "nothing was started" in outcome.summary and not called
    assert not read_journal(stack).get("files")
    fresh, changed = backend.reread(stack, ProjectOptions(project_name=project_name, cwd=str(example_copy)))
    assert changed == [COMPOSE_REL] and fresh.services["redis"].data.get("labels") == {"edited": "yes"}
    record.note(f"refused: {outcome.summary[:100]}")
