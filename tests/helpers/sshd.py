"""A real OpenSSH server on 127.0.0.1 for the tests of `DOCKER_HOST=ssh://…`.

Everything is throwaway and private to the test: a host key, a client key, `authorized_keys`,
an `sshd_config` with `ListenAddress 127.0.0.1` on a free port, and a client config naming them
all. The user's own `~/.ssh` is never read or written: OpenSSH takes `~` from the password
database, not from $HOME, so the client config is given with `-F` by an `ssh` wrapper first on
PATH, which is how both the docker CLI and the docker SDK find the ssh client. The far end runs
`docker system dial-stdio` against this machine's engine, as a remote engine host would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.helpers.machine import free_port
from tests.helpers.waiting import wait_until

SSHD = "/usr/sbin/sshd"
ALIAS = "tbx-engine-host"
"""The host name the tests use in `ssh://root@ALIAS`; the client config maps it to 127.0.0.1."""


class Sshd:
    """`start()`, then `env()` for commands that should reach the engine over ssh; `stop()`."""

    def __init__(self, base: Path, *, noisy: bool = False) -> None:
        self.base = base
        self.noisy = noisy
        """The client keeps no host keys and logs at INFO, so every ssh it starts prints
        "Warning: Permanently added … to the list of known hosts." on its stderr, as a first
        connection does."""
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        missing = [t for t in (SSHD, shutil.which("ssh"), shutil.which("ssh-keygen")) if not t or
                   not os.path.exists(t)]
        if missing or os.geteuid() != 0:
            raise RuntimeError("a test sshd needs root, openssh-server and openssh-client (run the "
                               "tests as CI does: as root, after .ci/provision.sh)")
        b = self.base
        b.mkdir(mode=0o700, parents=True, exist_ok=True)
        for key in ("host_key", "client_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(b / key)],
                           check=True, capture_output=True)
        shutil.copy(b / "client_key.pub", b / "authorized_keys")
        host_pub = (b / "host_key.pub").read_text().split()
        self.port = free_port()
        (b / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        (b / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {b / 'host_key'}\n"
            f"AuthorizedKeysFile {b / 'authorized_keys'}\nPidFile {b / 'sshd.pid'}\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            "AllowTcpForwarding no\nX11Forwarding no\nPrintMotd no\nLogLevel ERROR\n")
        known = ("  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking accept-new\n  LogLevel INFO\n"
                 if self.noisy else
                 f"  UserKnownHostsFile {b / 'known_hosts'}\n  StrictHostKeyChecking yes\n"
                 "  LogLevel ERROR\n")
        (b / "ssh_config").write_text(
            f"Host {ALIAS}\n  HostName 127.0.0.1\n  Port {self.port}\n  User root\n"
            f"  IdentityFile {b / 'client_key'}\n  IdentitiesOnly yes\n  BatchMode yes\n" + known)
        bindir = b / "bin"
        bindir.mkdir(exist_ok=True)
        wrapper = bindir / "ssh"
        wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} -F {b / "ssh_config"} "$@"\n')
        wrapper.chmod(0o755)
        # /run/sshd is the privilege-separation directory sshd insists on
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        log = open(b / "sshd.log", "ab")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(b / "sshd_config")],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()
        if not wait_until(self._answers, 20, 0.1):
            self.stop()
            raise RuntimeError("the test sshd did not accept a login within 20 s:\n"
                               + (b / "sshd.log").read_text(errors="replace")[-2000:])

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            return False
        return subprocess.run([str(self.base / "bin" / "ssh"), ALIAS, "true"], capture_output=True,
                              timeout=20, stdin=subprocess.DEVNULL).returncode == 0

    @property
    def host(self) -> str:
        return f"ssh://root@{ALIAS}"

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """An environment whose engine is this sshd's far end: DOCKER_HOST=ssh://… and the ssh
        wrapper first on PATH."""
        env = dict(os.environ if base is None else base)
        env.pop("DOCKER_CONTEXT", None)
        env["DOCKER_HOST"] = self.host
        env["PATH"] = f"{self.base / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
