"""Keyring faults on a real gnome-keyring: locked, daemon killed mid-run, daemon hung.

Each test starts its *own* D-Bus session bus and gnome-keyring-daemon (`PrivateKeyring`), so the
suite's keyring (scripts/test.sh) is never locked or killed; the CLI is pointed at the private bus
through `DBUS_SESSION_BUS_ADDRESS`. What really happens, measured here (gnome-keyring 42, gcr 3):

- Locked collection, no display: the daemon activates gcr-prompter, which cannot open a display
  and exits; the prompt is dismissed and keyring raises `KeyringLocked` within ~0.1 s. The same
  with a stale `DISPLAY` (no X server there). A prompt that *is* shown and never answered, or a
  hung daemon, would block forever: `secret_store` bounds every call (`TOOLBOX_TUI_KEYRING_TIMEOUT`).
- Daemon killed: the bus re-activates gnome-keyring on the next call (the standard session config
  makes it activatable); the new daemon loads the keyring from disk *locked*. A call that was in
  flight when the daemon died gets D-Bus `NoReply`. A new process finds no Secret Service owner and
  refuses with the explicit choice (`NoSecureKeyring`).

What must hold in every case: exit 1 or 3, no traceback, a message that says what is wrong
(locked / gone / no answer) and what to do, no secret value in the output, no file written.
"""

from __future__ import annotations

import os
import secrets as pysecrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from .invariants import EXE, problems, run_exe

pytestmark = pytest.mark.keyring

SECRETS_BUS_NAME = "org.freedesktop.secrets"

_NO_ACTIVATION_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={run}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
"""A session bus with no service directories: nothing is auto-started when the keyring dies."""


def _need(tool: str) -> None:
    from shutil import which

    if which(tool) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is missing: run .ci/provision.sh")
        pytest.skip(f"{tool} is not installed")


class PrivateKeyring:
    """A dbus-daemon and a gnome-keyring-daemon that this test started (and stops, by pid)."""

    def __init__(self, root: Path, *, activation: bool = True, display: str | None = None) -> None:
        self.root = root
        """Private directories: bus socket + keyring control dir, keyring data, HOME."""
        self.password = pysecrets.token_hex(12).encode()
        """The keyring's password (known to the test only, so it can unlock again)."""
        self.activation = activation
        """Whether the bus may auto-start gnome-keyring (the standard session config does)."""
        self.display = display
        """DISPLAY for the bus and daemon (None: none, as on a headless box)."""
        self.bus: subprocess.Popen | None = None
        self.daemon: subprocess.Popen | None = None
        self.address = ""
        """The bus address handed to the CLI as DBUS_SESSION_BUS_ADDRESS."""
        self.extra_pids: set[int] = set()
        """Secret Service daemons the bus auto-started (found by D-Bus name, stopped by pid)."""

    def _env(self) -> dict[str, str]:
        env = dict(os.environ, XDG_RUNTIME_DIR=str(self.root / "run"),
                   XDG_DATA_HOME=str(self.root / "data"), HOME=str(self.root / "home"))
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        if self.display:
            env["DISPLAY"] = self.display
        if self.address:
            env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        return env

    def start(self) -> "PrivateKeyring":
        _need("dbus-daemon")
        _need("gnome-keyring-daemon")
        for d in ("run", "data", "home"):
            (self.root / d).mkdir(parents=True, mode=0o700, exist_ok=True)
        if self.activation:
            cmd = ["dbus-daemon", "--session", f"--address=unix:dir={self.root / 'run'}"]
        else:
            conf = self.root / "bus.conf"
            conf.write_text(_NO_ACTIVATION_CONFIG.format(run=self.root / "run"))
            cmd = ["dbus-daemon", f"--config-file={conf}"]
        self.bus = subprocess.Popen([*cmd, "--nofork", "--print-address=1"], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, env=self._env(), start_new_session=True)
        self.address = self.bus.stdout.readline().decode().strip()  # type: ignore[union-attr]
        assert self.address.startswith("unix:"), f"dbus-daemon printed {self.address!r}"
        self.daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=self._env(), start_new_session=True)
        self.daemon.stdin.write(self.password)  # type: ignore[union-attr]
        self.daemon.stdin.close()  # type: ignore[union-attr]
        # Wait for *our* daemon to own the name before any Secret Service call: a call made
        # earlier would make the bus activate a second, locked daemon that wins the name.
        deadline = time.monotonic() + 15
        owner = None
        while time.monotonic() < deadline:
            owner = self.service_pid()
            if owner is not None:
                break
            assert self.daemon.poll() is None, f"gnome-keyring-daemon exited {self.daemon.returncode}"
            time.sleep(0.05)
        assert owner == self.daemon.pid, f"org.freedesktop.secrets is owned by pid {owner}, not ours"
        while self.collection_locked():  # the unlock with our password may still be in progress
            assert time.monotonic() < deadline, "the private keyring came up locked"
            time.sleep(0.05)
        return self

    # --- D-Bus helpers (the test's own connection to the private bus) -----------------------------

    def connect(self):  # noqa: ANN201
        from jeepney.io.blocking import open_dbus_connection

        return open_dbus_connection(bus=self.address)

    def collection_locked(self) -> bool:
        import secretstorage

        with self.connect() as conn:
            return secretstorage.get_default_collection(conn).is_locked()

    def lock(self) -> None:
        """Lock the default collection for real (Secret Service `Lock`)."""
        import secretstorage

        with self.connect() as conn:
            secretstorage.get_default_collection(conn).lock()
        assert self.collection_locked()

    def unlock(self) -> None:
        """Unlock with the password, no prompt (gnome-keyring's own D-Bus interface)."""
        from secretstorage.util import DBusAddressWrapper, format_secret, open_session

        with self.connect() as conn:
            service = DBusAddressWrapper("/org/freedesktop/secrets", "org.freedesktop.Secret.Service", conn)
            path = service.call("ReadAlias", "s", "default")[0]
            internal = DBusAddressWrapper("/org/freedesktop/secrets",
                                          "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface", conn)
            internal.call("UnlockWithMasterPassword", "o(oayays)", path,
                          format_secret(open_session(conn), self.password, "text/plain"))
        assert not self.collection_locked()

    def service_pid(self) -> int | None:
        """The pid owning org.freedesktop.secrets on the private bus now (None: no owner)."""
        from jeepney import DBus

        with self.connect() as conn:
            reply = conn.send_and_get_reply(DBus().GetConnectionUnixProcessID(SECRETS_BUS_NAME), timeout=5)
        if reply.header.message_type.name == "error":
            return None
        return int(reply.body[0])

    def kill_daemon(self) -> int:
        """SIGKILL the Secret Service daemon that serves the bus now; returns its pid."""
        pid = self.service_pid()
        assert pid, "no Secret Service owner on the private bus"
        os.kill(pid, signal.SIGKILL)
        if self.daemon is not None and pid == self.daemon.pid:
            self.daemon.wait(10)
        deadline = time.monotonic() + 10
        while self.service_pid() == pid and time.monotonic() < deadline:
            time.sleep(0.05)
        return pid

    def cli_env(self, tmp: Path, **extra: str) -> dict[str, str]:
        """Environment for the CLI: the private bus, and a private runtime dir and TMPDIR to watch."""
        (tmp / "cli-runtime").mkdir(mode=0o700, exist_ok=True)
        (tmp / "cli-tmp").mkdir(mode=0o700, exist_ok=True)
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.address,
                   XDG_RUNTIME_DIR=str(tmp / "cli-runtime"), TMPDIR=str(tmp / "cli-tmp"))
        env.pop("DISPLAY", None)
        env.update(extra)
        return env

    def close(self) -> None:
        try:
            pid = self.service_pid() if self.bus and self.bus.poll() is None else None
        except Exception:  # noqa: BLE001
            pid = None
        if pid and (self.daemon is None or pid != self.daemon.pid):
            self.extra_pids.add(pid)
        for pid in self.extra_pids:
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in (self.daemon, self.bus):
            if proc is not None and proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


@pytest.fixture
def private_keyring():
    """Factory: `private_keyring(activation=..., display=...)` -> a started PrivateKeyring."""
    started: list[PrivateKeyring] = []

    def start(**kw) -> PrivateKeyring:  # noqa: ANN003
        # a short root: the bus socket lives in it, and a unix socket path has at most 107
        # bytes (tmp_path under a pytest-xdist worker is longer than that allows)
        kr = PrivateKeyring(Path(tempfile.mkdtemp(prefix="tbxkr-")), **kw)
        started.append(kr)
        return kr.start()

    yield start
    for kr in started:
        kr.close()
        shutil.rmtree(kr.root, ignore_errors=True)


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


def _first_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("toolbox-tui: error")]
    return (lines or err.strip().splitlines() or [""])[0][:150]


def _assert_refused(out: str, err: str, code: int, canary: str, *words: str) -> None:
    bad = problems(out, err, code, secret=canary, exits={1, 3})
    assert not bad, (bad, err)
    low = err.lower()
    for w in words:
        assert w.lower() in low, (w, err)
    assert "--store session" in err, err


# --- 1. keyring locked --------------------------------------------------------------------------

LOCKED_COMMANDS = [
    ("secrets set db_password", ["secrets", "set", "db_password"]),
    ("secrets list", ["secrets", "list"]),
    ("secrets materialize", ["secrets", "materialize"]),
    ("secrets generate", ["secrets", "generate"]),
    ("secrets set --json", ["secrets", "set", "db_password", "--json"]),
]


@pytest.mark.parametrize("display", [None, ":97"], ids=["no DISPLAY", "stale DISPLAY"])
def test_locked_keyring_refuses_fast_and_says_locked(display, private_keyring, secrets_project, tmp_path, record):
    name, root = secrets_project
    kr = private_keyring(display=display)
    env = kr.cli_env(tmp_path)
    canary = "CANARY" + pysecrets.token_hex(8)
    # a value stored while unlocked, so `list` and `materialize` have something to read
    out, err, code = run_exe(["secrets", "set", "db_password"], root, stdin=canary.encode(), env=env)
    assert code == 0, err
    kr.lock()
    before = _files(root) | _files(tmp_path / "cli-runtime") | _files(tmp_path / "cli-tmp")
    where = "no display" if display is None else f"DISPLAY={display} with no X server"
    for label, cmd in LOCKED_COMMANDS:
        record.case("keyring locked", f"{label} ({where})")
        t0 = time.monotonic()
        out, err, code = run_exe(cmd, root, stdin=(canary + "-new").encode(), env=env, timeout=60)
        took = time.monotonic() - t0
        _assert_refused(out, err, code, canary, "keyring is locked", "gnome-keyring-daemon --replace --unlock")
        assert canary + "-new" not in out + err
        assert took < 30, f"{label} took {took:.1f} s on a locked keyring"
        after = _files(root) | _files(tmp_path / "cli-runtime") | _files(tmp_path / "cli-tmp")
        assert after == before, f"{label} wrote {sorted(after - before)}"
        record.note(f"exit {code} in {took:.1f} s (unlock prompt dismissed: no display): {_first_error(err)}")
    # the way back: unlock (what the hint says), and the same commands work again
    record.case("keyring locked", f"unlocked again: set + list work ({where})")
    kr.unlock()
    out, err, code = run_exe(["secrets", "set", "db_password"], root, stdin=(canary + "-2").encode(), env=env)
    assert code == 0 and not problems(out, err, code, secret=canary), err
    out, err, code = run_exe(["secrets", "list", "--json"], root, env=env)
    assert code == 0, err
    import json

    assert {r["name"]: r["set"] for r in json.loads(out)["secrets"]}["db_password"] is True
    record.note("after UnlockWithMasterPassword: set exit 0, list shows db_password set")


def test_wizard_backend_turns_locked_keyring_into_a_message(private_keyring, secrets_project, monkeypatch, record):
    """The wizard's secrets step runs backend calls in `run_job`, which shows `user_error(exc)`."""
    record.case("keyring locked", "wizard secrets step (store_value, secret_status)")
    from toolbox_tui.compose.project import ProjectOptions, load_stack
    from toolbox_tui.screens.wizard.step_base import user_error
    from toolbox_tui.secrets.store import StoreError
    from toolbox_tui.wizard.backend import WizardBackend

    name, root = secrets_project
    kr = private_keyring()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", kr.address)
    backend = WizardBackend()
    stack = load_stack(ProjectOptions(project_dir=str(root), cwd=str(root)))
    store = backend.open_store(stack)
    canary = "CANARY" + pysecrets.token_hex(8)
    backend.store_value(store, "db_password", canary)
    kr.lock()
    texts = []
    for call in (lambda: backend.store_value(store, "db_password", canary + "x"),
                 lambda: backend.secret_status(stack, backend.inventory(stack), store),
                 lambda: backend.missing_secrets(stack, store)):
        with pytest.raises(StoreError) as info:
            call()
        text = user_error(info.value)
        assert "keyring is locked" in text and "--store session" in text, text
        assert canary not in text
        texts.append(text)
    record.note("StoreError -> step status: " + texts[0][:120])


# --- 2. keyring daemon gone mid-run -------------------------------------------------------------

def _wait_for_keyring_call(pid: int, timeout: float = 20) -> None:
    """Wait until the CLI `pid` runs its bounded keyring call (a second thread appears)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if len(os.listdir(f"/proc/{pid}/task")) >= 2:
                time.sleep(0.3)  # the call is on the wire; the stopped daemon does not answer
                return
        except FileNotFoundError:
            return
        time.sleep(0.02)
    raise AssertionError("the CLI never reached its keyring call")


def test_daemon_killed_while_the_cli_waits_on_it(private_keyring, secrets_project, tmp_path, record):
    """SIGSTOP the daemon, start `secrets set`, wait until it is inside the keyring call, SIGKILL
    the daemon: the pending call gets D-Bus NoReply; the CLI says the daemon is gone."""
    record.case("keyring daemon gone mid-run", "SIGKILL while `secrets set` waits on the daemon")
    name, root = secrets_project
    kr = private_keyring()
    env = kr.cli_env(tmp_path)
    canary = "CANARY" + pysecrets.token_hex(8)
    pid = kr.service_pid()
    os.kill(pid, signal.SIGSTOP)
    env.pop("TOOLBOX_TUI_DEBUG", None)
    env["NO_COLOR"] = "1"
    before = _files(root) | _files(tmp_path / "cli-runtime") | _files(tmp_path / "cli-tmp")
    proc = subprocess.Popen([EXE, "secrets", "set", "db_password"], cwd=root, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(canary.encode())  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
        proc.stdin = None
        _wait_for_keyring_call(proc.pid)
        assert proc.poll() is None, "the CLI finished before the daemon was killed"
        kr.kill_daemon()
        raw_out, raw_err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out, err, code = raw_out.decode(), raw_err.decode(), proc.returncode
    _assert_refused(out, err, code, canary, "keyring daemon is gone")
    assert _files(root) | _files(tmp_path / "cli-runtime") | _files(tmp_path / "cli-tmp") == before
    record.note(f"exit {code}: {_first_error(err)}")


@pytest.mark.parametrize("activation", [True, False], ids=["bus re-activates keyring", "no activation"])
def test_daemon_killed_between_calls(activation, private_keyring, secrets_project, tmp_path, monkeypatch, record):
    """A store opened while the daemon ran (the wizard keeps one for its whole run), then the daemon
    dies: the next read/write is a message; a new CLI process is refused with the explicit choice."""
    name, root = secrets_project
    kr = private_keyring(activation=activation)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", kr.address)
    from toolbox_tui.secrets.store import StoreError, open_store

    store = open_store(name)
    canary = "CANARY" + pysecrets.token_hex(8)
    store.set("db_password", canary)
    kr.kill_daemon()
    how = "bus re-activates gnome-keyring" if activation else "no activation"

    record.case("keyring daemon gone mid-run", f"new CLI process after the kill ({how})")
    env = kr.cli_env(tmp_path)
    before = _files(root) | _files(tmp_path / "cli-runtime") | _files(tmp_path / "cli-tmp")
    for cmd in (["secrets", "list"], ["secrets", "materialize"]):
        out, err, code = run_exe(cmd, root, env=env, timeout=60)
        _assert_refused(out, err, code, canary)
        # activatable: the call starts a fresh daemon, whose keyring (loaded from disk) is locked;
        # not activatable: keyring finds no Secret Service owner and picks no backend at all
        expected = "keyring is locked" if activation else "no secure keyring"
        assert code == 3 and expected in err, err
    assert _files(root) | _files(tmp_path / "cli-runtime") | _files(tmp_path / "cli-tmp") == before
    record.note(f"exit {code}: {_first_error(err)}")

    record.case("keyring daemon gone mid-run", f"engine store used after the kill ({how})")
    for call in (lambda: store.get("db_password"), lambda: store.set("db_password", canary + "x"),
                 lambda: store.names()):
        with pytest.raises(StoreError) as info:
            call()
        text = f"{info.value} {info.value.hint}"
        assert canary not in text
        if activation:  # a fresh daemon loads the keyring from disk, locked
            assert info.value.reason == "locked" and "keyring is locked" in text, text
        else:
            assert info.value.reason == "unavailable" and "keyring daemon is gone" in text, text
        assert "--store session" in text
    if activation:
        pid = kr.service_pid()
        assert pid and pid != (kr.daemon.pid if kr.daemon else 0), "no re-activated daemon"
        kr.extra_pids.add(pid)
    record.note(f"StoreError({info.value.reason}): {str(info.value)[:110]}")


def test_hung_daemon_is_bounded(private_keyring, secrets_project, tmp_path, record):
    """A daemon that never answers (SIGSTOP; same as an unlock prompt nobody answers): the call is
    given up after TOOLBOX_TUI_KEYRING_TIMEOUT and the CLI says so; SIGCONT and it works again."""
    record.case("keyring daemon hung (SIGSTOP)", "secrets list with TOOLBOX_TUI_KEYRING_TIMEOUT=2")
    name, root = secrets_project
    kr = private_keyring()
    env = kr.cli_env(tmp_path, TOOLBOX_TUI_KEYRING_TIMEOUT="2")
    pid = kr.service_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        out, err, code = run_exe(["secrets", "list"], root, env=env, timeout=60)
        took = time.monotonic() - t0
    finally:
        os.kill(pid, signal.SIGCONT)
    _assert_refused(out, err, code, "no-canary", "did not answer within 2 s")
    assert code == 3 and took < 20, (code, took)
    out2, err2, code2 = run_exe(["secrets", "list"], root, env=env, timeout=60)
    assert code2 == 0, err2
    record.note(f"exit {code} after {took:.1f} s: {_first_error(err)}; after SIGCONT exit 0")
