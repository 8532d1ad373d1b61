"""Shared fixtures: a real Docker engine, Compose v2, the local test image, the example stack,
a real Secret Service, and clean-up of every Compose project a test creates.

Rule for anything that needs the machine (engine, Compose, image, Secret Service): when it is
missing, the test *fails* under CI (`CI=true`) with a message saying how to provide it, and is
skipped elsewhere. Nothing here imports textual (the engine tests must run without it).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The checkout under test."""

EXAMPLE_DIR = REPO_ROOT / "examples" / "toolboxai"
"""The bundled example stack (never modified by tests: use `example_copy`)."""

DEFAULT_TEST_IMAGE = "toolbox-tui/busybox:test"
"""Local busybox image built by `.ci/provision.sh` (no registry on these machines)."""

PROVISION_HINT = ("run `bash .ci/provision.sh` (installs docker.io, starts dockerd in the background "
                  "with `setsid dockerd >/tmp/dockerd.log 2>&1 &`, installs Compose v2 and builds the "
                  "local test image), or run the whole suite with `bash scripts/test.sh`")


def in_ci() -> bool:
    """True when running under CI, where missing machinery is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() == "true"


def unavailable(message: str) -> None:
    """Fail under CI, skip elsewhere. Never returns."""
    if in_ci():
        pytest.fail(f"{message} (CI=true, so this is a failure, not a skip). {PROVISION_HINT}",
                    pytrace=False)
    pytest.skip(f"{message}; {PROVISION_HINT}")


# --- Docker engine and Compose ---------------------------------------------------------------

@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A `docker.DockerClient` talking to a live engine (`docker.from_env()`)."""
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - docker is a runtime dependency
        unavailable(f"the docker SDK is not installed ({exc})")
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:  # DockerException, requests errors, PermissionError...
        unavailable(f"no Docker engine answers ({type(exc).__name__}: {exc})")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def compose_ready() -> str:
    """Asserts `docker compose version` works; returns its short version (e.g. `2.40.3`)."""
    docker = shutil.which("docker")
    if not docker:
        unavailable("the docker CLI is not on PATH")
    try:
        proc = subprocess.run([docker, "compose", "version", "--short"], capture_output=True,
                              text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        unavailable(f"`docker compose version` could not run ({exc})")
    if proc.returncode != 0:
        unavailable("`docker compose version` failed (Compose v2 plugin missing?): "
                    + (proc.stderr.strip() or proc.stdout.strip()))
    return proc.stdout.strip().lstrip("v")


@pytest.fixture(scope="session")
def test_image(docker_client) -> Iterator[str]:
    """Name of the local busybox test image (env TBX_TEST_IMAGE, default toolbox-tui/busybox:test).

    Asserts it exists locally and sets `TBX_IMAGE` to it for the session, so the example stack's
    `${TBX_IMAGE:-busybox:1.36}` resolves to an image that needs no registry.
    """
    import docker

    name = os.environ.get("TBX_TEST_IMAGE") or DEFAULT_TEST_IMAGE
    try:
        docker_client.images.get(name)
    except docker.errors.ImageNotFound:
        unavailable(f"the local test image {name} does not exist (no registry here: it is built, "
                    f"not pulled)")
    previous = os.environ.get("TBX_IMAGE")
    os.environ["TBX_IMAGE"] = name
    try:
        yield name
    finally:
        if previous is None:
            os.environ.pop("TBX_IMAGE", None)
        else:
            os.environ["TBX_IMAGE"] = previous


@pytest.fixture
def project_name() -> str:
    """A unique Compose project name, `tbxtest-<8 hex>`. Pair it with `cleanup_project`."""
    return f"tbxtest-{secrets.token_hex(4)}"


def down_project(name: str, files: Sequence[os.PathLike | str] = (),
                 project_dir: os.PathLike | str | None = None,
                 env: dict[str, str] | None = None) -> None:
    """Remove everything Compose project `name` left on the engine; never raises.

    Runs `docker compose -p NAME down -v --remove-orphans` (with the given files when known, else
    from an empty directory so no stray compose file is picked up), then force-removes leftover
    containers, networks and volumes labelled with the project.
    """
    if not name.startswith("tbxtest-"):
        raise ValueError(f"refusing to clean up {name!r}: test projects are named tbxtest-*")
    docker = shutil.which("docker")
    if not docker:
        return
    run_env = dict(os.environ if env is None else env)
    run_env.setdefault("TBX_IMAGE", os.environ.get("TBX_IMAGE", DEFAULT_TEST_IMAGE))

    def quiet(args: list[str], cwd: str | None = None) -> str:
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=cwd,
                                  env=run_env, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return proc.stdout

    with tempfile.TemporaryDirectory(prefix="tbxtest-down-") as empty:
        args = [docker, "compose", "-p", name]
        if files:
            if project_dir is not None:
                args += ["--project-directory", str(project_dir)]
            for f in files:
                args += ["-f", str(f)]
        quiet(args + ["down", "-v", "--remove-orphans", "--timeout", "2"], cwd=empty)
    label = f"label=com.docker.compose.project={name}"
    for kind, rm in (("container", ["rm", "-f", "-v"]), ("network", ["rm"]),
                     ("volume", ["rm", "-f"])):
        ids = quiet([docker, kind, "ls", "-q", "--filter", label]
                    + (["-a"] if kind == "container" else [])).split()
        if ids:
            quiet([docker, kind, *rm, *ids])


@pytest.fixture
def cleanup_project() -> Iterator[Callable[..., str]]:
    """Register Compose projects to tear down after the test, even when it fails.

    Usage: `cleanup_project(project_name)` or
    `cleanup_project(project_name, files=[...], project_dir=..., env=...)`; returns the name.
    At teardown each one gets `down -v --remove-orphans` plus removal of labelled leftovers.
    """
    registered: list[tuple[str, tuple, object, object]] = []

    def register(name: str, files: Sequence[os.PathLike | str] = (),
                 project_dir: os.PathLike | str | None = None,
                 env: dict[str, str] | None = None) -> str:
        if not name.startswith("tbxtest-"):
            raise ValueError(f"test projects must be named tbxtest-*, got {name!r}")
        registered.append((name, tuple(files), project_dir, env))
        return name

    yield register
    for name, files, project_dir, env in reversed(registered):
        down_project(name, files, project_dir, env)  # type: ignore[arg-type]


# --- Example stack ---------------------------------------------------------------------------

@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    """A private copy of `examples/toolboxai` (dotfiles included) in tmp_path; returns its root."""
    if not EXAMPLE_DIR.is_dir():
        pytest.fail(f"the bundled example is missing: {EXAMPLE_DIR}")
    dest = tmp_path / "toolboxai"
    shutil.copytree(EXAMPLE_DIR, dest, symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


# --- Secret Service --------------------------------------------------------------------------

@pytest.fixture
def keyring_backend():
    """The active keyring backend, asserted to be the Secret Service one (real gnome-keyring).

    Run inside `dbus-run-session` with an unlocked gnome-keyring (scripts/test.sh does this).
    """
    try:
        import keyring
        from keyring.backends import SecretService
    except ImportError as exc:
        unavailable(f"keyring's SecretService backend cannot be imported ({exc})")
    backend = keyring.get_keyring()
    if not isinstance(backend, SecretService.Keyring):
        message = (f"keyring backend is {type(backend).__module__}.{type(backend).__qualname__}, "
                   f"not SecretService.Keyring: run inside `dbus-run-session -- sh -c 'echo -n pw | "
                   f"gnome-keyring-daemon --unlock --components=secrets >/dev/null; ...'` "
                   f"(bash scripts/test.sh does)")
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return backend


def wait_ports_free(stack, timeout: float = 300) -> None:
    """The example publishes fixed ports; another test run on this engine may hold them for a
    while. Wait (bounded) instead of failing on someone else's stack."""
    deadline = time.monotonic() + timeout
    ports = [p.published for p in stack.published_ports()]
    while True:
        busy = []
        for port in ports:
            with socket.socket() as s:
                s.settimeout(0.2)
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    busy.append(port)
        if not busy:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"ports {busy} stayed in use for {timeout:.0f} s (another stack is up)")
        time.sleep(2)
