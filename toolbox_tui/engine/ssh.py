"""Engines behind `ssh://`, reached as the docker CLI reaches them: through the user's own `ssh`
client (its config, agent, known_hosts, ProxyJump...), running `docker system dial-stdio` on the
far end and speaking the engine API over that pipe.

The docker SDK's own ssh support does not serve: it imports paramiko even when told to use the
ssh client (so `DOCKER_HOST=ssh://…` failed with "Install paramiko package to enable ssh://
support" while `docker ps` worked), it starts a new ssh process for every request (a handshake
each time: a dashboard makes many), it leaves ssh's stderr on the terminal ("Connection to host
closed", "Warning: Permanently added", painted over a full-screen UI), and its reads ignore
timeouts. Here:

* `probe` runs one `ssh … docker version` first, with BatchMode (never a password or passphrase
  prompt in the middle of the UI) and a time limit, and turns its failure into the same
  `EngineUnavailable` every other endpoint gets: host unknown, refused, timed out, key refused,
  host key not known or changed, no docker CLI there, no daemon there;
* `SshAdapter` keeps a pool of dial-stdio connections (reused like sockets), each ssh with its
  stderr kept in a private file (bounded when read, for error messages) and reads that honour the
  client's timeout.
"""

from __future__ import annotations

import io
import os
import select
import socket
import subprocess
import tempfile
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from toolbox_tui.sanitize import plain_text

if TYPE_CHECKING:  # pragma: no cover
    from toolbox_tui.engine.context import Endpoint

BASE_URL = "http+docker://ssh"
"""The SDK's own base URL for ssh engines: its stream readers then read frames from the
connection object we give them (`.channel`), not from the raw pipe under its buffer."""

SSH_TIMEOUT = 10.0
"""Seconds an ssh login (and the first request over it) may take."""

STDERR_KEEP = 4096
"""Bytes of an ssh process's stderr read back for a message (the end of it)."""


def ssh_argv(host_url: str, remote: str, *, connect_timeout: float = 10) -> list[str]:
    """`ssh` with the URL's user and port, no tty, no prompts, then `-- host remote`."""
    u = urlparse(host_url)
    argv = ["ssh", "-T", "-x", "-o", "BatchMode=yes",
            "-o", f"ConnectTimeout={max(1, int(round(connect_timeout)))}"]
    if u.username:
        argv += ["-l", unquote(u.username)]
    if u.port:
        argv += ["-p", str(u.port)]
    return argv + ["--", u.hostname or "", remote]


def probe(ep: "Endpoint", timeout: float = 10.0) -> str:
    """Log in and ask the far end's docker for its API version; returns it. Raises a classified
    EngineUnavailable (ssh's own words, sanitized and cut, in the message)."""
    from toolbox_tui.engine.client import EngineUnavailable

    argv = ssh_argv(ep.host, "docker version --format '{{.Server.APIVersion}}'",
                    connect_timeout=timeout)
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout + 15,
                              start_new_session=True)
    except FileNotFoundError:
        raise EngineUnavailable("bad_host", f"{ep.display_host} needs an ssh client, and `ssh` is "
                                "not on PATH", "install OpenSSH's client (Debian: openssh-client)",
                                host=ep.display_host, source=ep.source) from None
    except subprocess.TimeoutExpired:
        raise EngineUnavailable("timeout", f"{ep.display_host} did not answer within "
                                f"{timeout + 15:.0f} s over ssh",
                                "check the host and the network: `ssh HOST docker version`",
                                host=ep.display_host, source=ep.source) from None
    version = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode == 0 and version:
        return version
    raise classify_failure(ep, proc.returncode, proc.stderr[-STDERR_KEEP:].decode("utf-8", "replace"))


_SSH_FAILURES = (  # (what ssh or the far end said, reason, what is wrong, what to do)
    ("could not resolve hostname", "bad_host", "the host name does not resolve",
     "check the host in DOCKER_HOST or the context (and ~/.ssh/config)"),
    ("connection refused", "bad_host", "nothing accepts ssh connections there",
     "check the host and port, and that sshd runs there"),
    ("timed out", "timeout", "the ssh connection timed out", "check the host and the network"),
    ("no route to host", "timeout", "there is no route to the host", "check the host and the network"),
    ("host key verification failed", "bad_host", "its host key is not known here or has changed",
     "connect once with `ssh HOST` to check and accept the host key (BatchMode never asks)"),
    ("permission denied", "permission_denied", "ssh refused the login",
     "use a key (ssh-copy-id USER@HOST, or load it into ssh-agent): toolbox-tui never asks for "
     "passwords, so it can run under a full-screen UI"),
    ("cannot connect to the docker daemon", "daemon_down", "the engine on that host does not run",
     "start it there: sudo systemctl start docker"),
    ("permission denied while trying to connect", "permission_denied",
     "that user may not use the engine there",
     "add the user to the docker group on that host, or use another user in DOCKER_HOST"),
)


def classify_failure(ep: "Endpoint", code: int, stderr: str) -> Exception:
    """The EngineUnavailable for an ssh probe that ended with `code` and said `stderr`."""
    from toolbox_tui.engine.client import EngineUnavailable

    said = " ".join(plain_text(stderr).split())
    low = said.lower()
    last = said[-200:] if said else f"exit code {code}"
    if code == 127 or "command not found" in low or "not found" in low and "docker" in low:
        return EngineUnavailable("other", f"{ep.display_host}: the host has no docker CLI, which "
                                 f"ssh engines need (`docker system dial-stdio`): {last}",
                                 "install the docker CLI there, or use a tcp:// endpoint",
                                 host=ep.display_host, source=ep.source)
    match = None
    for needle, reason, what, hint in _SSH_FAILURES:  # the later, more precise ones win
        if needle in low:
            match = (reason, what, hint)
    reason, what, hint = match or ("other", "ssh could not reach the engine",
                                   "try `ssh HOST docker version` to see why")
    out = EngineUnavailable(reason, f"{ep.display_host}: {what} ({last})", hint,
                            host=ep.display_host, source=ep.source)
    if ep.source == "context":
        out.reason, out.context = "bad_context", ep.context
        out.hint = f"docker context {ep.context!r} points at {ep.display_host}: {hint}"
    return out


# --- the connection ---------------------------------------------------------------------------

class _PipeReader(io.RawIOBase):
    """The ssh process's stdout as a raw stream whose reads wait at most the owner's timeout."""

    def __init__(self, fd: int, owner: "SshSocket") -> None:
        super().__init__()
        self._fd = fd
        self._owner = owner
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN | select.POLLPRI)

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def readinto(self, buffer: Any) -> int:
        timeout = self._owner.timeout
        if timeout is not None and not self._poller.poll(max(0.0, timeout) * 1000):
            raise socket.timeout("timed out")
        data = os.read(self._fd, len(buffer))
        buffer[:len(data)] = data
        return len(data)


class SshSocket:
    """What urllib3 and the SDK use as a socket, over one `ssh … docker system dial-stdio`."""

    def __init__(self, host_url: str, timeout: float | None) -> None:
        self.timeout = timeout
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(ssh_argv(host_url, "docker system dial-stdio"),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, bufsize=0, start_new_session=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin.fileno()
        self._out = self.proc.stdout.fileno()
        self._reader = self.makefile()

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def gettimeout(self) -> float | None:
        return self.timeout

    def setsockopt(self, *_args: Any) -> None:
        """Nothing to set on a pipe (urllib3 sets TCP options on new connections)."""

    def fileno(self) -> int:
        return self._out

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._in, view)
            except BrokenPipeError:
                raise ConnectionResetError(f"ssh ended: {self.stderr_tail()}") from None
            view = view[n:]

    def send(self, data: bytes) -> int:
        self.sendall(data)
        return len(data)

    def recv(self, n: int) -> bytes:
        return self._reader.read1(n)

    def makefile(self, *_args: Any, **_kw: Any) -> io.BufferedReader:
        """A new reader per response, as a socket's makefile gives (http.client closes it when
        the response is read; the connection goes on). `recv` reads from the latest, which may
        hold the start of a stream's body."""
        reader = io.BufferedReader(_PipeReader(self._out, self))
        reader.channel = self  # type: ignore[attr-defined] - the SDK's stream readers use it
        self._reader = reader
        return reader

    def shutdown(self, _how: int) -> None:
        """End what we send (ssh then ends the remote dial-stdio); through the file object that
        owns the descriptor, so it is closed once."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass

    def stderr_tail(self) -> str:
        """The end of what ssh said, sanitized (for messages)."""
        try:
            size = self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, size - STDERR_KEEP))
            return " ".join(plain_text(self._stderr.read().decode("utf-8", "replace")).split())
        except (OSError, ValueError):
            return ""

    def close(self) -> None:
        self.shutdown(socket.SHUT_WR)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self._stderr):
            try:
                f.close()
            except (OSError, AttributeError):
                pass


def adapter(host_url: str, timeout: float | None, maxsize: int = 10) -> Any:
    """A requests adapter for `BASE_URL` whose connections are `SshSocket`s, kept in one pool."""
    import urllib3.connection
    import urllib3.connectionpool
    from docker.transport.basehttpadapter import BaseHTTPAdapter

    class Connection(urllib3.connection.HTTPConnection):
        def connect(self) -> None:
            self.sock = SshSocket(host_url, self.timeout if isinstance(self.timeout, (int, float))
                                  else timeout)

    class Pool(urllib3.connectionpool.HTTPConnectionPool):
        ConnectionCls = Connection

    class Adapter(BaseHTTPAdapter):
        def __init__(self) -> None:
            super().__init__()
            self.pool = Pool("localhost", timeout=timeout, maxsize=maxsize)

        def get_connection(self, url: Any, proxies: Any = None) -> Any:
            return self.pool

        def get_connection_with_tls_context(self, request: Any, verify: Any, proxies: Any = None,
                                            cert: Any = None) -> Any:
            return self.pool

        def close(self) -> None:
            super().close()
            self.pool.close()

    return Adapter()


def client(ep: "Endpoint", *, probe_timeout: float) -> Any:
    """A DockerClient for an ssh endpoint: probed, then speaking through `adapter`."""
    import docker

    # a remote login takes longer than a local socket: at least SSH_TIMEOUT for the probe and
    # the first requests (each new connection is an ssh handshake)
    timeout = max(probe_timeout, SSH_TIMEOUT)
    version = probe(ep, timeout)
    c = docker.DockerClient(base_url="unix:///var/run/docker.sock", version=version,
                            timeout=timeout)
    api = c.api
    ssh_adapter = adapter(ep.host, timeout)
    api.mount(BASE_URL, ssh_adapter)
    api.base_url = BASE_URL
    api._custom_adapter = ssh_adapter  # what the SDK closes and inspects for its own adapters
    return c
