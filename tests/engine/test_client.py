"""engine.connect / classification against the real engine and real sockets, files and users."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.machine import REPO_ROOT

from toolbox_tui.engine import client as engine
from toolbox_tui.engine.client import Endpoint, EngineUnavailable, connect, engine_info, resolve_endpoint

REPO = REPO_ROOT
DOCKER_SOCK = "/var/run/docker.sock"


def _env(**extra: str) -> dict[str, str]:
    """A clean environment for endpoint resolution: no DOCKER_* from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(extra)
    return env


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_context(config_dir: Path, name: str, host: str, *, current: bool = True) -> Path:
    """A docker CLI context as `docker context create` lays it out."""
    meta = config_dir / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({
        "Name": name, "Metadata": {"Description": "test"},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}}}))
    if current:
        (config_dir / "config.json").write_text(json.dumps({"currentContext": name}))
    return meta


# --- reachable --------------------------------------------------------------------------------

def test_connect_reaches_the_real_engine(docker_client):
    client = connect(environ=_env())
    try:
        assert client.ping() is True
        info = engine_info(client)
    finally:
        client.close()
    expected = docker_client.version()
    assert info.server_version == expected["Version"]
    assert info.api_version == expected["ApiVersion"]
    assert info.api_tuple >= (1, 12)
    assert os.path.isabs(info.data_root)
    assert info.swarm_state in ("inactive", "pending", "active", "error", "locked")
    assert info.ncpu >= 1 and info.mem_total > 0
    assert info.host.startswith("unix://")


def test_engine_info_is_frozen(docker_client):
    info = engine_info(docker_client)
    with pytest.raises(Exception):
        info.ncpu = 99  # type: ignore[misc]


def test_context_pointing_at_the_real_socket_is_used(docker_client, tmp_path):
    make_context(tmp_path, "tbx-good", f"unix://{DOCKER_SOCK}")
    ep = resolve_endpoint(_env(DOCKER_CONFIG=str(tmp_path)))
    assert (ep.source, ep.context, ep.host) == ("context", "tbx-good", f"unix://{DOCKER_SOCK}")
    client = connect(environ=_env(DOCKER_CONFIG=str(tmp_path)))
    try:
        assert client.ping() is True
        assert engine.client_endpoint(client).context == "tbx-good"
    finally:
        client.close()


def test_docker_host_wins_over_context_like_the_cli(tmp_path):
    make_context(tmp_path, "tbx-other", "unix:///nonexistent/other.sock")
    ep = resolve_endpoint(_env(DOCKER_CONFIG=str(tmp_path), DOCKER_HOST="tcp://127.0.0.1:2375",
                               DOCKER_CONTEXT="tbx-other"))
    assert (ep.source, ep.host) == ("DOCKER_HOST", "tcp://127.0.0.1:2375")
    ep = resolve_endpoint(_env(DOCKER_CONFIG=str(tmp_path), DOCKER_CONTEXT="default"))
    assert (ep.source, ep.host) == ("default", engine.DEFAULT_HOST)


def test_tls_variables_are_honoured(tmp_path):
    ep = resolve_endpoint(_env(DOCKER_HOST="tcp://127.0.0.1:2376", DOCKER_TLS_VERIFY="1",
                               DOCKER_CERT_PATH=str(tmp_path)))
    assert ep.tls and ep.tls_verify and ep.tls_dir == str(tmp_path)
    assert not resolve_endpoint(_env(DOCKER_HOST="tcp://127.0.0.1:2375")).tls


# --- daemon down / bad host -------------------------------------------------------------------

def test_missing_socket_is_daemon_down_with_the_path():
    with pytest.raises(EngineUnavailable) as ei:
        connect(environ=_env(DOCKER_HOST="unix:///nonexistent.sock"))
    e = ei.value
    assert e.reason == "daemon_down"
    assert "/nonexistent.sock" in e.message and "does not exist" in e.message
    assert "DOCKER_HOST" in e.message and e.hint


def test_process_environment_is_used_by_default(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    with pytest.raises(EngineUnavailable) as ei:
        connect()
    assert ei.value.reason == "daemon_down"


def test_socket_nobody_listens_on_is_daemon_down(tmp_path):
    path = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))  # a socket file left behind by a dead daemon: bound, never listening
    try:
        with pytest.raises(EngineUnavailable) as ei:
            connect(environ=_env(DOCKER_HOST=f"unix://{path}"))
    finally:
        s.close()
    assert ei.value.reason == "daemon_down"
    assert str(path) in ei.value.message and "nothing accepts" in ei.value.message


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_path_that_is_not_a_socket(tmp_path, kind):
    path = tmp_path / "docker.sock"
    if kind == "file":
        path.write_text("")
    else:
        path.mkdir()
    with pytest.raises(EngineUnavailable) as ei:
        connect(environ=_env(DOCKER_HOST=f"unix://{path}"))
    assert ei.value.reason == "bad_host"
    assert str(path) in ei.value.message
    assert ("regular file" if kind == "file" else "directory") in ei.value.message


def test_closed_tcp_port_is_bad_host():
    port = closed_port()
    with pytest.raises(EngineUnavailable) as ei:
        connect(environ=_env(DOCKER_HOST=f"tcp://127.0.0.1:{port}"))
    e = ei.value
    assert e.reason == "bad_host"
    assert f"127.0.0.1:{port}" in e.message and "refused" in e.message
    assert "DOCKER_HOST" in e.hint


def test_password_in_docker_host_is_masked():
    with pytest.raises(EngineUnavailable) as ei:
        connect(environ=_env(DOCKER_HOST=f"tcp://u:c4n4ry@127.0.0.1:{closed_port()}"))
    e = ei.value
    assert "c4n4ry" not in e.message + e.hint + e.host
    assert "u:***@127.0.0.1" in e.message


def test_unresolvable_host_is_bad_host():
    with pytest.raises(EngineUnavailable) as ei:
        connect(environ=_env(DOCKER_HOST="tcp://tbx-no-such-host.invalid:2375"))
    assert ei.value.reason == "bad_host"
    assert "does not resolve" in ei.value.message


def test_tcp_port_that_is_not_docker_is_classified(tmp_path):
    """Something listens but does not speak the Docker API: `other`, never a traceback."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    import threading

    def serve() -> None:
        for _ in range(4):
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with pytest.raises(EngineUnavailable) as ei:
            connect(environ=_env(DOCKER_HOST=f"tcp://127.0.0.1:{port}"), probe_timeout=2)
    finally:
        srv.close()
    assert ei.value.reason in ("other", "bad_host")
    assert f"127.0.0.1:{port}" in ei.value.message


def test_hung_daemon_is_a_timeout(tmp_path):
    """A socket that accepts connections but never answers (a hung daemon)."""
    path = tmp_path / "hung.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(8)
    try:
        with pytest.raises(EngineUnavailable) as ei:
            connect(environ=_env(DOCKER_HOST=f"unix://{path}"), probe_timeout=0.5)
    finally:
        srv.close()
    assert ei.value.reason == "timeout"
    assert str(path) in ei.value.message and "did not answer in time" in ei.value.message
    e = engine.classify_errno(errno.ETIMEDOUT, Endpoint("tcp://127.0.0.1:1", "DOCKER_HOST"))
    assert e.reason == "timeout"


# --- permission denied ------------------------------------------------------------------------

def _as_nobody(code: str) -> subprocess.CompletedProcess[str]:
    setpriv = shutil.which("setpriv")
    py = "/usr/bin/python3"
    if os.geteuid() != 0 or not setpriv or not os.access(py, os.X_OK):
        pytest.skip("needs root, setpriv and /usr/bin/python3 to run a snippet as user 65534")
    return subprocess.run(
        [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", py, "-S", "-c", code],
        capture_output=True, text=True, timeout=30, cwd="/",
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"})


PROBE_AS_NOBODY = """
import sys
from toolbox_tui.engine.client import EngineUnavailable, resolve_endpoint, probe_endpoint
ep = resolve_endpoint({"DOCKER_HOST": sys.argv[1] if len(sys.argv) > 1 else "%s", "HOME": "/"})
try:
    probe_endpoint(ep)
    print("reachable")
except EngineUnavailable as e:
    print(e.reason)
    print(e.message)
    print(e.hint)
"""


def test_permission_denied_on_the_real_docker_socket():
    st = os.stat(DOCKER_SOCK)
    if st.st_mode & 0o006 or st.st_uid == 65534:
        pytest.skip(f"{DOCKER_SOCK} is usable by everyone here; nothing to deny")
    proc = _as_nobody(PROBE_AS_NOBODY % f"unix://{DOCKER_SOCK}")
    assert proc.returncode == 0, proc.stderr
    reason, message, hint = proc.stdout.splitlines()[:3]
    assert reason == "permission_denied"
    assert DOCKER_SOCK in message
    assert "usermod -aG docker" in hint


def test_permission_denied_on_a_private_socket(tmp_path):
    """A socket of our own with mode 0600: the unprivileged user gets EACCES from connect()."""
    d = Path("/tmp") / f"tbxtest-sock-{os.getpid()}"
    d.mkdir(mode=0o755, exist_ok=True)
    path = d / "engine.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.listen(1)
    os.chmod(path, 0o600)
    try:
        proc = _as_nobody(PROBE_AS_NOBODY % f"unix://{path}")
    finally:
        s.close()
        shutil.rmtree(d, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "permission_denied"
    assert str(path) in proc.stdout


def test_classifier_on_errno():
    ep = Endpoint(f"unix://{DOCKER_SOCK}", "default")
    assert engine.classify_errno(errno.EACCES, ep).reason == "permission_denied"
    assert engine.classify_errno(errno.ENOENT, ep).reason == "daemon_down"
    assert engine.classify_errno(errno.ECONNREFUSED, ep).reason == "daemon_down"
    tcp = Endpoint("tcp://10.0.0.1:2375", "DOCKER_HOST")
    assert engine.classify_errno(errno.ECONNREFUSED, tcp).reason == "bad_host"
    assert engine.classify_errno(errno.EHOSTUNREACH, tcp).reason == "bad_host"


def test_classify_exception_walks_the_sdk_exception_chain():
    """A real docker-py failure (no probe first) still comes out classified."""
    import docker

    with pytest.raises(Exception) as ei:
        docker.DockerClient(base_url="unix:///nonexistent.sock", version="auto", timeout=2)
    ep = Endpoint("unix:///nonexistent.sock", "DOCKER_HOST")
    e = engine.classify_exception(ei.value, ep)
    assert e.reason == "daemon_down" and "/nonexistent.sock" in e.message


# --- contexts ---------------------------------------------------------------------------------

def test_context_pointing_at_missing_socket_is_bad_context(tmp_path):
    missing = tmp_path / "gone" / "docker.sock"
    make_context(tmp_path, "tbx-broken", f"unix://{missing}")
    with pytest.raises(EngineUnavailable) as ei:
        connect(environ=_env(DOCKER_CONFIG=str(tmp_path)))
    e = ei.value
    assert e.reason == "bad_context"
    assert e.context == "tbx-broken"
    assert str(missing) in e.message
    assert "tbx-broken" in e.hint and "docker context use default" in e.hint


def test_unknown_context_is_bad_context(tmp_path):
    with pytest.raises(EngineUnavailable) as ei:
        connect(environ=_env(DOCKER_CONFIG=str(tmp_path), DOCKER_CONTEXT="tbx-nope"))
    assert ei.value.reason == "bad_context"
    assert "tbx-nope" in ei.value.message and "does not exist" in ei.value.message
    assert "DOCKER_CONTEXT" in ei.value.hint


def test_context_found_by_name_when_directory_is_not_the_hash(tmp_path):
    meta = tmp_path / "contexts" / "meta" / "whatever"
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": "odd", "Endpoints": {"docker": {"Host": "tcp://h:1"}}}))
    ep = resolve_endpoint(_env(DOCKER_CONFIG=str(tmp_path), DOCKER_CONTEXT="odd"))
    assert ep.host == "tcp://h:1"


def test_context_tls_material_is_used(tmp_path):
    meta = make_context(tmp_path, "tbx-tls", "tcp://127.0.0.1:2376")
    tls = tmp_path / "contexts" / "tls" / meta.name / "docker"
    tls.mkdir(parents=True)
    ep = resolve_endpoint(_env(DOCKER_CONFIG=str(tmp_path)))
    assert ep.tls and ep.tls_verify and ep.tls_dir == str(tls)


def test_unreadable_config_is_bad_context(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(EngineUnavailable) as ei:
        resolve_endpoint(_env(DOCKER_CONFIG=str(tmp_path)))
    assert ei.value.reason == "bad_context" and "config.json" in ei.value.message


def test_version_tuple():
    assert engine.version_tuple("20.10.24+dfsg1") == (20, 10, 24)
    assert engine.version_tuple("1.41") == (1, 41)
    assert engine.version_tuple("v2") == ()
    assert engine.version_tuple("") == ()


def test_engine_module_works_without_docker_sdk_imported():
    """The probe and classifier must not import docker (they run under a bare system Python)."""
    code = ("import sys; import toolbox_tui.engine.client as e; "
            "assert 'docker' not in sys.modules; assert 'textual' not in sys.modules; print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=str(REPO), timeout=30)
    assert proc.stdout.strip() == "ok", proc.stderr
