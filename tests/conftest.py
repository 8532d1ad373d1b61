"""Shared fixtures: a real Docker engine, Compose v2, the local test image, the example stack,
a real Secret Service, and clean-up of every Compose project a test creates.

Rule for anything that needs the machine (engine, Compose, image, Secret Service): when it is
missing, the test *fails* under CI (`CI=true`) with a message saying how to provide it, and is
skipped elsewhere. Nothing here imports textual (the engine tests must run without it).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import threading
import warnings
from pathlib import Path
from typing import Callable, Iterator, Sequence

import pytest

from tests.helpers.machine import DEFAULT_TEST_IMAGE, EXAMPLE_DIR, down_project, in_ci, unavailable

# --- Isolation: tests run side by side (pytest-xdist workers) -----------------------------

_ROUTED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM)


@pytest.fixture(autouse=True)
def signal_state_restored() -> Iterator[None]:
    """Every test starts with the worker's own signal handlers and mask, whatever the test before
    it did in-process (a face's `hold_signals`, a command's handlers, a mask left blocked by an
    interrupt that came between `pthread_sigmask` and its `try`). A leak is restored and reported
    as a warning naming the test, so it is found, not inherited by the next test in the worker."""
    on_main = threading.current_thread() is threading.main_thread()
    if not on_main:
        yield
        return
    handlers = {sig: signal.getsignal(sig) for sig in _ROUTED_SIGNALS}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    yield
    leaked = [signal.Signals(sig).name for sig, h in handlers.items() if signal.getsignal(sig) is not h]
    now_mask = signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    if now_mask != mask:
        leaked.append("mask " + ",".join(sorted(signal.Signals(s).name for s in now_mask - mask)))
    if signal.getsignal(signal.SIGALRM) is not handlers[signal.SIGALRM]:
        signal.setitimer(signal.ITIMER_REAL, 0)  # the test's own timer (pytest-timeout's is kept)
    for sig, h in handlers.items():
        if h is not None:
            signal.signal(sig, h)
    if leaked:
        warnings.warn(f"signal state left changed (restored): {', '.join(leaked)}", stacklevel=1)


@pytest.fixture(scope="session", autouse=True)
def private_xdg_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Each worker gets its own XDG runtime, state, config and cache directories (0700), so what
    toolbox-tui keeps there (secret files, state) never meets another worker's."""
    base = tmp_path_factory.mktemp("xdg")
    saved = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME",
                                            "XDG_CACHE_HOME")}
    for key in saved:
        d = base / key.lower()
        d.mkdir(mode=0o700)
        os.environ[key] = str(d)
    try:
        yield base
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --- Docker engine and Compose ---------------------------------------------------------------

@pytest.fixture(scope="session")
def docker_client() -> Iterator["docker.DockerClient"]:
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


@pytest.fixture(scope="session")
def private_engine(docker_client, test_image) -> Iterator["PrivateEngine"]:
    """A private dockerd of this worker's own (tests/helpers/private_engine.py): for the tests that
    stop the engine or make it a swarm manager, so they run beside the others. Created once per
    worker that needs it, removed at the end. Use it through `on_private_engine`."""
    from tests.helpers.private_engine import PrivateEngine

    engine = PrivateEngine(test_image)
    try:
        engine.create(docker_client)
    except Exception as exc:  # noqa: BLE001 - said once, with what to do
        engine.close()
        pytest.fail(f"the private engine could not be started: {exc}")
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def on_private_engine(private_engine, monkeypatch) -> Iterator["PrivateEngine"]:
    """This test (and every command it starts) talks to the private engine: `DOCKER_HOST` points
    at it, as a user's would. List it first among the fixtures, so the clean-up fixtures after it
    (`cleanup_project`, ...) still run against it. The engine answers again afterwards."""
    monkeypatch.setenv("DOCKER_HOST", private_engine.host)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    private_engine.ensure()
    try:
        yield private_engine
    finally:
        private_engine.ensure()


@pytest.fixture
def project_name() -> str:
    """A unique Compose project name, `tbxtest-<8 hex>`. Pair it with `cleanup_project`."""
    return f"tbxtest-{secrets.token_hex(4)}"


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
def example_ports(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Free host ports for the example stack (its port variables set in this process's
    environment, which Compose and the CLI children read), so it can run beside other tests.
    Use it in every test that starts the example."""
    from tests.helpers.machine import EXAMPLE_PORT_VARS, free_port

    ports = {var: free_port() for var in EXAMPLE_PORT_VARS}
    for var, port in ports.items():
        monkeypatch.setenv(var, str(port))
    return ports


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




# --- Small projects shared by several folders -------------------------------------------------

@pytest.fixture
def secrets_project(tmp_path: Path, project_name: str) -> Iterator[tuple[str, Path]]:
    """(name, root) of a one-service project with three external secrets and a manifest
    (`tests.helpers.secrets.COMPOSE`); the secret files it materialized are removed afterwards."""
    from tests.helpers.secrets import make_project

    root = make_project(tmp_path / "proj", project_name)
    yield project_name, root
    from toolbox_tui.compose.project import ProjectOptions, load_stack
    from toolbox_tui.secrets.materialize import remove_materialized

    try:
        remove_materialized(load_stack(ProjectOptions(cwd=str(root))))
    except Exception:  # noqa: BLE001 - the test may have broken the project on purpose
        pass


@pytest.fixture
def keyring_project(secrets_project: tuple[str, Path], keyring_backend) -> Iterator[tuple[str, Path]]:
    """`secrets_project` with the real Secret Service; its keyring entries are removed afterwards."""
    from tests.helpers.secrets import purge_keyring

    yield secrets_project
    purge_keyring(secrets_project[0])


@pytest.fixture
def web(docker_client, test_image, project_name, cleanup_project, tmp_path) -> str:
    """A running busybox httpd with a /health file on a random loopback port; its container id."""
    from tests.helpers.web import start_web

    return start_web(docker_client, test_image, project_name, cleanup_project, tmp_path)


# --- Order: the longest tests first -------------------------------------------------------

_DURATIONS = Path(__file__).with_name("durations.json")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the files whose tests took longest in a recorded run first (tests/durations.json,
    written by scripts/update_durations.py), the others after them: the workers then end together
    instead of one running a 30 s test while the others are idle. Files stay whole and in their
    own order (module fixtures are set up once); only the order changes, every test still runs,
    and xdist's workers all compute the same order."""
    try:
        known = json.loads(_DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    longest: dict[str, float] = {}
    for nodeid, seconds in known.items():
        module = nodeid.split("::", 1)[0]
        longest[module] = max(longest.get(module, 0.0), float(seconds))
    items.sort(key=lambda item: -longest.get(item.nodeid.split("::", 1)[0], 0.0))


# --- Where the CPU goes: TBX_CPU_LOG=PREFIX -----------------------------------------------------

if os.environ.get("TBX_CPU_LOG"):
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
        """One JSON line per test in PREFIX-<pid>.jsonl: start (epoch), wall seconds, this
        process's CPU and the CPU of the children it reaped meanwhile (the installed command,
        docker, Compose). The engine's own CPU is not in it (the daemons serve every worker)."""
        import resource
        import time

        own, kids, t0 = (resource.getrusage(resource.RUSAGE_SELF),
                         resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic())
        yield
        own2, kids2 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        row = {"test": item.nodeid, "start": round(time.time() - (time.monotonic() - t0), 3),
               "wall": round(time.monotonic() - t0, 3),
               "cpu": round(own2.ru_utime + own2.ru_stime - own.ru_utime - own.ru_stime, 3),
               "children": round(kids2.ru_utime + kids2.ru_stime - kids.ru_utime - kids.ru_stime, 3)}
        with open(f"{os.environ['TBX_CPU_LOG']}-{os.getpid()}.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
