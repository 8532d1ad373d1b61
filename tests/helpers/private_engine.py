"""A second, private Docker engine for the tests that stop dockerd or init/leave swarm.

Those tests used to stop the one local dockerd and turn it into a swarm manager, so they ran alone
after everything else (65-73 s of a run in which nothing else could use the machine). Each now gets
this engine instead: its own `dockerd` with its own data-root, exec-root, socket and containerd,
in its own network namespace (its own `docker0`, iptables and 127.0.0.1, so its bridge, swarm ports
and published ports never meet the shared engine's). The tests point at it the way a user points
the tools at another engine: `DOCKER_HOST=unix://…/docker.sock`. Stopping it, killing it, making it
a swarm manager touches nothing the other tests use, so they run beside the rest.

Needs root, `ip` (iproute2) and `nsenter` (util-linux), as the CI machine has; without them the
fixture fails with what is missing (never a silent skip).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
from pathlib import Path

from tests.helpers.waiting import wait_until

ADDRESS_POOL = "10.213.0.0/16"
"""Its networks' subnets, apart from the shared engine's defaults (only inside its namespace
anyway; kept apart so a reader of `ip addr` in there is not misled)."""


def engine_env() -> dict[str, str]:
    """The environment a dockerd is started with: ours without the test run's private per-worker
    dirs and session bus. A dockerd started with a test's XDG_RUNTIME_DIR keeps runc's exec state
    there: once pytest deletes that directory every `docker exec` and exec healthcheck fails
    ("OCI runtime exec failed: open …/runc-process…: no such file")."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("XDG_", "DBUS_", "TBX_", "PYTEST_"))
            and k not in ("TMPDIR", "DOCKER_HOST", "DOCKER_CONTEXT")}


class PrivateEngine:
    """One private dockerd in its own network namespace. `start`, `stop` (SIGTERM, as an
    operator's restart does), `ensure` (for a `finally`), `client()`, `close` (all removed)."""

    def __init__(self, image: str, tag: str | None = None) -> None:
        tag = tag or secrets.token_hex(3)
        # short: unix socket paths are limited to 107 bytes (containerd's live under exec-root)
        self.base = Path(f"/tmp/tbx-eng-{tag}")
        self.netns = f"tbx-eng-{tag}"
        self.image = image
        self.host = f"unix://{self.base}/docker.sock"
        self.log = self.base / "dockerd.log"
        self._client = None

    # --- life cycle -------------------------------------------------------------------------

    def create(self, source_client) -> None:  # noqa: ANN001 - a docker.DockerClient
        """Namespace, dirs, daemon, and the test image copied from the shared engine."""
        missing = [t for t in ("ip", "nsenter", "dockerd") if not shutil.which(t)]
        missing += [] if os.geteuid() == 0 else ["root"]
        if missing:
            raise RuntimeError(f"a private engine needs root, ip, nsenter and dockerd; missing: "
                               f"{', '.join(missing)} (run the tests as CI does: as root, provisioned)")
        sweep_stale()
        self.base.mkdir(mode=0o700)
        (self.base / OWNER).write_text(_owner(os.getpid()))
        subprocess.run(["ip", "netns", "add", self.netns], check=True, capture_output=True)
        subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True,
                       capture_output=True)
        self.start()
        # the image: `docker save` from the shared engine into this one (no registry here)
        raw = b"".join(source_client.images.get(self.image).save(named=True))
        self.client().images.load(raw)

    def start(self) -> None:
        """As `.ci/provision.sh` starts the shared one (own session, log to a file, a clean
        environment), in the namespace; returns once `docker info` answers."""
        args = ["nsenter", f"--net=/run/netns/{self.netns}", "dockerd",
                "--data-root", str(self.base / "data"), "--exec-root", str(self.base / "exec"),
                "--pidfile", str(self.base / "dockerd.pid"), "-H", self.host,
                "--default-address-pool", f"base={ADDRESS_POOL},size=24", "--log-level", "warn"]
        with open(self.log, "ab") as log:
            subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/",
                             env=engine_env(), start_new_session=True)
        if not wait_until(self.answers, 40, 0.3):
            raise RuntimeError(f"the private dockerd did not answer within 40 s; see {self.log}:\n"
                               + self.log.read_text(errors="replace")[-2000:])

    def _running_pid(self) -> int:
        """The pid in dockerd's pid file if that process runs, else 0."""
        try:
            pid = int((self.base / "dockerd.pid").read_text().strip())
        except (OSError, ValueError):
            return 0
        return pid if _alive(pid) else 0

    def pid(self) -> int:
        """The running daemon's pid (AssertionError if it does not run)."""
        pid = self._running_pid()
        assert pid, f"the private dockerd does not run (pid file {self.base / 'dockerd.pid'})"
        return pid

    def answers(self) -> bool:
        try:
            return subprocess.run(["docker", "-H", self.host, "info"], capture_output=True,
                                  timeout=20, env=_cli_env()).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM, and wait until it has exited and no longer answers."""
        pid = self.pid()
        os.kill(pid, signal.SIGTERM)
        assert wait_until(lambda: not _alive(pid), timeout, 0.3), "the private dockerd did not exit"
        assert not self.answers(), "the private engine still answers after its dockerd exited"

    def ensure(self) -> None:
        """For a `finally`: running and answering again (started if it is gone)."""
        if self.answers():
            return
        if self._running_pid() and wait_until(self.answers, 30, 0.3):
            return
        self.start()

    def client(self):  # noqa: ANN201 - a docker.DockerClient
        import docker

        if self._client is None:
            self._client = docker.DockerClient(base_url=self.host, timeout=30)
        return self._client

    def close(self) -> None:
        """Leave swarm, stop the daemon (its containers stop with it), remove everything."""
        if self._client is not None:
            self._client.close()
        if self.answers():
            subprocess.run(["docker", "-H", self.host, "swarm", "leave", "--force"],
                           capture_output=True, timeout=60, env=_cli_env())
        pid = self._running_pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
            if not wait_until(lambda: not _alive(pid), 30, 0.3):
                os.kill(pid, signal.SIGKILL)
        # containerd and its shims (started by that dockerd) exit with it; anything left in the
        # namespace is killed before it is deleted
        out = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True)
        for p in out.stdout.split():
            try:
                os.kill(int(p), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        for line in Path("/proc/mounts").read_text().splitlines()[::-1]:
            target = line.split()[1]
            if target.startswith(str(self.base) + "/"):
                subprocess.run(["umount", "-l", target], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


OWNER = "owner"
"""File in the engine's folder: the pid and start time of the test process that made it."""


def _owner(pid: int) -> str:
    """`pid starttime` of a process ('' when it is gone): a reused pid is told apart."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f"{pid} {f.read().split(') ', 1)[1].split()[19]}"
    except (OSError, IndexError):
        return ""


def sweep_stale() -> list[str]:
    """Remove the private engines whose test process is gone (a run that was killed, which left
    its dockerd, containerd and namespace running: one used 12 % of a core for an hour under the
    next runs). An engine of another run that still goes on is left alone. Returns the folders
    removed."""
    import time

    removed = []
    for base in Path("/tmp").glob("tbx-eng-*"):
        try:
            owner = (base / OWNER).read_text().strip()
        except FileNotFoundError:  # being made just now, or from before owner files: by age
            try:
                if time.time() - base.stat().st_mtime < 120:
                    continue
            except OSError:
                continue
            owner = ""
        except OSError:
            continue
        if owner and _owner(int(owner.split()[0])) == owner:
            continue
        PrivateEngine("", tag=base.name[len("tbx-eng-"):]).close()
        removed.append(str(base))
    return removed


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _cli_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
