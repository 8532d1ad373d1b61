"""The one place that creates Docker SDK clients, and explains why it could not.

docker-py knows DOCKER_HOST and the TLS variables but not docker contexts, and its errors are
nested `requests` exceptions that say nothing a user can act on. This module takes the endpoint
the docker CLI would use (`docker_context`: DOCKER_HOST, then DOCKER_CONTEXT, then the config's
`currentContext`), probes it with a plain socket first so a failure can be classified by errno
(socket missing, permission denied, refused, DNS, timeout), and only then builds the client.

The `docker` package is imported lazily: the probe and the classifier work without it, which
lets a test run them as an unprivileged user under the system Python.
"""

from __future__ import annotations

import errno as errno_mod
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlparse

from toolbox_tui.engine import context as docker_context
from toolbox_tui.engine import ssh
from toolbox_tui.engine.context import (DEFAULT_CONTEXT, DEFAULT_HOST, ContextError, Endpoint,
                                        current_context, docker_config_dir)

from toolbox_tui.errors import ToolboxError

if TYPE_CHECKING:  # pragma: no cover
    import docker

__all__ = ["DEFAULT_CONTEXT", "DEFAULT_HOST", "REASONS", "Endpoint", "EngineInfo", "EngineUnavailable",
           "classify_errno", "classify_exception", "client_endpoint", "connect", "current_context",
           "docker_config_dir", "engine_info", "probe_endpoint", "resolve_endpoint", "version_tuple"]

REASONS = ("daemon_down", "permission_denied", "bad_host", "bad_context", "timeout", "other")
"""Every value `EngineUnavailable.reason` can take."""

_HINT_GROUP = ("add yourself to the docker group: sudo usermod -aG docker $USER, then log in again "
               "(or run with sudo)")
_HINT_START = "start the daemon: sudo systemctl start docker (or start Docker Desktop)"


class EngineUnavailable(ToolboxError):
    """The Docker engine could not be reached; every field is meant for the user."""

    def __init__(self, reason: str, message: str, hint: str = "", *, host: str = "",
                 context: str | None = None, source: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        """One of REASONS."""
        self.message = message
        """One sentence naming the socket/host and what is wrong with it."""
        self.hint = hint
        """The next step for the user."""
        self.host = host
        """The endpoint that was tried (`unix:///var/run/docker.sock`, `tcp://h:2376`)."""
        self.context = context
        """The docker context the endpoint came from, if any other than `default`."""
        self.source = source
        """Where the endpoint came from: `DOCKER_HOST`, `context`, or `default`."""

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class EngineInfo:
    """What the prerequisite checks need to know about the engine, read once."""

    server_version: str
    api_version: str
    min_api_version: str
    os: str
    """`OperatingSystem` (`Debian GNU/Linux 12 (bookworm)`, `Docker Desktop`)."""
    os_type: str
    arch: str
    kernel: str
    name: str
    """The engine host's name (compare with this machine's to tell a local engine)."""
    data_root: str
    """`DockerRootDir` as the engine sees it."""
    storage_driver: str
    swarm_state: str
    """`LocalNodeState`: inactive, pending, active, error, locked."""
    swarm_control_available: bool
    """True on a swarm manager."""
    ncpu: int
    mem_total: int
    """Bytes."""
    driver_status: tuple[tuple[str, str], ...] = ()
    host: str = ""
    """The endpoint the client talks to."""

    @property
    def api_tuple(self) -> tuple[int, ...]:
        return version_tuple(self.api_version)

    @property
    def server_tuple(self) -> tuple[int, ...]:
        return version_tuple(self.server_version)


def version_tuple(text: str) -> tuple[int, ...]:
    """`20.10.24+dfsg1` -> (20, 10, 24); garbage -> ()."""
    out = []
    for part in str(text).split("."):
        digits = ""
        for ch in part:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        out.append(int(digits))
        if len(digits) != len(part):
            break
    return tuple(out[:3])


# ---------------------------------------------------------------------------------------------
# Endpoint resolution

def resolve_endpoint(environ: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint the docker CLI would use. Raises EngineUnavailable('bad_context')."""
    try:
        return docker_context.resolve_endpoint(environ)
    except ContextError as exc:
        raise EngineUnavailable("bad_context", exc.message, exc.hint, context=exc.context,
                                source="context") from None


# ---------------------------------------------------------------------------------------------
# Probe and classification

def _os_text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _describe(ep: Endpoint) -> str:
    if ep.source == "DOCKER_HOST":
        return f"DOCKER_HOST={ep.display_host}"
    if ep.source == "context":
        return f"{ep.display_host} (docker context {ep.context!r})"
    return ep.display_host


def classify_errno(err: int | None, ep: Endpoint, *, detail: str = "") -> EngineUnavailable:
    """Turn an errno seen while connecting to `ep` into a user-facing EngineUnavailable."""
    path = ep.socket_path
    where = _describe(ep)
    if path is not None:
        if err == errno_mod.ENOENT:
            exc = EngineUnavailable(
                "daemon_down", f"Cannot connect to the Docker engine at {where}: the socket {path} "
                "does not exist (the daemon is not running)",
                _HINT_START if ep.source == "default" else
                f"start the daemon, or point DOCKER_HOST at a running engine (unset it for the default {DEFAULT_HOST})",
                host=ep.display_host)
        elif err in (errno_mod.EACCES, errno_mod.EPERM):
            exc = EngineUnavailable(
                "permission_denied", f"Permission denied on the Docker socket {path}: "
                "this user may not talk to the engine", _HINT_GROUP, host=ep.display_host)
        elif err == errno_mod.ECONNREFUSED:
            exc = EngineUnavailable(
                "daemon_down", f"Cannot connect to the Docker engine at {where}: the socket {path} "
                "exists but nothing accepts connections (the daemon is not running, or crashed and "
                "left the socket behind)", _HINT_START, host=ep.display_host)
        elif err == errno_mod.ENOTSOCK:
            exc = EngineUnavailable(
                "bad_host", f"{where}: {path} is not a socket",
                "point DOCKER_HOST (or the context) at the engine's socket, usually /var/run/docker.sock",
                host=ep.display_host)
        elif err in (errno_mod.ETIMEDOUT, errno_mod.EAGAIN):
            exc = EngineUnavailable(
                "timeout", f"The Docker engine at {where} did not answer in time",
                "the daemon may be hung or overloaded: check `docker info` and the daemon log",
                host=ep.display_host)
        else:
            exc = EngineUnavailable(
                "other", f"Cannot connect to the Docker engine at {where}: "
                f"{detail or (os.strerror(err) if err else 'unknown error')}",
                "check that the daemon is running and the socket is the right one", host=ep.display_host)
    else:
        fix = ("fix or unset DOCKER_HOST" if ep.source == "DOCKER_HOST" else
               f"fix the endpoint of docker context {ep.context!r} or `docker context use default`")
        if err in (errno_mod.ETIMEDOUT,):
            exc = EngineUnavailable(
                "timeout", f"The Docker engine at {where} did not answer in time",
                f"{ep.display_host} is not reachable from here; {fix}", host=ep.display_host)
        elif err == errno_mod.ECONNREFUSED:
            exc = EngineUnavailable(
                "bad_host", f"Cannot connect to the Docker engine at {where}: connection refused "
                "(no engine listens there, or the daemon is down)",
                f"{ep.display_host} is not reachable; {fix}", host=ep.display_host)
        else:
            exc = EngineUnavailable(
                "bad_host", f"Cannot connect to the Docker engine at {where}: "
                f"{detail or (os.strerror(err) if err else 'unreachable')}",
                f"{ep.display_host} is not reachable; {fix}", host=ep.display_host)
    exc.source = ep.source
    if ep.source == "context":
        # The user's context is what is wrong: say so, keep the underlying cause in the message.
        exc.context = ep.context
        exc.hint = (f"docker context {ep.context!r} points at {ep.display_host}, which is not usable: "
                    f"{exc.hint}; or switch with `docker context use default`")
        exc.reason = "bad_context"
    return exc


def _errno_of(exc: BaseException) -> tuple[int | None, str, bool]:
    """(errno, text, is_dns) from an exception chain (requests wraps urllib3 wraps OSError)."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    text = ""
    while stack:
        cur = stack.pop()
        if id(cur) in seen or not isinstance(cur, BaseException):
            continue
        seen.add(id(cur))
        if isinstance(cur, socket.gaierror):
            return None, _os_text(cur), True
        if isinstance(cur, (socket.timeout, TimeoutError)):
            return errno_mod.ETIMEDOUT, "timed out", False
        if isinstance(cur, OSError) and cur.errno:
            return cur.errno, _os_text(cur), False
        if not text:
            text = str(cur)
        stack.extend(a for a in getattr(cur, "args", ()) if isinstance(a, BaseException))
        for attr in ("__cause__", "__context__", "reason"):
            nxt = getattr(cur, attr, None)
            if isinstance(nxt, BaseException):
                stack.append(nxt)
    low = text.lower()
    if "timed out" in low or "timeout" in low:
        return errno_mod.ETIMEDOUT, "timed out", False
    if "name or service not known" in low or "nodename nor servname" in low or \
            "failed to resolve" in low or "temporary failure in name resolution" in low:
        return None, text, True
    return None, text, False


def classify_exception(exc: BaseException, ep: Endpoint) -> EngineUnavailable:
    """Classify any exception raised while talking to `ep` (SDK, requests, socket)."""
    if isinstance(exc, EngineUnavailable):
        return exc
    err, text, is_dns = _errno_of(exc)
    if is_dns:
        host = urlparse(ep.host).hostname or ep.host
        out = classify_errno(None, ep, detail=f"the host name {host!r} does not resolve")
        return out
    if err is not None:
        return classify_errno(err, ep)
    low = text.lower()
    if "http request to an https server" in low or "client sent an http request" in low:
        out = EngineUnavailable(
            "bad_host", f"The engine at {_describe(ep)} expects TLS but the client did not use it",
            "set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the directory with ca.pem, cert.pem, key.pem",
            host=ep.display_host, source=ep.source)
    elif "ssl" in low or "certificate" in low:
        out = EngineUnavailable(
            "bad_host", f"TLS handshake with the engine at {_describe(ep)} failed: {_short(text)}",
            "check DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) and that the host name matches the certificate",
            host=ep.display_host, source=ep.source)
    else:
        out = EngineUnavailable(
            "other", f"The engine at {_describe(ep)} did not answer like a Docker engine: {_short(text)}",
            "check that the endpoint is a Docker engine: `docker version`", host=ep.display_host, source=ep.source)
    if ep.source == "context":
        out.reason, out.context = "bad_context", ep.context
        out.hint = f"docker context {ep.context!r} points at {ep.display_host}: {out.hint}"
    return out


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def probe_endpoint(ep: Endpoint, timeout: float = 3.0) -> None:
    """Open (and close) a plain connection to `ep`; raise a classified EngineUnavailable.

    Only unix and tcp endpoints are probed here; ssh:// ones by `engine.ssh.probe`.
    """
    path = ep.socket_path
    if path is not None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise classify_errno(errno_mod.ENOENT, ep) from None
        except PermissionError:
            raise classify_errno(errno_mod.EACCES, ep) from None
        except OSError as exc:
            raise classify_errno(exc.errno, ep, detail=_os_text(exc)) from None
        if not stat.S_ISSOCK(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "a regular file" \
                if stat.S_ISREG(st.st_mode) else "not a socket"
            out = classify_errno(errno_mod.ENOTSOCK, ep)
            out.message = f"{_describe(ep)}: {path} is {kind}, not the engine's socket"
            raise out
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except (socket.timeout, TimeoutError):
            raise classify_errno(errno_mod.ETIMEDOUT, ep) from None
        except OSError as exc:
            raise classify_errno(exc.errno, ep, detail=_os_text(exc)) from None
        finally:
            sock.close()
        return
    parsed = urlparse(ep.host)
    if parsed.scheme not in ("tcp", "http", "https"):
        return
    hostname = parsed.hostname
    port = parsed.port or (2376 if ep.tls else 2375)
    if not hostname:
        raise EngineUnavailable("bad_host", f"{_describe(ep)} has no host name",
                                "use the form tcp://HOST:PORT", host=ep.display_host, source=ep.source)
    try:
        conn = socket.create_connection((hostname, port), timeout=timeout)
    except socket.gaierror:
        raise classify_errno(None, ep, detail=f"the host name {hostname!r} does not resolve") from None
    except (socket.timeout, TimeoutError):
        raise classify_errno(errno_mod.ETIMEDOUT, ep) from None
    except OSError as exc:
        raise classify_errno(exc.errno, ep, detail=_os_text(exc)) from None
    conn.close()


# ---------------------------------------------------------------------------------------------
# Client

def _tls_config(ep: Endpoint) -> Any:
    if not ep.tls:
        return None
    from docker.tls import TLSConfig

    d = Path(ep.tls_dir or "")
    cert, key, ca = d / "cert.pem", d / "key.pem", d / "ca.pem"
    client_cert = (str(cert), str(key)) if cert.is_file() and key.is_file() else None
    verify = ep.tls_verify and not ep.skip_tls_verify
    try:
        return TLSConfig(client_cert=client_cert, ca_cert=str(ca) if verify and ca.is_file() else None,
                         verify=verify)
    except Exception as exc:  # docker.errors.TLSParameterError
        raise EngineUnavailable(
            "bad_context" if ep.source == "context" else "bad_host",
            f"TLS settings for {_describe(ep)} are unusable: {_short(str(exc))}",
            f"check that {d} holds ca.pem, cert.pem and key.pem", host=ep.display_host,
            context=ep.context if ep.source == "context" else None, source=ep.source) from None


def connect(timeout: float | None = 10.0, *, probe_timeout: float = 3.0,
            environ: Mapping[str, str] | None = None, endpoint: Endpoint | None = None,
            ) -> "docker.DockerClient":
    """A DockerClient for the engine the docker CLI would use, verified with a ping.

    `timeout` is the client's per-request timeout (None: wait forever, for long streams);
    `probe_timeout` bounds the connection probe and the first ping. Raises EngineUnavailable.
    """
    ep = endpoint or resolve_endpoint(environ)
    probe_endpoint(ep, timeout=probe_timeout)
    import docker

    kwargs: dict[str, Any] = {"base_url": ep.host, "timeout": probe_timeout, "version": "auto"}
    tls = _tls_config(ep)
    if tls is not None:
        kwargs["tls"] = tls
    client = None
    try:  # ssh://: through the user's ssh client (engine/ssh.py), as the docker CLI does
        client = ssh.client(ep, probe_timeout=probe_timeout) if ep.scheme == "ssh" else \
            docker.DockerClient(**kwargs)
        client.ping()
    except Exception as exc:
        if client is not None:
            client.close()
        raise classify_exception(exc, ep) from None
    client.api.timeout = timeout
    # Remember where the client points (the SDK only keeps `http+docker://localhost`).
    client.toolbox_endpoint = ep  # type: ignore[attr-defined]
    return client


def engine_info(client: "docker.DockerClient") -> EngineInfo:
    """Read `/info` and `/version` once; SDK errors propagate (wrap with classify_exception)."""
    info = client.info()
    ver = client.version()
    swarm = info.get("Swarm") or {}
    return EngineInfo(
        server_version=str(ver.get("Version") or info.get("ServerVersion") or ""),
        api_version=str(ver.get("ApiVersion") or ""),
        min_api_version=str(ver.get("MinAPIVersion") or ""),
        os=str(info.get("OperatingSystem") or ""),
        os_type=str(info.get("OSType") or ver.get("Os") or ""),
        arch=str(info.get("Architecture") or ver.get("Arch") or ""),
        kernel=str(info.get("KernelVersion") or ver.get("KernelVersion") or ""),
        name=str(info.get("Name") or ""),
        data_root=str(info.get("DockerRootDir") or ""),
        storage_driver=str(info.get("Driver") or ""),
        swarm_state=str(swarm.get("LocalNodeState") or "inactive"),
        swarm_control_available=bool(swarm.get("ControlAvailable")),
        ncpu=int(info.get("NCPU") or 0),
        mem_total=int(info.get("MemTotal") or 0),
        driver_status=tuple((str(k), str(v)) for k, v in (info.get("DriverStatus") or [])
                            if isinstance(k, str)),
        host=_endpoint_host(client),
    )


def _endpoint_host(client: Any) -> str:
    ep = getattr(client, "toolbox_endpoint", None)
    if isinstance(ep, Endpoint):
        return ep.display_host
    api = getattr(client, "api", None)
    path = getattr(getattr(api, "_custom_adapter", None), "socket_path", None)
    if isinstance(path, str) and path:  # a unix-socket client made elsewhere (docker.from_env)
        return f"unix://{path}"
    return str(getattr(api, "base_url", "") or "")


def client_endpoint(client: Any) -> Endpoint | None:
    """The Endpoint a client made by `connect()` talks to (None for foreign clients)."""
    ep = getattr(client, "toolbox_endpoint", None)
    return ep if isinstance(ep, Endpoint) else None
