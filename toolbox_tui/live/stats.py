"""CPU and memory per service from the engine's streaming stats API (one sample a second).

One thread per running container reads `/containers/ID/stats?stream=1`; each sample becomes a
frozen `ServiceStats` with a short CPU history for the sparkline. Tracking follows the service's
current container (`track(service, id)`); `untrack` closes the stream so the thread ends now.
No Textual here.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

HISTORY = 20
"""CPU samples kept per service for the sparkline."""

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class ServiceStats:
    """The latest resource sample of one service's container."""

    service: str
    cpu_percent: float
    """Percent of one core (can exceed 100 on several cores), as `docker stats` shows it."""
    mem_bytes: int
    """Memory in use without the page cache, as `docker stats` shows it."""
    mem_limit: int
    history: tuple[float, ...] = ()
    """Recent CPU% samples, oldest first."""


def cpu_percent(sample: dict) -> float | None:
    """CPU% from one stats sample (the same formula as `docker stats`), None if not computable."""
    cpu = sample.get("cpu_stats") or {}
    pre = sample.get("precpu_stats") or {}
    try:
        cpu_delta = cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
        sys_delta = cpu["system_cpu_usage"] - pre["system_cpu_usage"]
    except (KeyError, TypeError):
        return None
    if sys_delta <= 0 or cpu_delta < 0:
        return 0.0 if sys_delta > 0 else None
    ncpu = cpu.get("online_cpus") or len(cpu["cpu_usage"].get("percpu_usage") or ()) or 1
    return cpu_delta / sys_delta * ncpu * 100.0


def mem_usage(sample: dict) -> tuple[int, int]:
    """(bytes in use minus cache, limit) like `docker stats` (cgroup v1 and v2)."""
    mem = sample.get("memory_stats") or {}
    usage = int(mem.get("usage") or 0)
    stats = mem.get("stats") or {}
    cache = stats.get("inactive_file") if "inactive_file" in stats else stats.get("total_inactive_file",
                                                                                  stats.get("cache", 0))
    return max(0, usage - int(cache or 0)), int(mem.get("limit") or 0)


def sparkline(values: tuple[float, ...] | list[float], width: int = 10, top: float | None = None) -> str:
    """Unicode-block sparkline of the last `width` values (scaled to `top`, default their max)."""
    vals = list(values)[-width:]
    if not vals:
        return ""
    hi = top if top else max(max(vals), 1.0)
    n = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[min(n, max(0, round(v / hi * n)))] for v in vals)


def format_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n}"


class StatsCollector:
    """Stream stats for the containers it is told to track; report `ServiceStats`."""

    def __init__(self, client: Any, on_stats: Callable[[ServiceStats], None], *,
                 history: int = HISTORY) -> None:
        self.client = client
        """A `docker.DockerClient`."""
        self.on_stats = on_stats
        """Called from the stats threads with each sample."""
        self.history = history
        """Samples kept for the sparkline."""
        self._tracked: dict[str, tuple[str, Any, threading.Thread]] = {}
        self._hist: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._stopped = False

    def track(self, service: str, container_id: str) -> None:
        """Follow `container_id` for `service` (no-op when already following it)."""
        with self._lock:
            if self._stopped:
                return
            cur = self._tracked.get(service)
            if cur and cur[0] == container_id and cur[2].is_alive():
                return
        self.untrack(service)
        holder: dict[str, Any] = {}
        t = threading.Thread(target=self._read, args=(service, container_id, holder),
                             name=f"stats-{service}", daemon=True)
        with self._lock:
            self._tracked[service] = (container_id, holder, t)
        t.start()

    def untrack(self, service: str) -> None:
        with self._lock:
            cur = self._tracked.pop(service, None)
        if cur:
            stream = cur[1].get("stream")
            cur[1]["stop"] = True
            if stream is not None:
                try:
                    stream.close()
                except Exception:  # noqa: BLE001
                    pass

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            services = list(self._tracked)
        for s in services:
            self.untrack(s)

    def _read(self, service: str, cid: str, holder: dict) -> None:
        hist = self._hist.setdefault(service, deque(maxlen=self.history))
        try:
            stream = self.client.api.stats(cid, stream=True, decode=True)
            holder["stream"] = stream
            if holder.get("stop"):
                stream.close()
                return
            for sample in stream:
                if holder.get("stop"):
                    break
                cpu = cpu_percent(sample)
                if cpu is None:
                    continue
                hist.append(cpu)
                mem, limit = mem_usage(sample)
                self.on_stats(ServiceStats(service, cpu, mem, limit, tuple(hist)))
        except Exception:  # noqa: BLE001 - container gone or daemon away: tracking ends here
            return
