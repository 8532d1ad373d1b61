"""prereq_checks against the real engine, real ports, a real container and a real swarm."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from toolbox_tui.checks import prereq as pc
from toolbox_tui.compose.refs import PortRef
from toolbox_tui.engine.client import EngineInfo
from toolbox_tui.findings import Check
from toolbox_tui.checks.prereq import prereq_checks
from toolbox_tui.compose.yaml_source import Loc

BASE_IDS = ["prereq.docker_cli", "prereq.engine", "prereq.engine_version", "prereq.compose",
            "prereq.swarm", "prereq.disk", "prereq.memory"]
ENGINE_IDS = ["prereq.engine_version", "prereq.swarm", "prereq.disk", "prereq.memory"]


def by_id(checks: list[Check]) -> dict[str, Check]:
    ids = [c.id for c in checks]
    assert len(ids) == len(set(ids)), ids
    return {c.id: c for c in checks}


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@dataclass
class StandInStack:
    """Just what prereq_checks reads from a Stack: `name` and `published_ports()`."""

    name: str
    ports: list[PortRef] = field(default_factory=list)

    def published_ports(self) -> list[PortRef]:
        return list(self.ports)


def ref(port: int, service: str = "web", host_ip: str = "127.0.0.1", line: int = 7) -> PortRef:
    return PortRef(service=service, host_ip=host_ip, published=port, target=80, protocol="tcp",
                   loc=Loc("/repo/compose.yaml", line, 9))


@pytest.fixture
def no_docker_env(monkeypatch):
    for k in list(os.environ):
        if k.startswith("DOCKER_") and k != "DOCKER_CONFIG":
            monkeypatch.delenv(k)
    return monkeypatch


# --- reachable engine -------------------------------------------------------------------------

def test_all_checks_pass_on_the_real_engine(docker_client, compose_ready, no_docker_env):
    checks = prereq_checks()
    assert [c.id for c in checks] == BASE_IDS
    c = by_id(checks)
    for check in checks:
        assert check.area == "prereq" and check.title
        assert check.status in ("pass", "warn"), check
    assert c["prereq.engine"].status == "pass"
    info = docker_client.info()
    ver = docker_client.version()
    assert ver["Version"] in c["prereq.engine_version"].detail
    assert ver["ApiVersion"] in c["prereq.engine_version"].detail
    assert c["prereq.compose"].extra("version") == compose_ready
    assert c["prereq.compose"].status == "pass"
    assert c["prereq.docker_cli"].extra("version")
    assert c["prereq.memory"].extra("mem_total") == info["MemTotal"]
    assert c["prereq.disk"].path == info["DockerRootDir"]
    assert c["prereq.disk"].extra("free_bytes") > 0
    assert c["prereq.swarm"].status == "pass"
    assert c["prereq.swarm"].extra("local_node_state") == info["Swarm"]["LocalNodeState"]


def test_a_given_client_is_reused_and_left_open(docker_client, no_docker_env):
    checks = prereq_checks(client=docker_client)
    assert by_id(checks)["prereq.engine"].status == "pass"
    assert "unix://" in by_id(checks)["prereq.engine"].detail  # not docker-py's http+docker://
    assert docker_client.ping() is True


def test_disk_free_matches_statvfs(docker_client, no_docker_env):
    root = docker_client.info()["DockerRootDir"]
    st = os.statvfs(root)
    free = by_id(prereq_checks())["prereq.disk"].extra("free_bytes")
    assert abs(free - st.f_bavail * st.f_frsize) < 512 * 1024 ** 2  # other tests write meanwhile


# --- engine not reachable ---------------------------------------------------------------------

def test_daemon_down_skips_engine_checks(no_docker_env):
    no_docker_env.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    c = by_id(prereq_checks())
    e = c["prereq.engine"]
    assert e.status == "fail" and e.severity == "error"
    assert e.extra("reason") == "daemon_down"
    assert "/nonexistent.sock" in e.detail and e.hint
    for cid in ENGINE_IDS:
        assert c[cid].status == "skip" and c[cid].detail == "engine not reachable"
    assert c["prereq.docker_cli"].status == "pass"
    assert c["prereq.compose"].status == "pass"


def test_a_known_engine_error_is_not_retried(no_docker_env, tmp_path, monkeypatch):
    """A hung daemon: the caller's failed connect is reported without a second wait."""
    from toolbox_tui.engine.client import EngineUnavailable, connect

    path = tmp_path / "hung.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(8)
    no_docker_env.setenv("DOCKER_HOST", f"unix://{path}")
    try:
        with pytest.raises(EngineUnavailable) as ei:
            connect(probe_timeout=0.5)

        def no_second_try(*a, **kw):
            raise AssertionError("prereq_checks tried to connect again")

        monkeypatch.setattr(pc, "connect", no_second_try)
        c = by_id(prereq_checks(engine_error=ei.value))
    finally:
        srv.close()
    assert c["prereq.engine"].status == "fail" and c["prereq.engine"].extra("reason") == "timeout"
    assert "did not answer in time" in c["prereq.engine"].detail
    assert c["prereq.swarm"].status == "skip"


def test_closed_tcp_port_is_reported_as_bad_host(no_docker_env):
    port = free_port()
    no_docker_env.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{port}")
    e = by_id(prereq_checks())["prereq.engine"]
    assert e.status == "fail" and e.extra("reason") == "bad_host"
    assert f"127.0.0.1:{port}" in e.detail and "DOCKER_HOST" in e.hint


def test_broken_context_is_reported(no_docker_env, tmp_path):
    name = "tbx-broken"
    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps(
        {"Name": name, "Endpoints": {"docker": {"Host": f"unix://{tmp_path}/missing.sock"}}}))
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": name}))
    no_docker_env.setenv("DOCKER_CONFIG", str(tmp_path))
    e = by_id(prereq_checks())["prereq.engine"]
    assert e.status == "fail" and e.extra("reason") == "bad_context"
    assert "missing.sock" in e.detail and name in e.hint


def test_unexpected_error_in_one_check_becomes_that_checks_failure(monkeypatch, docker_client,
                                                                  no_docker_env):
    def boom(info):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(pc, "_check_memory", boom)
    c = by_id(prereq_checks())
    assert c["prereq.memory"].status == "fail" and "kaboom" in c["prereq.memory"].detail
    assert c["prereq.engine"].status == "pass"


def test_a_stack_whose_ports_cannot_be_read_does_not_raise(no_docker_env):
    class Broken:
        name = "x"

        def published_ports(self):
            raise ValueError("bad ports")

    c = by_id(prereq_checks(Broken()))
    assert c["prereq.ports"].status == "fail" and "bad ports" in c["prereq.ports"].detail


# --- pure decisions on EngineInfo (versions, memory, disk elsewhere) ----------------------------

def info(**kw) -> EngineInfo:
    base = dict(server_version="24.0.7", api_version="1.43", min_api_version="1.12", os="Linux",
                os_type="linux", arch="x86_64", kernel="6", name="elsewhere", data_root="/var/lib/docker",
                storage_driver="overlay2", swarm_state="inactive", swarm_control_available=False,
                ncpu=4, mem_total=16 * 1024 ** 3)
    base.update(kw)
    return EngineInfo(**base)


def test_old_engine_warns():
    assert pc._check_engine_version(info()).status == "pass"
    old = pc._check_engine_version(info(server_version="19.03.1", api_version="1.40"))
    assert old.status == "warn" and "1.40" in old.detail and "19.03.1" in old.detail


def test_low_memory_warns():
    assert pc._check_memory(info(mem_total=2 * 1024 ** 3)).status == "warn"
    assert pc._check_memory(info(mem_total=int(3.8 * 1024 ** 3))).status == "pass"


def test_disk_of_a_remote_engine():
    facts = pc._EngineFacts(info=info())
    assert pc._check_disk(facts).status == "skip"
    dm = info(storage_driver="devicemapper", driver_status=(("Data Space Available", "1.5 GB"),))
    check = pc._check_disk(pc._EngineFacts(info=dm))
    assert check.status == "fail" and check.extra("free_bytes") == 1_500_000_000
    dm = info(storage_driver="devicemapper", driver_status=(("Data Space Available", "5 GiB"),))
    assert pc._check_disk(pc._EngineFacts(info=dm)).status == "warn"


def test_swarm_states():
    # The old advice ("docker swarm init") was wrong: compose up refuses external secrets on a manager too.
    detail = pc._check_swarm(info()).detail
    assert "docker compose up" in detail and "never uses" in detail and "swarm init" not in detail
    mgr = pc._check_swarm(info(swarm_state="active", swarm_control_available=True))
    assert mgr.status == "pass" and mgr.title == "Swarm: manager"
    assert pc._check_swarm(info(swarm_state="active")).title == "Swarm: worker"
    assert pc._check_swarm(info(swarm_state="locked")).status == "warn"


def test_compose_variants():
    from toolbox_tui.engine.compose_cli import ComposeInfo

    ok = pc._check_compose((ComposeInfo("2.40.3", "/d"), None, None), "/d")
    assert ok.status == "pass" and ok.extra("version") == "2.40.3"
    mid = pc._check_compose((ComposeInfo("2.26.0", "/d"), None, None), "/d")
    assert mid.status == "pass" and "--progress json" in mid.detail
    old = pc._check_compose((ComposeInfo("2.20.2", "/d"), None, None), "/d")
    assert old.status == "warn" and "!reset" in old.detail
    v1 = pc._check_compose((None, "/usr/bin/docker-compose", "1.29.2"), "/d")
    assert v1.status == "fail" and "only Compose v1" in v1.detail and "1.29.2" in v1.detail
    assert "cli-plugins" in v1.hint
    standalone = pc._check_compose((None, "/opt/docker-compose", "2.40.3"), "/d")
    assert standalone.status == "fail" and "ln -s /opt/docker-compose" in standalone.hint
    assert pc._check_compose((None, None, None), None).status == "fail"


def test_only_compose_v1_on_path_is_named(tmp_path, monkeypatch):
    """A fake docker CLI without the compose plugin and a v1 `docker-compose` on PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker").write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo 'Docker version 20.10.24, "
                                   "build x' && exit 0\necho \"docker: '$1' is not a docker command.\" >&2"
                                   "\nexit 1\n")
    (bindir / "docker-compose").write_text("#!/bin/sh\necho 1.29.2\n")
    for f in bindir.iterdir():
        f.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    from toolbox_tui.engine import compose_cli

    compose_cli.compose_info.cache_clear()
    try:
        c = by_id(prereq_checks())
    finally:
        compose_cli.compose_info.cache_clear()
    assert c["prereq.docker_cli"].extra("version") == "20.10.24"
    comp = c["prereq.compose"]
    assert comp.status == "fail" and "only Compose v1" in comp.detail and "1.29.2" in comp.detail


def test_no_docker_cli_on_path(tmp_path, monkeypatch, docker_client):
    monkeypatch.setenv("PATH", str(tmp_path))
    from toolbox_tui.engine import compose_cli

    compose_cli.compose_info.cache_clear()
    try:
        c = by_id(prereq_checks())
    finally:
        compose_cli.compose_info.cache_clear()
    assert c["prereq.docker_cli"].status == "fail" and "not on PATH" in c["prereq.docker_cli"].detail
    assert c["prereq.compose"].status == "fail" and "docker CLI is missing" in c["prereq.compose"].detail
    assert c["prereq.engine"].status == "pass"  # the SDK does not need the CLI


# --- swarm ------------------------------------------------------------------------------------

@pytest.fixture
def swarm_manager(on_private_engine):
    state = on_private_engine.client().info()["Swarm"]["LocalNodeState"]
    if state != "inactive":
        pytest.skip(f"swarm is {state!r} (another test is using it); not touching it")
    proc = subprocess.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        if "already part of a swarm" in proc.stderr:
            pytest.skip("another test initialised swarm meanwhile; not touching it")
        pytest.fail(f"docker swarm init failed: {proc.stderr.strip()}")
    try:
        yield
    finally:  # only the swarm this fixture made is left
        subprocess.run(["docker", "swarm", "leave", "--force"], capture_output=True, timeout=60)


@pytest.mark.xdist_group("private-engine")  # swarm init/leave on a private engine, beside the rest
def test_swarm_inactive_then_manager(no_docker_env, on_private_engine, request):
    if on_private_engine.client().info()["Swarm"]["LocalNodeState"] != "inactive":
        pytest.skip("swarm is in use by another test")
    sw = by_id(prereq_checks())["prereq.swarm"]
    assert sw.status == "pass" and sw.extra("local_node_state") == "inactive"
    assert "external" in sw.detail and "docker compose up" in sw.detail and "swarm init" not in sw.detail
    request.getfixturevalue("swarm_manager")
    sw = by_id(prereq_checks())["prereq.swarm"]
    assert sw.status == "pass" and sw.title == "Swarm: manager"
    assert sw.extra("local_node_state") == "active" and sw.extra("control_available") is True


# --- ports ------------------------------------------------------------------------------------

def test_no_stack_means_no_port_checks(no_docker_env):
    assert not [c for c in prereq_checks() if c.id.startswith("prereq.port")]


def test_free_and_held_ports(docker_client, no_docker_env):
    free = free_port()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    held = srv.getsockname()[1]
    stack = StandInStack("tbxtest-ports", [ref(free, "web", line=7), ref(held, "api", line=12)])
    try:
        c = by_id(prereq_checks(stack))
    finally:
        srv.close()
    ok = c[f"prereq.port.{free}/tcp"]
    assert ok.status == "pass" and ok.service == "web"
    assert (ok.file, ok.line, ok.column) == ("/repo/compose.yaml", 7, 9)
    bad = c[f"prereq.port.{held}/tcp"]
    assert bad.status == "fail" and bad.severity == "error"
    assert bad.service == "api" and bad.line == 12
    assert f"pid {os.getpid()}" in bad.detail
    assert bad.extra("holder_pid") == os.getpid()
    assert "/repo/compose.yaml:12" in bad.hint


def test_udp_port_held(no_docker_env):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    udp = PortRef(service="dns", host_ip="127.0.0.1", published=port, target=53, protocol="udp",
                  loc=None)
    try:
        c = by_id(prereq_checks(StandInStack("tbxtest-udp", [udp])))
    finally:
        s.close()
    check = c[f"prereq.port.{port}/udp"]
    assert check.status == "fail" and f"pid {os.getpid()}" in check.detail
    assert check.file is None and check.service == "dns"


def test_port_published_twice_by_the_stack(no_docker_env):
    port, other = free_port(), free_port()
    stack = StandInStack("tbxtest-twice", [ref(port, "web", line=7), ref(port, "api", "0.0.0.0", line=21),
                                           ref(other, "a", "127.0.0.1", line=30),
                                           ref(other, "b", "127.0.0.2", line=31)])
    c = by_id(prereq_checks(stack))
    twice = c[f"prereq.port.{port}/tcp"]
    assert twice.status == "fail" and (twice.service, twice.line) == ("api", 21)
    assert "service web (/repo/compose.yaml:7)" in twice.detail
    assert "service api (/repo/compose.yaml:21)" in twice.detail
    assert c[f"prereq.port.{other}/tcp"].status == "pass"  # different addresses do not collide


@pytest.fixture
def container_on_port(docker_client, test_image):
    """A running container publishing 127.0.0.1:PORT, labelled as compose project/service."""
    made = []

    def run(project: str, service: str = "web") -> tuple[int, str]:
        port = free_port()
        name = f"{project}-{service}-1"
        made.append(docker_client.containers.run(
            test_image, ["httpd", "-f", "-p", "80"], name=name, detach=True,
            ports={"80/tcp": ("127.0.0.1", port)},
            labels={"com.docker.compose.project": project, "com.docker.compose.service": service}))
        return port, name

    yield run
    for c in made:
        try:
            c.remove(force=True, v=True)
        except Exception:
            pass


def test_port_held_by_another_projects_container_fails(container_on_port, no_docker_env):
    other = f"tbxtest-{secrets.token_hex(4)}"
    port, name = container_on_port(other, "cache")
    c = by_id(prereq_checks(StandInStack("tbxtest-mine", [ref(port, "web")])))[f"prereq.port.{port}/tcp"]
    assert c.status == "fail"
    assert name in c.detail and f"compose project {other}" in c.detail
    assert f"docker stop {name}" in c.hint and f"docker compose -p {other} down" in c.hint
    assert c.extra("holder_container") == name


def test_port_held_by_this_stacks_own_service_passes(container_on_port, no_docker_env):
    mine = f"tbxtest-{secrets.token_hex(4)}"
    port, _ = container_on_port(mine, "web")
    c = by_id(prereq_checks(StandInStack(mine, [ref(port, "web")])))[f"prereq.port.{port}/tcp"]
    assert c.status == "pass"
    assert c.detail == "held by this stack's running service web"


def test_ports_from_a_real_compose_file(tmp_path, no_docker_env):
    from toolbox_tui.compose.project import ProjectOptions, load_stack

    free = free_port()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    held = srv.getsockname()[1]
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n"
        "  web:\n"
        "    image: toolbox-tui/busybox:test\n"
        "    ports:\n"
        f"      - \"127.0.0.1:{free}:80\"\n"
        "  api:\n"
        "    image: toolbox-tui/busybox:test\n"
        "    ports:\n"
        "      - target: 8000\n"
        f"        published: \"{held}\"\n"
        "        host_ip: 127.0.0.1\n"
        "        protocol: tcp\n")
    try:
        stack = load_stack(ProjectOptions(project_dir=str(tmp_path), files=(str(compose),),
                                          project_name="tbxtest-prereq", cwd=str(tmp_path)))
        c = by_id(prereq_checks(stack))
    finally:
        srv.close()
    ok, bad = c[f"prereq.port.{free}/tcp"], c[f"prereq.port.{held}/tcp"]
    assert ok.status == "pass" and ok.service == "web"
    assert Path(ok.file).resolve() == compose.resolve() and ok.line == 5
    assert bad.status == "fail" and bad.service == "api"
    assert Path(bad.file).resolve() == compose.resolve() and bad.line in (9, 10)
    assert f"pid {os.getpid()}" in bad.detail
