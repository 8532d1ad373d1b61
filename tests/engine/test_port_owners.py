"""port_owner: /proc parsing on fixtures, and real sockets, a real container, a real other user."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.machine import REPO_ROOT

from toolbox_tui.engine import port_owners as po
from toolbox_tui.engine.port_owners import ContainerPort, port_owner

REPO = REPO_ROOT

HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
          "timeout inode\n")


def free_port(host: str = "127.0.0.1") -> int:
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def line(sl: int, local: str, state: str, uid: int, inode: int) -> str:
    return (f"  {sl}: {local} 00000000:0000 {state} 00000000:00000000 00:00000000 00000000 "
            f"{uid:>5} 0 {inode} 1 0000000000000000 100 0 0 10 0\n")


# --- pure parsing -----------------------------------------------------------------------------

@pytest.mark.parametrize("text,byteorder,expected", [
    ("0100007F:1F90", "little", ("127.0.0.1", 8080)),
    ("7F000001:1F90", "big", ("127.0.0.1", 8080)),
    ("00000000:0016", "little", ("0.0.0.0", 22)),
    ("0101A8C0:01BB", "little", ("192.168.1.1", 443)),
    ("00000000000000000000000000000000:0050", "little", ("::", 80)),
    ("00000000000000000000000001000000:0050", "little", ("::1", 80)),
    ("00000000000000000000000000000001:0050", "big", ("::1", 80)),
    ("0000000000000000FFFF00000100007F:1F90", "little", ("::ffff:7f00:1", 8080)),
    ("000080FE000000000000000001000000:FFFF", "little", ("fe80::1", 65535)),
    ("B80D0120000000000000000001000000:0035", "little", ("2001:db8::1", 53)),
])
def test_parse_hex_address(text, byteorder, expected):
    assert po.parse_hex_address(text, byteorder) == expected


def test_parse_hex_address_rejects_garbage():
    with pytest.raises(ValueError):
        po.parse_hex_address("0100:1F90")


def test_parse_proc_net_fixture():
    text = (HEADER
            + line(0, "0100007F:1F90", "0A", 1000, 4242)
            + line(1, "00000000:0016", "0A", 0, 17)
            + line(2, "0100007F:1F90", "06", 1000, 0)           # TIME_WAIT, no inode
            + "   3: garbage line\n"
            + line(4, "ZZZZZZZZ:0016", "0A", 0, 18))
    entries = po.parse_proc_net(text, 4, "little")
    assert [(e.ip, e.port, e.state, e.uid, e.inode) for e in entries] == [
        ("127.0.0.1", 8080, 0x0A, 1000, 4242), ("0.0.0.0", 22, 0x0A, 0, 17),
        ("127.0.0.1", 8080, 0x06, 1000, 0)]


@pytest.mark.parametrize("bound,wanted,conflict", [
    ("0.0.0.0", "127.0.0.1", True), ("127.0.0.1", "0.0.0.0", True),
    ("127.0.0.1", "127.0.0.1", True), ("127.0.0.1", "127.0.0.2", False),
    ("::", "127.0.0.1", True), ("::1", "127.0.0.1", False),
    ("::ffff:127.0.0.1", "127.0.0.1", True), ("10.0.0.1", "", True), ("[::1]", "::1", True),
])
def test_addresses_conflict(bound, wanted, conflict):
    assert po.addresses_conflict(bound, wanted) is conflict


def fake_proc(root: Path, port: int, *, tcp6: bool = False, comm: str = "srv",
              argv: list[str] | None = None, pid: int = 4321, inode: int = 90001,
              ip_hex: str = "0100007F", uid: int = 1000) -> Path:
    """A /proc look-alike: net/tcp{,6} with a LISTEN socket on `port`, and PID owning it."""
    (root / "net").mkdir(parents=True, exist_ok=True)
    local = f"{ip_hex}:{port:04X}"
    tcp = HEADER + (line(0, local, "0A", uid, inode) if not tcp6 else "")
    tcp6_text = HEADER + (line(0, f"{'0' * 32}:{port:04X}", "0A", uid, inode) if tcp6 else "")
    (root / "net" / "tcp").write_text(tcp)
    (root / "net" / "tcp6").write_text(tcp6_text)
    (root / "net" / "udp").write_text(HEADER)
    fd = root / str(pid) / "fd"
    fd.mkdir(parents=True)
    os.symlink("/dev/null", fd / "0")
    os.symlink(f"socket:[{inode}]", fd / "3")
    other = root / "77" / "fd"
    other.mkdir(parents=True)
    os.symlink("socket:[1]", other / "3")
    (root / str(pid) / "comm").write_text(comm + "\n")
    (root / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in (argv or [comm])) + b"\0")
    (root / "self").mkdir()
    return root


def test_fixture_proc_finds_process_and_sanitizes(tmp_path):
    root = fake_proc(tmp_path, 8080, comm="evil\x1b]0;pwned\x07srv",
                     argv=["/usr/bin/srv", "--flag=\x1b[2J", "x" * 400])
    owner = port_owner(8080, host_ip="127.0.0.1", proc_root=str(root), try_bind=False)
    assert owner is not None and owner.kind == "process"
    assert owner.pid == 4321 and owner.pids == (4321,)
    assert owner.bound_ip == "127.0.0.1" and owner.uid == 1000
    assert "\x1b" not in owner.command and "\x1b" not in owner.cmdline
    assert owner.command == "evilsrv"
    assert owner.cmdline.startswith("/usr/bin/srv --flag=") and len(owner.cmdline) <= po.CMDLINE_LIMIT
    assert "pid 4321" in owner.describe()


def test_fixture_proc_ipv6_wildcard_blocks_ipv4(tmp_path):
    root = fake_proc(tmp_path, 5432, tcp6=True, comm="postgres")
    owner = port_owner(5432, host_ip="127.0.0.1", proc_root=str(root), try_bind=False)
    assert owner is not None and owner.bound_ip == "::" and owner.command == "postgres"


def test_fixture_proc_other_address_is_not_a_conflict(tmp_path):
    root = fake_proc(tmp_path, 8080, ip_hex="0201A8C0")  # 192.168.1.2
    assert port_owner(8080, host_ip="127.0.0.1", proc_root=str(root), try_bind=False) is None


def test_fixture_docker_proxy_is_named_as_its_container(tmp_path):
    argv = ["/usr/bin/docker-proxy", "-proto", "tcp", "-host-ip", "127.0.0.1", "-host-port", "8080",
            "-container-ip", "172.17.0.2", "-container-port", "80"]
    root = fake_proc(tmp_path, 8080, comm="docker-proxy", argv=argv)
    containers = [ContainerPort("abc123", "web-1", "127.0.0.1", 8080, 80, "tcp", "shop", "web"),
                  ContainerPort("def456", "db-1", "127.0.0.1", 5432, 5432, "tcp", "shop", "db")]
    owner = port_owner(8080, host_ip="127.0.0.1", proc_root=str(root), try_bind=False,
                       containers=containers)
    assert owner.kind == "container"
    assert (owner.container, owner.project, owner.service, owner.pid) == ("web-1", "shop", "web", 4321)
    assert "container web-1 (compose project shop, service web)" in owner.describe()


@pytest.mark.parametrize("cgroup", [
    "0::/docker/{cid}\n",                                             # cgroup v2, cgroupfs driver
    "0::/system.slice/docker-{cid}.scope\n",                          # cgroup v2, systemd driver
    "12:pids:/docker/{cid}\n1:name=systemd:/docker/{cid}\n",          # cgroup v1
])
def test_fixture_process_inside_a_container(tmp_path, cgroup):
    cid = "ab" * 32
    root = fake_proc(tmp_path, 8080, comm="nginx")
    (root / "4321" / "cgroup").write_text(cgroup.format(cid=cid))
    known = [ContainerPort(cid, "shop-web-1", "", 0, 0, "", "shop", "web")]
    owner = port_owner(8080, host_ip="127.0.0.1", proc_root=str(root), try_bind=False, containers=known)
    assert (owner.kind, owner.container, owner.service, owner.pid) == ("container", "shop-web-1", "web", 4321)
    assert "via nginx pid 4321" in owner.describe()
    assert po.container_id_of_pid(4321, str(root)) == cid


def test_fixture_plain_process_cgroup_is_not_a_container(tmp_path):
    root = fake_proc(tmp_path, 8080)
    (root / "4321" / "cgroup").write_text("0::/user.slice/user-1000.slice/session-2.scope\n")
    assert port_owner(8080, host_ip="127.0.0.1", proc_root=str(root), try_bind=False).kind == "process"


def test_fixture_socket_without_visible_process(tmp_path):
    root = fake_proc(tmp_path, 8080)
    shutil.rmtree(root / "4321")
    owner = port_owner(8080, host_ip="127.0.0.1", proc_root=str(root), try_bind=False)
    assert owner.kind == "unknown" and "ss -ltnup" in owner.describe()


def test_credentials_in_command_lines_are_masked(tmp_path):
    canary = "c4n4ry-s3cr3t"
    argv = ["/srv/app", f"--password={canary}", "--api-token", canary, f"DB_PASSWORD={canary}",
            f"postgres://app:{canary}@db:5432/x", "-p", "8080", f"--client-secret:{canary}", "--verbose"]
    root = fake_proc(tmp_path, 8080, argv=argv)
    owner = port_owner(8080, host_ip="127.0.0.1", proc_root=str(root), try_bind=False)
    assert canary not in owner.cmdline and canary not in owner.describe()
    assert owner.cmdline == ("/srv/app --password=*** --api-token *** DB_PASSWORD=*** "
                             "postgres://app:***@db:5432/x -p 8080 --client-secret:*** --verbose")


def test_sanitize():
    assert po.sanitize("a\tb\nc\x1b[31md\x9b2J\u202eok") == "a b cdok"
    assert len(po.sanitize("y" * 1000, 20)) == 20


# --- real sockets -----------------------------------------------------------------------------

def test_free_port_has_no_owner():
    assert port_owner(free_port(), host_ip="127.0.0.1") is None


def test_real_listener_is_found_with_our_pid():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    try:
        for ip in ("127.0.0.1", "0.0.0.0", ""):
            owner = port_owner(port, host_ip=ip)
            assert owner is not None, ip
            assert owner.kind == "process"
            assert owner.pid == os.getpid()
            assert owner.bound_ip == "127.0.0.1"
            assert "python" in (owner.command or "") + (owner.cmdline or "")
    finally:
        srv.close()
    assert port_owner(port, host_ip="127.0.0.1") is None


def test_real_udp_socket_is_found():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    try:
        owner = port_owner(port, "udp", "127.0.0.1")
        assert owner is not None and owner.pid == os.getpid() and owner.proto == "udp"
        assert port_owner(port, "tcp", "127.0.0.1") is None
    finally:
        s.close()


def _time_wait_port(reuse: bool) -> int:
    """A port whose server side closed first, so its connection sits in TIME_WAIT."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1 if reuse else 0)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    cli = socket.create_connection(("127.0.0.1", port))
    conn, _ = srv.accept()
    conn.close()
    srv.close()
    time.sleep(0.05)
    cli.close()
    return port


def test_time_wait_of_a_reuseaddr_server_does_not_count_as_held():
    """Docker binds with SO_REUSEADDR, so TIME_WAIT left by a server that set it is no obstacle."""
    port = _time_wait_port(reuse=True)
    assert po.bind_free(port, host_ip="127.0.0.1") is False  # the naive test says "in use"
    assert port_owner(port, host_ip="127.0.0.1") is None


def test_time_wait_of_a_plain_server_is_reported():
    """Without SO_REUSEADDR on the old socket, Linux refuses even a SO_REUSEADDR bind."""
    port = _time_wait_port(reuse=False)
    owner = port_owner(port, host_ip="127.0.0.1")
    assert owner is not None and owner.kind == "time_wait"
    assert "TIME_WAIT" in owner.describe()


def test_other_address_is_never_bound(monkeypatch):
    calls = []
    real = socket.socket.bind
    port = free_port()

    def spy(self, addr):
        calls.append(addr)
        return real(self, addr)

    monkeypatch.setattr(socket.socket, "bind", spy)
    assert po.bind_free(port, host_ip="192.0.2.1") is None
    assert calls == []
    assert po.bind_free(port, host_ip="::") is True  # a wildcard is tested on 0.0.0.0
    assert calls == [("0.0.0.0", port)]


def test_other_users_process_is_reported_without_pid():
    """Run port_owner as user 65534 on a port this (root) process listens on."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv or not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("needs root, setpriv and /usr/bin/python3 to act as another user")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    code = ("import sys; from toolbox_tui.engine.port_owners import port_owner; "
            f"o = port_owner({port}, host_ip='127.0.0.1'); print(o.kind); print(o.describe())")
    try:
        proc = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                               "/usr/bin/python3", "-S", "-c", code], capture_output=True, text=True,
                              timeout=30, cwd="/", env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO),
                                                        "PYTHONDONTWRITEBYTECODE": "1"})
    finally:
        srv.close()
    assert proc.returncode == 0, proc.stderr
    kind, text = proc.stdout.splitlines()[:2]
    assert kind == "other_user"
    assert "another user's process" in text and "pid unknown" in text and "sudo ss -ltnp" in text
    assert "root" in text


# --- a real container -------------------------------------------------------------------------

@pytest.fixture
def published_container(docker_client, test_image):
    port = free_port()
    project = f"tbxtest-{secrets.token_hex(4)}"
    name = f"{project}-web-1"
    container = docker_client.containers.run(
        test_image, ["httpd", "-f", "-p", "80"], name=name, detach=True,
        ports={"80/tcp": ("127.0.0.1", port)},
        labels={"com.docker.compose.project": project, "com.docker.compose.service": "web"})
    try:
        yield container, port, project, name
    finally:
        try:
            container.remove(force=True, v=True)
        except Exception:
            pass


def test_real_container_is_named(published_container, docker_client):
    _, port, project, name = published_container
    for kwargs in ({"client": docker_client}, {"containers": po.container_ports(docker_client)}, {}):
        owner = port_owner(port, host_ip="127.0.0.1", **kwargs)
        assert owner is not None, kwargs
        assert owner.kind == "container", (kwargs, owner)
        assert owner.container == name
        assert (owner.project, owner.service) == (project, "web")
        assert name in owner.describe()
    # 0.0.0.0 collides with the container's 127.0.0.1 binding too
    assert port_owner(port, host_ip="0.0.0.0", client=docker_client).container == name


def test_real_host_network_container_is_named(docker_client, test_image):
    """No docker-proxy, no published port: the container's own process listens on the host."""
    port = free_port()
    project = f"tbxtest-{secrets.token_hex(4)}"
    name = f"{project}-hostnet-1"
    container = docker_client.containers.run(
        test_image, ["httpd", "-f", "-p", f"127.0.0.1:{port}"], name=name, detach=True,
        network_mode="host",
        labels={"com.docker.compose.project": project, "com.docker.compose.service": "hostnet"})
    try:
        deadline = time.monotonic() + 10
        while po.bind_free(port, host_ip="127.0.0.1") and time.monotonic() < deadline:
            time.sleep(0.05)
        owner = port_owner(port, host_ip="127.0.0.1", client=docker_client)
        assert owner is not None and owner.kind == "container", owner
        assert (owner.container, owner.project, owner.service) == (name, project, "hostnet")
        assert owner.command == "httpd" and owner.pid
    finally:
        container.remove(force=True, v=True)
