"""Is a host port free, and if not, who holds it (a process, or which container)?

`docker compose up` only says "port is already allocated" or "address already in use". Users need
the holder: a pid and command line, or the container (and its compose project/service) behind a
`docker-proxy`. The answer comes from a bind attempt (only on 127.0.0.1 or 0.0.0.0 — this never
binds any other address), then /proc/net/{tcp,tcp6,udp,udp6} for the listening socket's inode,
then /proc/*/fd for the process owning that inode, and the Docker API for published ports.

Everything read from /proc or the engine is untrusted text and is sanitized before it leaves;
command lines also have likely credentials (`--password=...`, `user:pw@` in URLs) masked.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from toolbox_tui.engine.containers import PROJECT_LABEL, SERVICE_LABEL
from toolbox_tui.engine.proc_sockets import (CMDLINE_LIMIT, TCP_LISTEN, UDP_UNCONNECTED, SocketEntry,
                                      addresses_conflict, container_id_of_pid, is_wildcard,
                                      listeners, norm_ip, parse_hex_address, parse_proc_net,
                                      pids_for_inode, process_facts, redact_argv, sanitize,
                                      user_name)

__all__ = ["BINDABLE_IPS", "CMDLINE_LIMIT", "TCP_LISTEN", "UDP_UNCONNECTED", "ContainerPort",
           "PortOwner", "SocketEntry", "addresses_conflict", "bind_free", "container_id_of_pid",
           "container_ports", "containers_publishing", "listeners", "parse_hex_address",
           "parse_proc_net", "pids_for_inode", "port_owner", "process_facts", "redact_argv",
           "sanitize"]

BINDABLE_IPS = ("127.0.0.1", "0.0.0.0")
"""The only addresses a bind test is ever made on."""


@dataclass(frozen=True)
class ContainerPort:
    """A running container's published port, from the Docker API."""

    container_id: str
    name: str
    ip: str
    public_port: int
    private_port: int
    proto: str
    project: str | None = None
    """Label com.docker.compose.project."""
    service: str | None = None
    """Label com.docker.compose.service."""


@dataclass(frozen=True)
class PortOwner:
    """Who holds a host port. `kind`: process, container, other_user, time_wait or unknown."""

    port: int
    proto: str
    host_ip: str
    """The address that was asked about."""
    kind: str
    bound_ip: str | None = None
    """The address the holder listens on (`0.0.0.0`, `::`, `127.0.0.1`)."""
    pid: int | None = None
    pids: tuple[int, ...] = ()
    command: str | None = None
    """Short process name (/proc/PID/comm), sanitized."""
    cmdline: str | None = None
    """Sanitized, truncated command line."""
    uid: int | None = None
    user: str | None = None
    container_id: str | None = None
    container: str | None = None
    """Container name (without the leading slash), sanitized."""
    project: str | None = None
    service: str | None = None

    def describe(self) -> str:
        """One sentence for a report: `held by container x (compose project p, service s) ...`."""
        where = f"{self.bound_ip}:{self.port}/{self.proto}" if self.bound_ip else f"{self.port}/{self.proto}"
        if self.kind == "container":
            text = f"held by container {self.container or self.container_id}"
            if self.project or self.service:
                parts = []
                if self.project:
                    parts.append(f"compose project {self.project}")
                if self.service:
                    parts.append(f"service {self.service}")
                text += f" ({', '.join(parts)})"
            if self.pid:
                text += f" via {self.command or 'docker-proxy'} pid {self.pid}"
            return text + f" on {where}"
        if self.kind == "process":
            who = self.command or "?"
            if self.user:
                who += f", user {self.user}"
            text = f"held by pid {self.pid} ({who}) listening on {where}"
            if self.cmdline:
                text += f"; command: {self.cmdline}"
            return text
        if self.kind == "other_user":
            who = f"user {self.user}" if self.user else (f"uid {self.uid}" if self.uid is not None
                                                         else "another user")
            return (f"held by another user's process ({who}; pid unknown; run as root or "
                    f"`sudo ss -ltnp`) on {where}")
        if self.kind == "time_wait":
            return (f"blocked on {where} by recently closed connections (TIME_WAIT) of a server that "
                    "did not set SO_REUSEADDR; it frees itself within about a minute")
        return (f"in use on {where} but the holder could not be found (another network or PID "
                f"namespace?; try `sudo ss -ltnup` or `sudo lsof -i :{self.port}`)")


def _proxy_args(argv: Sequence[str]) -> dict[str, str]:
    """`docker-proxy -proto tcp -host-ip 127.0.0.1 -host-port 8080 -container-ip ...` as a dict."""
    out: dict[str, str] = {}
    for i, arg in enumerate(argv[:-1]):
        if arg.startswith("-") and not argv[i + 1].startswith("-"):
            out[arg.lstrip("-")] = argv[i + 1]
    return out


# ---------------------------------------------------------------------------------------------
# Containers

def container_ports(client: Any) -> list[ContainerPort]:
    """Published ports of all running containers (one API call)."""
    out = []
    for c in client.api.containers():
        names = c.get("Names") or []
        name = sanitize(str(names[0]).lstrip("/"), 128) if names else str(c.get("Id", ""))[:12]
        labels = c.get("Labels") or {}
        project = labels.get(PROJECT_LABEL)
        service = labels.get(SERVICE_LABEL)
        for p in c.get("Ports") or []:
            if not p.get("PublicPort"):
                continue
            out.append(ContainerPort(
                container_id=str(c.get("Id", "")), name=name, ip=str(p.get("IP") or "0.0.0.0"),
                public_port=int(p["PublicPort"]), private_port=int(p.get("PrivatePort") or 0),
                proto=str(p.get("Type") or "tcp"),
                project=sanitize(project, 128) if isinstance(project, str) else None,
                service=sanitize(service, 128) if isinstance(service, str) else None))
    return out


def containers_publishing(ports: Iterable[ContainerPort], port: int, proto: str = "tcp",
                          host_ip: str = "0.0.0.0") -> list[ContainerPort]:
    return [p for p in ports if p.public_port == port and p.proto == proto
            and addresses_conflict(p.ip, host_ip)]


# ---------------------------------------------------------------------------------------------
# The question

def bind_free(port: int, proto: str = "tcp", host_ip: str = "0.0.0.0", *,
              reuse: bool = False) -> bool | None:
    """True when `host_ip:port` can be bound now, False when in use, None when we cannot tell.

    Only 127.0.0.1 and 0.0.0.0 are ever bound (a wildcard or empty host_ip means 0.0.0.0).
    """
    ip = "0.0.0.0" if is_wildcard(host_ip) else norm_ip(host_ip)
    if ip not in BINDABLE_IPS:
        return None
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1 if reuse else 0)
        sock.bind((ip, port))
        return True
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return False
        return None  # EACCES on a privileged port, EADDRNOTAVAIL...: ask /proc instead
    finally:
        sock.close()


def port_owner(port: int, proto: str = "tcp", host_ip: str = "0.0.0.0", *, client: Any = None,
               containers: Sequence[ContainerPort] | None = None, proc_root: str = "/proc",
               try_bind: bool = True) -> PortOwner | None:
    """None when the port is free; else who holds it.

    `containers` (from `container_ports`) or `client` lets a docker-proxy be named as its
    container, and catches ports published without a proxy (userland-proxy off). Without
    either, the engine is asked only when a docker-proxy is found and `connect()` works.
    """
    proto = proto.lower()
    host_ip = host_ip or "0.0.0.0"
    free = bind_free(port, proto, host_ip) if try_bind else None
    if free is False and not listeners(port, proto, host_ip, proc_root):
        # Without SO_REUSEADDR, connections lingering in TIME_WAIT block the bind too; Docker
        # binds with SO_REUSEADDR, so those do not count.
        free = bind_free(port, proto, host_ip, reuse=True) or False
    if free:
        published = _published(port, proto, host_ip, client, containers, required=False)
        if published:
            return _container_owner(port, proto, host_ip, published[0], None, None, None)
        return None

    socks = listeners(port, proto, host_ip, proc_root)
    if not socks:
        if free is None:
            published = _published(port, proto, host_ip, client, containers, required=False)
            if published:
                return _container_owner(port, proto, host_ip, published[0], None, None, None)
            return None  # not bindable here, nothing listening in /proc: free as far as we know
        if proto == "tcp" and listeners(port, proto, host_ip, proc_root, any_state=True):
            # Closed connections from a socket without SO_REUSEADDR block even Docker's bind.
            return PortOwner(port=port, proto=proto, host_ip=host_ip, kind="time_wait")
        return PortOwner(port=port, proto=proto, host_ip=host_ip, kind="unknown")

    sock = socks[0]
    scan = pids_for_inode(sock.inode, proc_root)
    if not scan.pids:
        if scan.unreadable:
            return PortOwner(port=port, proto=proto, host_ip=host_ip, kind="other_user",
                             bound_ip=sock.ip, uid=sock.uid, user=user_name(sock.uid))
        published = _published(port, proto, host_ip, client, containers, required=False)
        if published:
            return _container_owner(port, proto, host_ip, published[0], None, None, sock.ip)
        return PortOwner(port=port, proto=proto, host_ip=host_ip, kind="unknown", bound_ip=sock.ip,
                         uid=sock.uid, user=user_name(sock.uid))
    pid = scan.pids[0]
    comm, cmdline, argv = process_facts(pid, proc_root)
    if comm == "docker-proxy" or (argv and os.path.basename(argv[0]) == "docker-proxy"):
        published = _published(port, proto, host_ip, client, containers, required=True)
        args = _proxy_args(argv)
        match = [p for p in published if not args.get("host-ip")
                 or addresses_conflict(p.ip, args["host-ip"])] or published
        if match:
            return _container_owner(port, proto, host_ip, match[0], pid, comm, sock.ip,
                                    pids=scan.pids, cmdline=cmdline)
    cid = container_id_of_pid(pid, proc_root)
    if cid:
        # A container on the host network (or a process started inside one) listens itself.
        cp = _container_by_id(cid, client, containers)
        return _container_owner(port, proto, host_ip, cp, pid, comm, sock.ip, pids=scan.pids,
                                cmdline=cmdline)
    return PortOwner(port=port, proto=proto, host_ip=host_ip, kind="process", bound_ip=sock.ip,
                     pid=pid, pids=scan.pids, command=comm, cmdline=cmdline, uid=sock.uid,
                     user=user_name(sock.uid))


def _container_by_id(cid: str, client: Any, containers: Sequence[ContainerPort] | None) -> ContainerPort:
    for c in containers or ():
        if c.container_id == cid:
            return c
    if client is None:
        try:
            from toolbox_tui.engine.client import connect

            client = connect(timeout=3.0, probe_timeout=1.0)
        except Exception:
            client = None
    if client is not None:
        try:
            data = client.api.inspect_container(cid)
            labels = (data.get("Config") or {}).get("Labels") or {}
            project = labels.get(PROJECT_LABEL)
            service = labels.get(SERVICE_LABEL)
            return ContainerPort(
                container_id=cid, name=sanitize(str(data.get("Name") or cid[:12]).lstrip("/"), 128),
                ip="", public_port=0, private_port=0, proto="",
                project=sanitize(project, 128) if isinstance(project, str) else None,
                service=sanitize(service, 128) if isinstance(service, str) else None)
        except Exception:
            pass
    return ContainerPort(container_id=cid, name=cid[:12], ip="", public_port=0, private_port=0, proto="")


def _published(port: int, proto: str, host_ip: str, client: Any,
               containers: Sequence[ContainerPort] | None, *, required: bool) -> list[ContainerPort]:
    if containers is None:
        if client is None and required:
            try:
                from toolbox_tui.engine.client import connect

                client = connect(timeout=3.0, probe_timeout=1.0)
            except Exception:
                return []
        if client is None:
            return []
        try:
            containers = container_ports(client)
        except Exception:
            return []
    return containers_publishing(containers, port, proto, host_ip)


def _container_owner(port: int, proto: str, host_ip: str, cp: ContainerPort, pid: int | None,
                     comm: str | None, bound_ip: str | None, *, pids: tuple[int, ...] = (),
                     cmdline: str | None = None) -> PortOwner:
    return PortOwner(port=port, proto=proto, host_ip=host_ip, kind="container",
                     bound_ip=bound_ip or cp.ip or None, pid=pid, pids=pids, command=comm, cmdline=cmdline,
                     container_id=cp.container_id, container=cp.name, project=cp.project,
                     service=cp.service)
