"""What a diagnosis reads off a container: its last log lines and health checks, what its health
check tests (port, URL), bind mounts that look wrong (a directory where a file was meant), the
path checks that concern it, and a late OOM flag. Every read is bounded (a container whose
health-check exec hangs holds the engine's lock on it) and every text sanitized.
"""

from __future__ import annotations

import os
import re
import time
from typing import TYPE_CHECKING, Any, Mapping

from toolbox_tui.sanitize import sanitize_line

if TYPE_CHECKING:
    from toolbox_tui.compose.model import ComposeProject

LOG_TAIL = 20
"""Log lines kept per service."""


def log_tail(container: Any, n: int = LOG_TAIL) -> tuple[str, ...]:
    """The container's last `n` log lines, sanitized; () when it has none or the engine does not
    answer within `containers.INSPECT_WAIT` (it holds the logs of a container whose
    health-check exec hangs, like its inspect)."""
    from toolbox_tui.engine.containers import call_bounded

    try:
        answered, raw = call_bounded(lambda: container.logs(tail=n, stdout=True, stderr=True,
                                                            timestamps=False))
    except Exception:  # noqa: BLE001 - a container being removed has no logs
        return ()
    if not answered:
        return ()
    text = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw)
    lines = [sanitize_line(ln, keep_sgr=False, max_len=400) for ln in text.splitlines()]
    return tuple(ln for ln in lines if ln.strip())[-n:]


def health_test(attrs: Mapping[str, Any]) -> str:
    test = ((attrs.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
    if isinstance(test, str):
        return test
    if test and test[0] in ("CMD", "CMD-SHELL"):
        test = test[1:]
    return " ".join(str(t) for t in test)


def check_port(test: str) -> int | None:
    m = re.search(r"https?://[^/\s:'\"]+:(\d+)", test)
    if m:
        return int(m.group(1))
    if re.search(r"https?://", test):
        return 443 if "https://" in test else 80
    m = re.search(r"\bnc\b[^;&|]*?\s(\d{2,5})\b", test)
    return int(m.group(1)) if m else None


def check_url(test: str) -> str | None:
    m = re.search(r"https?://[^\s'\"]+", test)
    return m.group(0) if m else None


def suspicious_mounts(attrs: Mapping[str, Any], test: str = "") -> list[tuple[str, str]]:
    """(host source, container destination) of bind mounts that should be files but are empty dirs.

    The engine creates a missing bind source as an empty directory, so a missing `redis.conf`
    shows up as a directory. Flagged when the destination looks like a file (has an extension, or
    the health check runs `test -f` on it) and the host source is an empty directory.
    """
    tested = set(re.findall(r"test\s+-[fesr]\s+([^\s;&|]+)", test))
    out = []
    for m in attrs.get("Mounts") or ():
        if m.get("Type") != "bind":
            continue
        src, dst = str(m.get("Source") or ""), str(m.get("Destination") or "")
        base = os.path.basename(dst.rstrip("/"))
        looks_file = dst in tested or bool(re.search(r"\.[A-Za-z0-9]{1,6}$", base))
        if not looks_file:
            continue
        try:
            if os.path.isdir(src) and not os.listdir(src):
                out.append((src, dst))
        except OSError:
            continue
    return out


def path_check_evidence(stack: ComposeProject, service: str) -> list[str]:
    from toolbox_tui.checks.paths import path_checks

    try:
        checks = path_checks(stack)
    except Exception:  # noqa: BLE001 - a cross-check, never a failure
        return []
    out = []
    for c in checks:
        if c.status == "fail" and c.service == service:
            where = f"{c.where}: " if getattr(c, "where", "") else ""
            out.append(f"{where}{c.title}")
    return out


def reload_bounded(container: Any) -> bool:
    """`container.reload()` bounded by `containers.INSPECT_WAIT` (a container whose health-check
    exec hangs cannot be inspected): False, attributes unchanged, when it did not answer or is
    gone. Engine errors are raised."""
    from toolbox_tui.engine.containers import inspect_bounded

    got = inspect_bounded(container.client, [container.id]).get(container.id)
    if not got:
        return False
    container.attrs = dict(got)
    return True


def late_oom_flag(container: Any, wait: float = 3.0) -> bool:
    """Re-inspect a container killed by SIGKILL under a memory limit: the engine can record the
    exit before the OOM event that caused it (seen on 20.10, cgroup v1), so OOMKilled turns true
    a moment later."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            if not reload_bounded(container):
                return False
        except Exception:  # noqa: BLE001 - gone or engine unreachable: keep what we know
            return False
        if (container.attrs.get("State") or {}).get("OOMKilled"):
            return True
    return False
