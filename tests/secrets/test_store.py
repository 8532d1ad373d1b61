"""The secret store against the real Secret Service, and the path where there is no secure keyring."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from tests.helpers.secrets import make_project, run_cli

from toolbox_tui.secrets import keyring_backend as kb  # noqa: E402
from toolbox_tui.secrets import store as ss  # noqa: E402


@pytest.fixture
def kstore(keyring_backend):
    store = ss.KeyringStore(f"toolbox-tui:tbxtest-{secrets.token_hex(4)}", keyring_backend)
    yield store
    store.purge()


@pytest.mark.keyring
def test_detect_backend_is_secure_with_secret_service(keyring_backend) -> None:
    info = kb.detect_backend()
    assert info.secure, info
    assert "SecretService" in info.name


@pytest.mark.keyring
def test_keyring_roundtrip_index_and_purge(kstore) -> None:
    assert kstore.get("db_password") is None
    kstore.set("db_password", "v1-" + secrets.token_hex(8))
    kstore.set("jwt_secret", "v2-" + secrets.token_hex(8))
    assert kstore.get("db_password").startswith("v1-")
    assert kstore.names() == ["db_password", "jwt_secret"]
    kstore.delete("db_password")
    assert kstore.get("db_password") is None
    assert kstore.names() == ["jwt_secret"]
    kstore.delete("db_password")  # deleting twice is fine
    kstore.purge()
    assert kstore.names() == [] and kstore.get("jwt_secret") is None


@pytest.mark.keyring
def test_open_store_uses_project_service_name(keyring_backend) -> None:
    project = f"tbxtest-{secrets.token_hex(4)}"
    store = ss.open_store(project)
    try:
        assert isinstance(store, ss.KeyringStore)
        assert store.service == f"toolbox-tui:{project}"
        store.set("x_password", "abc")
        import keyring

        assert keyring.get_password(f"toolbox-tui:{project}", "x_password") == "abc"
    finally:
        store.purge()


@pytest.mark.keyring
def test_content_hash_is_keyed_and_stable(kstore) -> None:
    h1 = ss.content_hash(kstore, "hunter2")
    assert h1 == ss.content_hash(kstore, "hunter2")
    assert h1 != ss.content_hash(kstore, "hunter3")
    import hashlib

    assert h1 != hashlib.sha256(b"hunter2").hexdigest()  # not guessable offline without the key
    other = ss.SessionStore()
    assert ss.content_hash(other, "hunter2") != h1  # another project, another key


def test_session_store_is_memory_only() -> None:
    s = ss.SessionStore()
    s.set("a", "1")
    assert s.get("a") == "1" and s.names() == ["a"]
    s.delete("a")
    assert s.get("a") is None


def test_fail_backend_is_not_secure() -> None:
    from keyring.backends import fail

    assert kb.is_insecure(fail.Keyring())[0]


def _no_bus_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent/toolbox-tui-test-bus"
    env["HOME"] = str(home)
    env["XDG_DATA_HOME"] = str(home / ".local" / "share")
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env.pop("PYTHON_KEYRING_BACKEND", None)
    return env


def test_no_secure_keyring_requires_explicit_choice(tmp_path: Path) -> None:
    name = f"tbxtest-{secrets.token_hex(4)}"
    proj = make_project(tmp_path / "proj", name)
    home = tmp_path / "home"
    home.mkdir()
    canary = "canary-" + secrets.token_hex(12)
    env = _no_bus_env(home)
    proc = run_cli(["secrets", "set", "db_password"], proj, stdin=canary + "\n", env=env)
    assert proc.returncode == 3, (proc.returncode, proc.stderr)
    assert "no secure keyring is available" in proc.stderr
    assert "--store session" in proc.stderr and "--keyring-backend" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert canary not in proc.stdout + proc.stderr
    proc = run_cli(["secrets", "list"], proj, env=env)
    assert proc.returncode == 3 and "no secure keyring" in proc.stderr
    # nothing was written anywhere in plaintext
    for root in (home, proj, tmp_path):
        for p in root.rglob("*"):
            if p.is_file():
                assert canary not in p.read_text(errors="replace"), p
    # the explicit choice works
    proc = run_cli(["secrets", "set", "db_password", "--store", "session"], proj,
                   stdin=canary + "\n", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "this process only" in proc.stderr
    assert canary not in proc.stdout + proc.stderr
    proc = run_cli(["secrets", "list", "--store", "session", "--json"], proj, env=env)
    assert proc.returncode == 0, proc.stderr


def test_named_backend_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    proj = make_project(tmp_path / "proj", f"tbxtest-{secrets.token_hex(4)}")
    proc = run_cli(["secrets", "set", "db_password", "--keyring-backend", "keyring.backends.fail.Keyring"],
                   proj, stdin="abcdefghijklmnop\n")
    assert proc.returncode == 3
    assert "not a secure keyring" in proc.stderr and "could not store 'db_password'" in proc.stderr
    assert "abcdefghijklmnop" not in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli(["secrets", "list", "--keyring-backend", "no.such.Backend"], proj)
    assert proc.returncode == 3 and "cannot load keyring backend 'no.such.Backend'" in proc.stderr


# --- keyring faults become StoreError with a reason and a hint ---------------------------------

def test_keyring_exceptions_are_classified() -> None:
    import keyring.errors
    from secretstorage import exceptions as sx

    assert kb.classify(keyring.errors.KeyringLocked("Failed to unlock the collection!")) == "locked"
    assert kb.classify(sx.LockedException("locked")) == "locked"
    assert kb.classify(sx.PromptDismissedException("dismissed")) == "locked"
    assert kb.classify(sx.SecretServiceNotAvailableException("gone")) == "unavailable"
    assert kb.classify(keyring.errors.InitError("Failed to create the collection")) == "unavailable"
    assert kb.classify(ConnectionResetError()) == "unavailable"
    assert kb.classify(ValueError("x")) == "failed"


def test_bounded_call_returns_raises_and_gives_up() -> None:
    import threading
    import time

    assert kb.run_bounded(lambda a, b: a + b, (2, 3), 5) == 5
    with pytest.raises(KeyError):
        kb.run_bounded(lambda: {}["x"], (), 5)
    never = threading.Event()
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        kb.run_bounded(never.wait, (), 0.3)
    assert time.monotonic() - t0 < 3
    never.set()


def test_keyring_timeout_from_environment(monkeypatch) -> None:
    monkeypatch.delenv(kb.TIMEOUT_ENV, raising=False)
    assert kb.keyring_timeout() == kb.DEFAULT_TIMEOUT
    for raw, want in (("2.5", 2.5), ("nonsense", kb.DEFAULT_TIMEOUT), ("-1", kb.DEFAULT_TIMEOUT)):
        monkeypatch.setenv(kb.TIMEOUT_ENV, raw)
        assert kb.keyring_timeout() == want


def test_store_errors_carry_reason_and_hint_without_values(tmp_path: Path) -> None:
    """The fail backend raises on every call: a plain `failed` StoreError naming the operation."""
    import keyring.backends.fail

    store = ss.KeyringStore("toolbox-tui:tbxtest-x", keyring.backends.fail.Keyring())
    with pytest.raises(ss.StoreError) as info:
        store.set("db_password", "CANARYvalue123456")
    assert info.value.reason == "failed" and "could not store 'db_password'" in str(info.value)
    assert "CANARYvalue123456" not in str(info.value) + info.value.hint
    with pytest.raises(ss.StoreError):
        store.delete("db_password")
