"""Where a running stack can be reached: the URLs to open, and the HTTP endpoint behind each
service's health check. One list for `up`, `verify`, the wizard's Done step and the dashboard's
HTTP probe. Only loopback is ever contacted: wildcard binds are reached through 127.0.0.1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolbox_tui.compose.model import ComposeProject


@dataclass(frozen=True)
class HealthUrl:
    """What a service's health check fetches: port and path inside the container."""

    port: int
    path: str
    scheme: str = "http"


def health_url(svc: Any) -> HealthUrl | None:
    """The HTTP URL a service's health check fetches (`wget`/`curl ... http://host:port/path`)."""
    hc = getattr(svc, "healthcheck", None) or {}
    test = hc.get("test") if isinstance(hc, dict) else None
    text = " ".join(str(t) for t in test) if isinstance(test, (list, tuple)) else str(test or "")
    m = re.search(r"(https?)://[^/\s:'\"]+(?::(\d+))?(/[^\s'\"]*)?", text)
    if not m:
        return None
    scheme = m.group(1)
    port = int(m.group(2)) if m.group(2) else (443 if scheme == "https" else 80)
    return HealthUrl(port=port, path=m.group(3) or "/", scheme=scheme)


def service_port(svc: Any) -> int | None:
    """The port a service serves on inside the network: health-check port, else a target port."""
    hu = health_url(svc)
    if hu:
        return hu.port
    for p in getattr(svc, "ports", ()) or ():
        if getattr(p, "target", None):
            return int(p.target)
    data = getattr(svc, "data", None) or {}
    for e in data.get("expose") or ():
        m = re.match(r"(\d+)", str(e))
        if m:
            return int(m.group(1))
    return None


@dataclass(frozen=True)
class AccessUrl:
    """Where a user opens the stack: a manifest URL, or a published port on this machine."""

    label: str
    url: str
    service: str | None = None
    health: str | None = None
    """The health endpoint behind the same port, when the service's health check names one."""

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "url": self.url, "service": self.service, "health": self.health}


def access_urls(stack: ComposeProject) -> list[AccessUrl]:
    """The manifest's `urls:` first, then every published TCP port not already covered."""
    out: list[AccessUrl] = []
    seen: set[str] = set()
    manifest = stack.manifest
    for label, url in (manifest.urls if manifest is not None else {}).items():
        out.append(AccessUrl(label=str(label), url=str(url)))
        seen.add(str(url).rstrip("/"))
    for name, svc in stack.services.items():
        hu = health_url(svc)
        for p in getattr(svc, "ports", ()) or ():
            if str(getattr(p, "protocol", "tcp")).lower() != "tcp":
                continue
            ip = str(getattr(p, "host_ip", "") or "")
            host = loopback_for(ip) or ip
            base = f"http://{host}:{p.published}"
            if any(u == base or u.startswith(base + "/") for u in seen):
                continue
            seen.add(base)
            out.append(AccessUrl(label=name, url=base + "/", service=name,
                                 health=base + hu.path if hu and hu.port == p.target else None))
    return out


def loopback_for(host: str) -> str | None:
    """Only loopback is ever contacted: wildcard binds are reached through 127.0.0.1."""
    if host in ("", "0.0.0.0", "127.0.0.1", "localhost"):
        return "127.0.0.1"
    if host in ("::", "[::]", "::1"):
        return "[::1]"
    return None
