"""Which keyring backend, and calling it with a bound: the backend `keyring` would pick (out of a
chain, its first secure member alone), whether it is secure enough to use without asking, how its
failures are classified (`locked`, `unavailable`, `failed`) and the next step for each, and one
call run in a daemon thread so that a hung Secret Service cannot hang the command.
"""

from __future__ import annotations

from dataclasses import dataclass

INSECURE_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")
INSECURE_NAMES = ("plaintext", "fail", "null", "chainer")
FILE_MODULES = ("keyrings.cryptfile",)
"""keyring discovers these backends by itself once installed; they are used only through
`--store file` (`file_store`), never as keyring's default."""


UNLOCK_HINT = ("unlock it: log in to your desktop session (or answer its unlock prompt); on a headless "
               "box restart the daemon unlocked with `gnome-keyring-daemon --replace --unlock "
               "--components=secrets` and type the keyring password on its stdin; then run the command "
               "again. Or choose `--store session` (values in memory for this run only).")
"""What to do about a locked keyring (CLI and wizard)."""
UNAVAILABLE_HINT = ("start the keyring daemon again (log in again, or `gnome-keyring-daemon --start "
                    "--components=secrets` in this D-Bus session), or choose `--store session`.")
TIMEOUT_ENV = "TOOLBOX_TUI_KEYRING_TIMEOUT"
"""Seconds one keyring call may take before it is given up (default `DEFAULT_TIMEOUT`)."""
DEFAULT_TIMEOUT = 120.0
"""Long enough to answer a desktop unlock prompt; bounds a daemon that never answers."""


def keyring_timeout() -> float:
    """Seconds a keyring call may take: `$TOOLBOX_TUI_KEYRING_TIMEOUT`, else `DEFAULT_TIMEOUT`."""
    import os

    try:
        value = float(os.environ.get(TIMEOUT_ENV, "") or DEFAULT_TIMEOUT)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def classify(exc: BaseException) -> str:
    """`locked`, `unavailable` or `failed`, from the exception keyring/secretstorage/jeepney raised."""
    names = {c.__name__ for c in type(exc).__mro__}
    if names & {"KeyringLocked", "LockedException", "PromptDismissedException"}:
        return "locked"
    if names & {"SecretServiceNotAvailableException", "InitError"}:
        return "unavailable"  # keyring raises InitError when the service went away mid-call
    if "DBusErrorResponse" in names and says_gone(exc):
        return "unavailable"
    if isinstance(exc, (ConnectionError, EOFError)):
        return "unavailable"
    return "failed"


def says_gone(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(w in text for w in ("notavailable", "not available", "serviceunknown", "noreply",
                                   "disconnected", "connection", "no such", "unknown"))


def run_bounded(fn, args: tuple, timeout: float):  # noqa: ANN001, ANN202
    """`fn(*args)` in a daemon thread, waiting at most `timeout` seconds.

    A Secret Service call can block forever (a hung daemon, an unlock prompt nobody answers);
    the abandoned thread is a daemon thread, so it never keeps the process alive.
    """
    import threading

    box: dict[str, object] = {}
    finished = threading.Event()

    def body() -> None:
        try:
            box["result"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc
        finally:
            finished.set()

    worker = threading.Thread(target=body, name="keyring-call", daemon=True)
    worker.start()
    try:
        worker.join(timeout)
    except KeyboardInterrupt:
        # Ctrl-C (or SIGTERM/SIGHUP, which the CLI turns into it) while the call is in flight:
        # let it land (bounded) before unwinding, so that a rollback which follows (rotate) is
        # not overtaken by the interrupted write. (Not join() again: an interrupted join marks
        # the thread stopped while it still runs, CPython bpo-45274.)
        finished.wait(timeout)
        raise
    if worker.is_alive():
        raise TimeoutError
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("result")


@dataclass(frozen=True)
class BackendInfo:
    name: str
    """`module.Class` of the backend keyring chose."""
    secure: bool
    reason: str = ""


def backend_name(backend: object) -> str:
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def is_insecure(backend: object) -> tuple[bool, str]:
    name = backend_name(backend)
    if any(name.startswith(m) for m in INSECURE_MODULES[:2]):
        return True, "no backend found"
    if name.startswith(FILE_MODULES):
        # installed with toolbox-tui for `--store file`; as keyring's own pick it would ask with
        # getpass() (under a running wizard) or keep plain text: never an implicit default
        return True, "only file backends, which toolbox-tui never picks on its own"
    if name.startswith("keyrings.alt") and "Encrypted" not in name:
        return True, "plaintext backend"
    lowered = type(backend).__qualname__.lower()
    if "plaintext" in lowered:
        return True, "plaintext backend"
    if "chainer" in lowered:
        backends = getattr(backend, "backends", [])
        secure = [b for b in backends if not is_insecure(b)[0]]
        if not secure:
            return True, "no backend found"
    return False, ""


def default_backend() -> object:
    """The backend `keyring` would use — out of a chain, its first secure member alone.

    keyring chains every backend it finds; a chain's read asks each member in turn, so a value
    missing from the Secret Service would reach a file backend that prompts with getpass(). The
    store talks to the one backend it reports, never to the chain.
    """
    import keyring

    current = keyring.get_keyring()
    if "chainer" in type(current).__qualname__.lower():
        for member in getattr(current, "backends", []):
            if not is_insecure(member)[0]:
                return member
    return current


def detect_backend() -> BackendInfo:
    """The backend `keyring` would use, and whether it is secure enough to use without asking."""
    backend = default_backend()
    insecure, reason = is_insecure(backend)
    return BackendInfo(backend_name(backend), not insecure, reason)
