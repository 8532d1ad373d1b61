"""HTTP health endpoint of one service, probed over time: status and latency history.

The endpoint comes from the container's health check (`wget`/`curl` of
`http://localhost|127.0.0.1:PORT/PATH`, parsed by `lifecycle.access.health_url`) and that container
port's host binding; it is probed through the published port on 127.0.0.1 only, with httpx and a
short timeout. `HttpProber` runs one background thread that probes only the selected service
every few seconds and keeps a bounded history per service. No Textual here.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, Mapping

from toolbox_tui.sanitize import sanitize_oneline
from toolbox_tui.lifecycle.access import health_url, loopback_for

PROBE_TIMEOUT = 2.0
"""Seconds before a probe counts as failed (the dashboard must stay responsive)."""
PROBE_INTERVAL = 3.0
"""Seconds between probes of the selected service."""
HISTORY = 60
"""Probes kept per service."""


@dataclass(frozen=True)
class HttpProbe:
    """One probe: when, the HTTP status (None on error), the latency, and the error if any."""

    time: float
    status: int | None
    latency_ms: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 400


@dataclass(frozen=True)
class HttpHealth:
    """A service's HTTP endpoint and its recent probes, oldest first."""

    service: str
    url: str
    probes: tuple[HttpProbe, ...]


def endpoint_from_attrs(attrs: Mapping[str, Any]) -> str | None:
    """`http://127.0.0.1:HOSTPORT/PATH` for a container's inspect data, or None when the health
    check fetches no `http://localhost|127.0.0.1` URL or that port is not published on loopback."""
    test = ((attrs.get("Config") or {}).get("Healthcheck") or {}).get("Test")
    if not test:
        return None
    hu = health_url(SimpleNamespace(healthcheck={"test": list(test)}))
    if hu is None or hu.scheme != "http":
        return None
    text = " ".join(str(t) for t in test)
    if not any(f"://{h}" in text for h in ("localhost", "127.0.0.1")):
        return None
    bindings = ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).get(f"{hu.port}/tcp") or ()
    for b in bindings:
        if loopback_for(str(b.get("HostIp") or "")) == "127.0.0.1" and b.get("HostPort"):
            return f"http://127.0.0.1:{int(b['HostPort'])}{hu.path}"
    return None


def probe(url: str, timeout: float = PROBE_TIMEOUT, clock: Callable[[], float] = time.time) -> HttpProbe:
    """GET `url` once (no redirects, no proxies from the environment)."""
    import httpx

    when = clock()
    t0 = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as h:
            r = h.get(url)
        return HttpProbe(when, r.status_code, (time.perf_counter() - t0) * 1000)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        # InvalidURL is not an HTTPError: a health-check URL with control characters raises it
        err = sanitize_oneline(f"{type(exc).__name__}: {exc}", max_len=200)
        return HttpProbe(when, None, (time.perf_counter() - t0) * 1000, err)


class HttpProber:
    """Probe the selected service's HTTP health endpoint every `interval` seconds."""

    def __init__(self, client: Any, on_probe: Callable[[HttpHealth], None], *,
                 interval: float = PROBE_INTERVAL, timeout: float = PROBE_TIMEOUT,
                 history: int = HISTORY) -> None:
        self.client = client
        """A `docker.DockerClient` (only `api.inspect_container` is used)."""
        self.on_probe = on_probe
        """Called from the probe thread after each probe."""
        self.interval = interval
        self.timeout = timeout
        self.history: dict[str, deque[HttpProbe]] = {}
        """Bounded probe history per service (survives switching the selection)."""
        self._maxlen = history
        self._selected: tuple[str, str] | None = None
        self._urls: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="http-probe", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)

    def select(self, service: str | None, container_id: str = "") -> None:
        """Probe `service` (its container `container_id`) from now on; None stops probing."""
        with self._lock:
            new = (service, container_id) if service and container_id else None
            if new == self._selected:
                return
            self._selected = new
        self._wake.set()

    def endpoint(self, container_id: str) -> str | None:
        if container_id not in self._urls:
            try:
                attrs = self.client.api.inspect_container(container_id)
            except Exception:  # noqa: BLE001 - gone, engine lost: try again next round
                return None
            self._urls[container_id] = endpoint_from_attrs(attrs)
        return self._urls[container_id]

    def probe_once(self) -> HttpHealth | None:
        with self._lock:
            sel = self._selected
        if sel is None:
            return None
        service, cid = sel
        url = self.endpoint(cid)
        if url is None:
            return None
        result = probe(url, self.timeout)
        if result.status is None:
            # A restarted container may have a new random host port: look it up again.
            self._urls.pop(cid, None)
        hist = self.history.setdefault(service, deque(maxlen=self._maxlen))
        hist.append(result)
        return HttpHealth(service, url, tuple(hist))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                health = self.probe_once()
                if health is not None and not self._stop.is_set():
                    self.on_probe(health)
            except Exception:  # noqa: BLE001 - never let the probe thread die
                pass
            self._wake.wait(self.interval)
