"""Which Docker endpoint the docker CLI would use: DOCKER_HOST, docker contexts, TLS settings.

docker-py reads DOCKER_HOST and the TLS variables but knows nothing of docker contexts, so a user
whose `docker` talks to a context (Docker Desktop, rootless, a remote host) would get a different
engine from the SDK. This module applies the CLI's order: DOCKER_HOST, then DOCKER_CONTEXT, then
`currentContext` in the CLI config (`$DOCKER_CONFIG/config.json`, default `~/.docker`), reading the
context's endpoint from `contexts/meta/<sha256(name)>/meta.json` and its TLS files from
`contexts/tls/<sha256(name)>/docker/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

from toolbox_tui.errors import ToolboxError

DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_CONTEXT = "default"


class ContextError(ToolboxError):
    """The chosen docker context cannot be used; `message` and `hint` are user-facing."""

    def __init__(self, message: str, hint: str, context: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context = context
        """The context's name (None when the CLI config itself is unreadable)."""


@dataclass(frozen=True)
class Endpoint:
    """Where the engine is expected to answer, and why we think so."""

    host: str
    """URL as docker uses it: `unix:///path`, `tcp://host:port`, `ssh://user@host`."""
    source: str
    """`DOCKER_HOST`, `context`, or `default`."""
    context: str = DEFAULT_CONTEXT
    """Context name (`default` when DOCKER_HOST or nothing chose the endpoint)."""
    tls_verify: bool = False
    tls_dir: str | None = None
    """Directory with ca.pem/cert.pem/key.pem, when TLS is on."""
    skip_tls_verify: bool = False

    @property
    def display_host(self) -> str:
        """`host` with any password in it masked, for messages and reports."""
        return re.sub(r"(://[^/@:]*:)[^@/]+@", r"\1***@", self.host)

    @property
    def scheme(self) -> str:
        return urlparse(self.host).scheme or "unix"

    @property
    def socket_path(self) -> str | None:
        """Filesystem path of a unix socket endpoint, else None."""
        if self.host.startswith("unix://"):
            return self.host[len("unix://"):] or "/var/run/docker.sock"
        if self.host.startswith("/"):
            return self.host
        return None

    @property
    def is_local(self) -> bool:
        """A unix socket on this machine (the engine may still live in a VM behind it)."""
        return self.socket_path is not None

    @property
    def tls(self) -> bool:
        return self.tls_dir is not None



def docker_config_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"])
    return Path(env.get("HOME") or os.path.expanduser("~")) / ".docker"


def current_context(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(context name, where it came from) as the docker CLI would choose it."""
    env = os.environ if environ is None else environ
    if env.get("DOCKER_HOST"):
        return DEFAULT_CONTEXT, "DOCKER_HOST"
    if env.get("DOCKER_CONTEXT"):
        return env["DOCKER_CONTEXT"], "DOCKER_CONTEXT"
    cfg = docker_config_dir(env) / "config.json"
    try:
        data = json.loads(cfg.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return DEFAULT_CONTEXT, "default"
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ContextError(f"Cannot read the docker CLI config {cfg}: {reason}",
                           f"fix or remove {cfg}") from None
    name = data.get("currentContext") if isinstance(data, dict) else None
    if isinstance(name, str) and name:
        return name, str(cfg)
    return DEFAULT_CONTEXT, "default"


def context_meta(name: str, cfg_dir: Path) -> tuple[dict[str, Any], Path] | None:
    meta_root = cfg_dir / "contexts" / "meta"
    digest = hashlib.sha256(name.encode()).hexdigest()
    candidates = [meta_root / digest / "meta.json"]
    try:
        candidates += sorted(p for p in meta_root.glob("*/meta.json") if p != candidates[0])
    except OSError:
        pass
    for path in candidates:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("Name") == name:
            return data, path.parent
    return None


def resolve_endpoint(environ: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint the docker CLI would use. Raises ContextError."""
    env = os.environ if environ is None else environ
    name, chosen_by = current_context(env)
    tls_verify = bool(env.get("DOCKER_TLS_VERIFY"))  # the CLI: any non-empty value
    cert_path = env.get("DOCKER_CERT_PATH") or None
    if name == DEFAULT_CONTEXT:
        host = env.get("DOCKER_HOST") or DEFAULT_HOST
        source = "DOCKER_HOST" if env.get("DOCKER_HOST") else "default"
        tls_dir = None
        if tls_verify or cert_path:
            tls_dir = cert_path or str(docker_config_dir(env))
        return Endpoint(host=host, source=source, tls_verify=tls_verify, tls_dir=tls_dir)

    cfg_dir = docker_config_dir(env)
    where = "DOCKER_CONTEXT" if chosen_by == "DOCKER_CONTEXT" else f"currentContext in {chosen_by}"
    found = context_meta(name, cfg_dir)
    if found is None:
        raise ContextError(
            f"docker context {name!r} ({where}) does not exist: no metadata under "
            f"{cfg_dir / 'contexts' / 'meta'}",
            "list contexts with `docker context ls` and pick one with `docker context use NAME` "
            "(or `docker context use default`)" +
            ("; or unset DOCKER_CONTEXT" if chosen_by == "DOCKER_CONTEXT" else ""),
            context=name)
    meta, meta_dir = found
    ep = (meta.get("Endpoints") or {}).get("docker") if isinstance(meta.get("Endpoints"), dict) else None
    host = ep.get("Host") if isinstance(ep, dict) else None
    if not isinstance(host, str) or not host:
        raise ContextError(
            f"docker context {name!r} has no docker endpoint ({meta_dir / 'meta.json'})",
            f"recreate it: docker context rm {name} && docker context create {name} --docker host=...",
            context=name)
    skip_verify = bool(ep.get("SkipTLSVerify")) if isinstance(ep, dict) else False
    tls_dir_path = cfg_dir / "contexts" / "tls" / meta_dir.name / "docker"
    tls_dir = str(tls_dir_path) if tls_dir_path.is_dir() else None
    return Endpoint(host=host, source="context", context=name, tls_verify=bool(tls_dir) and not skip_verify,
                    tls_dir=tls_dir, skip_tls_verify=skip_verify)
