"""Which process holds a socket: /proc/net/{tcp,tcp6,udp,udp6} parsing and the /proc/*/fd scan.

Pure reading of the kernel's tables (Linux only), separate from the port question itself
(`port_owners`), so the parsing can be tested on fixture files under any `proc_root`.
Everything read here is untrusted: names and command lines are sanitized, and likely
credentials in command lines (`--password=...`, `user:pw@` in URLs) are masked.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import re
import sys
from dataclasses import dataclass
from typing import Sequence

from toolbox_tui.sanitize import strip_all

TCP_LISTEN = 0x0A
UDP_UNCONNECTED = 0x07
CMDLINE_LIMIT = 160
"""Command lines are cut to this many characters in messages."""


def sanitize(text: str, limit: int = CMDLINE_LIMIT) -> str:
    """Untrusted text (a command line, a container name) made safe for one line of output."""
    text = " ".join(strip_all(re.sub(r"[\r\n\t\v\f]", " ", text), max_len=None).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class SocketEntry:
    """One line of /proc/net/{tcp,tcp6,udp,udp6}."""

    ip: str
    """Local address, normalized (`127.0.0.1`, `::`, `::1`)."""
    port: int
    state: int
    uid: int
    inode: int
    family: int
    """4 or 6."""


# ---------------------------------------------------------------------------------------------
# /proc/net parsing

def parse_hex_address(text: str, byteorder: str = sys.byteorder) -> tuple[str, int]:
    """`0100007F:1F90` -> ('127.0.0.1', 8080); 32-hex-digit IPv6 addresses too.

    The kernel prints each 32-bit word of the address in host byte order.
    """
    addr_hex, _, port_hex = text.partition(":")
    port = int(port_hex, 16)
    if len(addr_hex) == 8:
        raw = int(addr_hex, 16).to_bytes(4, byteorder)
        return str(ipaddress.IPv4Address(raw)), port
    if len(addr_hex) == 32:
        raw = b"".join(int(addr_hex[i:i + 8], 16).to_bytes(4, byteorder) for i in range(0, 32, 8))
        return str(ipaddress.IPv6Address(raw)), port
    raise ValueError(f"not a /proc/net address: {text!r}")


def parse_proc_net(text: str, family: int = 4, byteorder: str = sys.byteorder) -> list[SocketEntry]:
    """All entries of one /proc/net/{tcp,udp}[6] file; malformed lines are skipped."""
    out = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        try:
            ip, port = parse_hex_address(fields[1], byteorder)
            state = int(fields[3], 16)
            uid = int(fields[7])
            inode = int(fields[9])
        except ValueError:
            continue
        out.append(SocketEntry(ip=ip, port=port, state=state, uid=uid, inode=inode,
                               family=6 if ":" in ip else family))
    return out


def is_wildcard(ip: str) -> bool:
    return ip in ("", "0.0.0.0", "::", "*")


def norm_ip(ip: str) -> str:
    """Strip brackets; map `::ffff:1.2.3.4` to `1.2.3.4`."""
    ip = ip.strip("[]")
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        return str(addr.ipv4_mapped)
    return str(addr)


def addresses_conflict(bound_ip: str, wanted_ip: str) -> bool:
    """Would binding `wanted_ip` collide with a socket bound on `bound_ip` (same port)?"""
    a, b = norm_ip(bound_ip), norm_ip(wanted_ip)
    if is_wildcard(a) or is_wildcard(b):
        return True
    return a == b


def listeners(port: int, proto: str = "tcp", host_ip: str = "0.0.0.0",
              proc_root: str = "/proc", *, any_state: bool = False) -> list[SocketEntry]:
    """Sockets in this network namespace that hold `port` in a way that collides with host_ip.

    TCP: LISTEN sockets only, unless `any_state` (then also TIME_WAIT and friends).
    """
    found = []
    for suffix, family in (("", 4), ("6", 6)):
        try:
            with open(f"{proc_root}/net/{proto}{suffix}", encoding="ascii", errors="replace") as fh:
                entries = parse_proc_net(fh.read(), family)
        except OSError:
            continue
        for e in entries:
            if e.port != port:
                continue
            if proto == "tcp" and e.state != TCP_LISTEN and not any_state:
                continue
            if proto == "udp" and e.state != UDP_UNCONNECTED:
                continue
            if addresses_conflict(e.ip, host_ip):
                found.append(e)
    return found


# ---------------------------------------------------------------------------------------------
# inode -> process

@dataclass(frozen=True)
class ProcScan:
    pids: tuple[int, ...]
    unreadable: int
    """How many processes' fd tables could not be read (other users, when not root)."""


def pids_for_inode(inode: int, proc_root: str = "/proc") -> ProcScan:
    target = f"socket:[{inode}]"
    pids: list[int] = []
    unreadable = 0
    try:
        entries = os.listdir(proc_root)
    except OSError:
        return ProcScan((), 1)
    for name in entries:
        if not name.isdigit():
            continue
        fd_dir = f"{proc_root}/{name}/fd"
        try:
            fds = os.listdir(fd_dir)
        except PermissionError:
            unreadable += 1
            continue
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"{fd_dir}/{fd}") == target:
                    pids.append(int(name))
                    break
            except OSError:
                continue
    return ProcScan(tuple(sorted(pids)), unreadable)


def read_bytes(path: str, limit: int = 65536) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit)
    except OSError:
        return None


def user_name(uid: int | None) -> str | None:
    if uid is None:
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return str(uid)


_SECRET_NAME = r"(?:pass(?:word|wd)?|secret|token|api[-_]?key|access[-_]?key|auth|credentials?|private[-_]?key)"
_SECRET_ASSIGN = re.compile(r"(?i)^(-{0,2}[\w.-]*" + _SECRET_NAME + r"[\w.-]*[=:])(.+)$")
_SECRET_FLAG = re.compile(r"(?i)^-{1,2}[\w.-]*" + _SECRET_NAME + r"[\w.-]*$")
_URL_USERINFO = re.compile(r"(://[^/\s:@]*:)[^@\s/]+@")
REDACTED = "***"


def redact_argv(argv: Sequence[str]) -> list[str]:
    """A process's argv with likely credentials masked before it reaches any report.

    `--password=x`, `DB_PASSWORD=x`, `--token x`, `postgres://u:x@h` keep their names, lose values.
    """
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next and not arg.startswith("-"):
            out.append(REDACTED)
            hide_next = False
            continue
        hide_next = False
        m = _SECRET_ASSIGN.match(arg)
        if m:
            arg = m.group(1) + REDACTED
        elif _SECRET_FLAG.match(arg):
            hide_next = True
        out.append(_URL_USERINFO.sub(r"\1" + REDACTED + "@", arg))
    return out


def process_facts(pid: int, proc_root: str = "/proc") -> tuple[str | None, str | None, list[str]]:
    """(comm, sanitized cmdline, raw argv) of a process; Nones when it vanished."""
    comm_raw = read_bytes(f"{proc_root}/{pid}/comm")
    comm = sanitize(comm_raw.decode("utf-8", "replace"), 64) if comm_raw is not None else None
    cmd_raw = read_bytes(f"{proc_root}/{pid}/cmdline")
    argv = [a.decode("utf-8", "replace") for a in cmd_raw.split(b"\0") if a] if cmd_raw else []
    cmdline = sanitize(" ".join(redact_argv(argv))) if argv else None
    return comm, cmdline, argv


_CGROUP_ID = re.compile(r"(?:/docker/|/docker-|\bdocker-)([0-9a-f]{64})(?:\.scope)?\b")


def container_id_of_pid(pid: int, proc_root: str = "/proc") -> str | None:
    """The Docker container a process runs in, from /proc/PID/cgroup (v1 and v2 layouts)."""
    raw = read_bytes(f"{proc_root}/{pid}/cgroup")
    if not raw:
        return None
    m = _CGROUP_ID.search(raw.decode("ascii", "replace"))
    return m.group(1) if m else None
