"""An image pull that failed, told from Compose's final error: which image, why (the registry's
host does not resolve, refuses, times out, the image or tag does not exist, a login is needed, TLS)
and what to do — instead of `Get "https:/` cut from the daemon's message.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from toolbox_tui.sanitize import sanitize_oneline

if TYPE_CHECKING:
    from toolbox_tui.compose.model import ComposeProject
    from toolbox_tui.lifecycle.diagnosis import Diagnosis

_REGISTRY_URL = re.compile(r'Get "?(?:https?://)?(?P<host>[^/"\s]+)/v2/')
_DENIED = re.compile(r"pull access denied for (?P<repo>[^\s,]+)")
_MANIFEST = re.compile(r"manifest for (?P<ref>\S+) not found|(?P<ref2>\S+): not found: manifest unknown"
                       r"|manifest unknown")

CAUSES = (
    ("no such host", "the registry's host {host} does not resolve (DNS: no such host)",
     "check the image name and the machine's DNS/network; on a machine without registry access, "
     "build or load the image locally (`docker load`, `docker build -t IMAGE`)"),
    ("server misbehaving", "the registry's host {host} does not resolve (the DNS server failed)",
     "check the machine's DNS/network, or load the image locally (`docker load`)"),
    ("connection refused", "the registry {host} refuses connections",
     "check the registry's address and port in the image name, or load the image locally"),
    ("i/o timeout", "the registry {host} did not answer (timeout)",
     "check the network or proxy settings of the Docker engine, or load the image locally"),
    ("deadline exceeded", "the registry {host} did not answer (timeout)",
     "check the network or proxy settings of the Docker engine, or load the image locally"),
    ("x509", "the registry {host}'s TLS certificate is not trusted",
     "install the registry's CA for the Docker engine (/etc/docker/certs.d/{host}/ca.crt)"),
    ("network is unreachable", "there is no network route to the registry {host}",
     "check the machine's network, or load the image locally (`docker load`)"),
)


def _image_for_host(stack: ComposeProject, host: str, service: str | None) -> tuple[str | None, str | None]:
    """(service, image) of the service whose image is pulled from `host`."""
    items = list(stack.services.items())
    if service:
        items.sort(key=lambda kv: kv[0] != service)
    for name, svc in items:
        image = svc.image or ""
        first = image.split("/", 1)[0] if "/" in image else ""
        from_hub = not first or ("." not in first and ":" not in first and first != "localhost")
        if (host == first) or (from_hub and host in ("registry-1.docker.io", "index.docker.io")):
            return name, image
    return service, None


def pull_failure(stack: ComposeProject, message: str,
                 failed_service: str | None = None) -> Diagnosis | None:
    """A `Diagnosis` (cause `pull_failed`) when `message` is a failed pull, else None."""
    from toolbox_tui.lifecycle.diagnosis import Diagnosis

    text = sanitize_oneline(message, max_len=2000)
    low = message.lower()
    m = _REGISTRY_URL.search(message)
    denied = _DENIED.search(message)
    manifest = _MANIFEST.search(message)
    if m is None and denied is None and manifest is None:
        return None
    if m is not None:
        host = sanitize_oneline(m.group("host"), max_len=200)
        service, image = _image_for_host(stack, host, failed_service)
        cause, hint = next(((c.format(host=host), h.format(host=host)) for key, c, h in CAUSES
                            if key in low), (f"the registry {host} could not be reached",
                                             "check the network, or load the image locally"))
    else:
        ref = (denied.group("repo") if denied else manifest.group("ref") or manifest.group("ref2")) or ""
        service = failed_service
        image = ref or None
        for name, svc in stack.services.items():
            if ref and (svc.image or "").startswith(ref):
                service, image = name, svc.image
        cause = ("the image does not exist there or needs a login" if denied
                 else "the image's tag does not exist in the registry")
        hint = ("check the image name and tag; for a private registry run `docker login`, "
                "or build the image locally (`docker compose build`)")
    what = f"image {sanitize_oneline(image)}" if image else "an image"
    return Diagnosis(service=service, cause="pull_failed",
                     summary=f"{what} could not be pulled: {cause}",
                     hint=f"{hint}; then run `toolbox-tui up` again",
                     evidence=(f"docker compose: {text}",),
                     data=(("image", image or ""),))
