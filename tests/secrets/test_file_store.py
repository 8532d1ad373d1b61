"""The encrypted file store (`--store file`, issue 18): the real file on disk, the real CLI on a
real terminal (a pty as controlling terminal; the passphrase is typed on /dev/tty, the value comes
on stdin), with no D-Bus session, as over SSH on a server.

Proved here: store and read back across processes; the file is 0600 in a 0700 folder, under the
XDG data folder, never in the repository; a wrong passphrase, a damaged file, an unsafe file
(open to others, a link, a folder) and no terminal are each a clear error (exit 3, no traceback),
and none of them creates a new store or changes the file; neither the passphrase nor the value
ever reaches the terminal, stdout, stderr or the file in clear; the Secret Service stays the
default when it is there.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
from pathlib import Path

import pytest

from tests.helpers.secrets import make_project, run_cli
from tests.helpers.tty import headless_env, run_on_tty

PASSPHRASE = "Passphrase-" + secrets.token_hex(8)
ASK_NEW = [("New passphrase: ", PASSPHRASE), ("Type it again: ", PASSPHRASE)]
ASK = [("Passphrase for the encrypted secret store", PASSPHRASE)]


@pytest.fixture
def headless(tmp_path):
    """(project root, environment, store file) for a server session with no Secret Service."""
    name = f"tbxtest-{secrets.token_hex(4)}"
    root = make_project(tmp_path / "repo", name)
    data = tmp_path / "xdg-data"
    return root, headless_env(data), data / "toolbox-tui" / "secrets.cfg"


def _no_leak(run, *values: str) -> None:
    for where in (run.stdout, run.stderr, run.terminal):
        for value in values:
            assert value not in where, f"a secret reached the output: {where!r}"
    assert "Traceback" not in run.stdout + run.stderr


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_store_and_read_back_across_processes(headless) -> None:
    root, env, store = headless
    canary = "Canary" + secrets.token_hex(12)
    first = run_on_tty(["secrets", "set", "db_password", "--store", "file", "--json"], root, ASK_NEW,
                       env=env, stdin=canary + "\n")
    assert first.returncode == 0, first.stderr + first.terminal
    assert json.loads(first.stdout) == {"name": "db_password", "kind": "password", "set": True,
                                        "store": "encrypted-file"}
    assert "creating" in first.terminal and str(store) in first.terminal
    _no_leak(first, canary, PASSPHRASE)
    # the file: where the README says, ours, 0600 in 0700, nothing readable in it, not in the repo
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.parent).st_mode) == 0o700
    raw = store.read_bytes()
    assert canary.encode() not in raw and PASSPHRASE.encode() not in raw
    assert b"[Argon2] AES128.GCM" in raw
    assert not [p for p in root.rglob("*") if "secrets.cfg" in p.name]

    # a second process, the choice made by the environment this time
    listed = run_on_tty(["secrets", "list", "--json"], root, ASK, env={**env, "TOOLBOX_TUI_STORE": "file"})
    assert listed.returncode == 0, listed.stderr + listed.terminal
    data = json.loads(listed.stdout)
    assert data["backend"] == f"encrypted file {store}"
    rows = {r["name"]: r for r in data["secrets"]}
    assert rows["db_password"]["set"] and rows["db_password"]["store"] == "encrypted-file"
    assert rows["database_url"]["set"]  # derived from the stored value
    _no_leak(listed, canary, PASSPHRASE)
    human = run_on_tty(["secrets", "list", "--store", "file"], root, ASK, env=env)
    assert f"(store: encrypted file {store})" in human.stdout, human.stdout + human.stderr

    # the value itself, read back by the engine in this process with the same passphrase
    from toolbox_tui.secrets.store import open_file_store

    name = json.loads(listed.stdout)["project"]
    got = open_file_store(name, lambda new, path: PASSPHRASE, path=store)
    assert got.get("db_password") == canary


def test_wrong_passphrase_is_a_clear_error_and_changes_nothing(headless) -> None:
    root, env, store = headless
    made = run_on_tty(["secrets", "generate", "--store", "file"], root, ASK_NEW, env=env)
    assert made.returncode == 0, made.stderr + made.terminal
    before = _digest(store)
    wrong = "Wrong-" + secrets.token_hex(8)
    run = run_on_tty(["secrets", "list", "--store", "file"], root,
                     [("Passphrase for the encrypted secret store", wrong)], env=env)
    assert run.returncode == 3
    assert f"wrong passphrase for the encrypted secret store {store}" in run.stderr
    assert "nothing was read or changed" in run.stderr and "hint:" in run.stderr.lower()
    _no_leak(run, wrong, PASSPHRASE)
    assert _digest(store) == before


@pytest.mark.parametrize("damage", ["garbage", "truncated", "entry", "empty-section"])
def test_damaged_store_is_refused_not_replaced(headless, damage) -> None:
    root, env, store = headless
    assert run_on_tty(["secrets", "generate", "--store", "file"], root, ASK_NEW, env=env).returncode == 0
    raw = store.read_bytes()
    store.write_bytes({"garbage": b"\x00\xffnot an ini file [[[\n",
                       "truncated": raw[:60],  # inside the passphrase check entry
                       "entry": raw.replace(b"scheme", b"scheme", 1).replace(b"\teyJ", b"\t!!!", 1),
                       "empty-section": b"[some_other_section]\nx = 1\n"}[damage])
    before = _digest(store)
    run = run_on_tty(["secrets", "list", "--store", "file"], root, ASK, env=env)
    assert run.returncode == 3, run.stdout + run.stderr
    assert f"the encrypted secret store {store} is damaged" in run.stderr
    assert "move it away" in run.stderr
    assert "Traceback" not in run.stderr
    assert _digest(store) == before, "a damaged store is never replaced by a new one"


def test_echo_is_off_before_the_passphrase_prompt_shows(monkeypatch) -> None:
    """Echo goes off before the prompt is written (as getpass does): set after it, a passphrase
    typed or pasted the moment the prompt showed was echoed in clear, then flushed by TCSAFLUSH,
    leaving the prompt waiting (a loaded CI run timed out on it). A real pty; the order of the
    terminal calls recorded."""
    import termios
    import threading

    from toolbox_tui.cli import passphrase

    master, slave = os.openpty()
    calls: list[str] = []
    real_set, real_say = termios.tcsetattr, passphrase._say

    def tcsetattr(fd, when, attrs):
        calls.append("echo-off" if not attrs[3] & termios.ECHO else "echo-on")
        real_set(fd, when, attrs)

    def say(fd, text):
        calls.append(f"say:{text}")
        real_say(fd, text)
        if text == "P: ":
            os.write(master, b"typed-at-once\n")  # the answer the moment the prompt shows

    monkeypatch.setattr(termios, "tcsetattr", tcsetattr)
    monkeypatch.setattr(passphrase, "_say", say)
    got: list[str] = []
    t = threading.Thread(target=lambda: got.append(passphrase._read_hidden(slave, "P: ")), daemon=True)
    try:
        t.start()
        t.join(10)
        assert got == ["typed-at-once"], calls
        assert calls.index("echo-off") < calls.index("say:P: "), calls
        assert calls[-2:] == ["echo-on", "say:\n"], calls
    finally:
        os.close(master)
        os.close(slave)


def test_a_passphrase_typed_the_moment_the_prompt_shows_is_hidden_and_read(headless) -> None:
    root, env, store = headless
    run = run_on_tty(["secrets", "generate", "--store", "file"], root, ASK_NEW, env=env, delay=0,
                     timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr + run.terminal
    _no_leak(run, PASSPHRASE)


@pytest.mark.parametrize("unsafe", ["mode", "symlink", "directory", "folder-mode", "owner"])
def test_unsafe_store_is_refused_before_the_passphrase(headless, tmp_path, unsafe) -> None:
    root, env, store = headless
    assert run_on_tty(["secrets", "generate", "--store", "file"], root, ASK_NEW, env=env).returncode == 0
    if unsafe == "mode":
        os.chmod(store, 0o644)
        expect = "readable or writable by others (mode 644)"
    elif unsafe == "symlink":
        target = tmp_path / "elsewhere.cfg"
        store.rename(target)
        store.symlink_to(target)
        expect = "is a symbolic link"
    elif unsafe == "directory":
        store.unlink()
        store.mkdir()
        expect = "not a regular file"
    elif unsafe == "folder-mode":
        os.chmod(store.parent, 0o755)
        expect = "open to other users (mode 755)"
    else:
        if os.getuid() != 0:
            pytest.skip("changing a file's owner needs root")
        os.chown(store, 65534, 65534)
        expect = "belongs to uid 65534"
    run = run_on_tty(["secrets", "list", "--store", "file"], root, [], env=env)
    assert run.returncode == 3, run.stdout + run.stderr
    assert expect in run.stderr and "Passphrase" not in run.terminal
    assert "Traceback" not in run.stderr


@pytest.fixture
def request_cleanup():
    """Folders outside tmp_path to remove after the test."""
    import shutil

    made: list[Path] = []
    yield made
    for p in made:
        shutil.rmtree(p, ignore_errors=True)


def test_unreadable_store_is_a_clear_error(headless, request_cleanup) -> None:
    """A store its owner cannot read (mode 000, the child running as that owner, not root) is
    named, never taken for an absent one and replaced by a new store."""
    import shutil
    import subprocess

    if os.getuid() != 0:
        pytest.skip("needs root to run the child as another user")
    system_python = shutil.which("python3", path="/usr/bin:/bin")
    if system_python is None:
        pytest.fail("no /usr/bin/python3 to run the probe as another user")
    import tempfile

    root, env, _store = headless
    data = Path(tempfile.mkdtemp(prefix="tbxtest-data-", dir="/tmp"))  # pytest's tmp is 0700 root
    request_cleanup.append(data)
    os.chmod(data, 0o755)
    env = {**env, "XDG_DATA_HOME": str(data)}
    store = data / "toolbox-tui" / "secrets.cfg"
    assert run_on_tty(["secrets", "generate", "--store", "file"], root, ASK_NEW, env=env).returncode == 0
    os.chmod(store, 0o000)
    for p in (store.parent, store):
        os.chown(p, 65534, 65534)
    before = _digest(store)

    def as_nobody() -> None:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)

    import toolbox_tui

    probe = ("import sys; from pathlib import Path\n"
             "sys.path.insert(0, sys.argv[2])\n"
             "from toolbox_tui.secrets.file_store import unlock\n"
             "from toolbox_tui.secrets.store import StoreError\n"
             "try:\n    unlock('x' * 12, create=True, path=Path(sys.argv[1]))\n"
             "except StoreError as e:\n    print(e.reason, e, '|', e.hint)\n"
             "else:\n    print('opened')\n")
    proc = subprocess.run([system_python, "-c", probe, str(store),
                           str(Path(toolbox_tui.__file__).resolve().parents[1])],
                          capture_output=True, text=True, preexec_fn=as_nobody, timeout=60, cwd="/",
                          env={"PATH": "/usr/bin:/bin", "HOME": "/"})
    assert proc.stdout.startswith("unreadable "), proc.stdout + proc.stderr
    assert f"the encrypted secret store {store} cannot be read (Permission denied)" in proc.stdout
    assert _digest(store) == before


def test_no_terminal_is_a_clear_error_and_creates_nothing(headless) -> None:
    root, env, store = headless
    proc = run_cli(["secrets", "list", "--store", "file"], root, env=env)  # no controlling terminal here?
    if os.isatty(0) or _has_tty():
        pytest.skip("this test process has a controlling terminal")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "needs its passphrase, typed on a terminal" in proc.stderr
    assert "never taken from arguments, the environment or stdin" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not store.exists()


def _has_tty() -> bool:
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return False
    return True


def test_new_store_refuses_mismatch_and_short_passphrases(headless) -> None:
    root, env, store = headless
    run = run_on_tty(["secrets", "list", "--store", "file"], root,
                     [("New passphrase: ", PASSPHRASE), ("Type it again: ", PASSPHRASE + "x")], env=env)
    assert run.returncode == 2 and "the two passphrases differ; no store was created" in run.stderr
    assert not store.exists()
    run = run_on_tty(["secrets", "list", "--store", "file"], root,
                     [("New passphrase: ", "short"), ("Type it again: ", "short")], env=env)
    assert run.returncode == 3 and "too short" in run.stderr
    assert not store.exists()
    _no_leak(run, PASSPHRASE)


def test_bad_store_choice_in_the_environment_is_a_usage_error(headless) -> None:
    root, env, _store = headless
    proc = run_cli(["secrets", "list"], root, env={**env, "TOOLBOX_TUI_STORE": "plaintext"})
    assert proc.returncode == 2 and "TOOLBOX_TUI_STORE='plaintext' is not a secret store" in proc.stderr


def test_without_a_choice_there_is_no_silent_fallback(headless) -> None:
    """No Secret Service and no choice: exit 3 naming the choices, `--store file` among them."""
    root, env, store = headless
    env = {k: v for k, v in env.items() if k != "PYTHON_KEYRING_BACKEND"}  # keyring's own pick
    proc = run_cli(["secrets", "list"], root, env=env)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "no secure keyring" in proc.stderr and "--store file" in proc.stderr
    assert not store.exists()


@pytest.mark.keyring
def test_the_secret_service_stays_the_default(keyring_backend, headless) -> None:
    from toolbox_tui.secrets.keyring_backend import detect_backend

    root, _env, store = headless
    info = detect_backend()
    assert info.secure and info.name == "keyring.backends.SecretService.Keyring"
    env = {k: v for k, v in os.environ.items() if k not in ("TOOLBOX_TUI_STORE",)}
    env["XDG_DATA_HOME"] = str(store.parent.parent)
    proc = run_cli(["secrets", "list", "--json"], root, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["backend"] == "keyring.backends.SecretService.Keyring"
    assert not store.exists()


def test_doctor_says_which_store_is_in_use(headless) -> None:
    root, env, store = headless
    env = {k: v for k, v in env.items() if k != "PYTHON_KEYRING_BACKEND"}
    none = run_cli(["doctor", "--json", "--no-docs"], root, env=env)
    check = {c["id"]: c for c in json.loads(none.stdout)["checks"]}["secrets.store"]
    assert check["status"] == "warn" and "no secure keyring" in check["title"]
    assert "--store file" in check["hint"]
    chosen = run_cli(["doctor", "--json", "--no-docs"], root, env={**env, "TOOLBOX_TUI_STORE": "file"})
    check = {c["id"]: c for c in json.loads(chosen.stdout)["checks"]}["secrets.store"]
    assert check["status"] == "pass" and check["title"].startswith(f"secret store: encrypted file {store}")
    assert not store.exists(), "doctor never creates the store"
