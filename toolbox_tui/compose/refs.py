"""The pieces of a stack the checks, fixes and secrets talk about: published ports, host paths,
secrets and services — small frozen dataclasses that remember where they were written."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from toolbox_tui.compose.yaml_source import Loc, loc_of


@dataclass(frozen=True)
class PortRef:
    """A published host port."""

    service: str
    host_ip: str
    published: int
    target: int
    protocol: str
    loc: Loc | None


@dataclass(frozen=True)
class PathRef:
    """A host path the stack needs before `up`."""

    kind: str
    """bind | build_context | dockerfile | env_file | secret_file | config_file | extends_file"""
    service: str | None
    name: str | None
    """Secret/config name, or the volume spec index for binds."""
    raw: str
    """The path as written (after interpolation)."""
    path: Path
    loc: Loc | None
    expect: str = "any"
    """file | dir | any"""
    required: bool = True
    create_host_path: bool = False
    syntax: str = "scalar"
    """short | long | scalar | implicit (how the reference is written; the fixer needs it)"""
    index: int | None = None
    target: str | None = None
    """Container path of a bind mount."""


@dataclass(frozen=True)
class SecretDef:
    """A top-level secret and who uses it."""

    name: str
    kind: str
    """file | environment | external | content"""
    file: Path | None
    environment: str | None
    external_name: str | None
    loc: Loc | None
    used_by: tuple[str, ...]

    @property
    def file_missing(self) -> bool:
        """A `file:` secret whose file does not exist (a fresh clone: `./secrets/db_password.txt`
        is git-ignored): its value is kept in the store and `up` provides the file from there,
        like an external secret; the path itself is only stat'ed, never written."""
        return self.kind == "file" and self.file is not None and not self.file.exists()


@dataclass(frozen=True)
class Service:
    """One enabled service: the pieces the rest of the engine reads, and its whole definition."""

    name: str
    data: Mapping[str, Any]
    """The merged definition (an `LDict` that knows file:line when read from the files; Compose's
    normalised JSON for a project known only by its Compose arguments)."""
    loc: Loc | None
    image: str | None
    healthcheck: Mapping[str, Any] | None
    depends_on: Mapping[str, Mapping[str, Any]]
    secrets: tuple[str, ...]
    ports: tuple[PortRef, ...]
    profiles: tuple[str, ...]


_SIZE_SUFFIX = re.compile(r"\.[A-Za-z0-9_-]{1,12}$")


_DIR_SUFFIX = re.compile(r"\.d$")
"""`conf.d`, `local.d`, `override.d`: the Unix convention for a directory of drop-in files."""


def looks_like_file(*names: str) -> bool:
    """A mount whose source or target has a file extension (`redis.conf`) expects a file.

    A trailing `/` on either side says directory, and so does a `.d` suffix (`conf.d`): neither
    is ever taken for a file, whatever the other side looks like."""
    if any(n.endswith(("/", "\\")) or _DIR_SUFFIX.search(n) for n in names):
        return False
    for n in names:
        base = os.path.basename(n.rstrip("/\\"))
        if base.startswith(".") and base.count(".") == 1:
            if base in (".env", ".htpasswd", ".npmrc", ".pgpass", ".netrc"):
                return True
            continue
        if _SIZE_SUFFIX.search(base) or base.endswith((".sock",)):
            return True
    return False


def _int(v: Any) -> int | None:
    try:
        return int(str(v))
    except (TypeError, ValueError):
        return None


def parse_port(spec: Any, service: str, loc: Loc | None) -> list[PortRef]:
    """Published ports of one `ports:` item (short or long syntax); unpublished ones are skipped."""
    if isinstance(spec, dict):
        target = _int(spec.get("target"))
        pub = spec.get("published")
        proto = str(spec.get("protocol") or "tcp")
        ip = str(spec.get("host_ip") or "0.0.0.0")
        loc = loc_of(spec) or loc
        if pub in (None, ""):
            return []
        return _expand(str(pub), str(target or ""), service, ip, proto, loc)
    text = str(spec)
    proto = "tcp"
    if "/" in text:
        text, proto = text.rsplit("/", 1)
    ip = "0.0.0.0"
    if text.startswith("["):  # [::1]:8080:80
        end = text.find("]")
        ip, text = text[1:end], text[end + 2:]
    parts = text.split(":")
    if len(parts) == 1:
        return []
    if len(parts) == 3:
        ip, pub, target = parts
    else:
        pub, target = parts[-2], parts[-1]
    if not pub:
        return []
    return _expand(pub, target, service, ip or "0.0.0.0", proto, loc)


def _expand(pub: str, target: str, service: str, ip: str, proto: str, loc: Loc | None) -> list[PortRef]:
    def rng(s: str) -> list[int]:
        a, _, b = s.partition("-")
        lo, hi = _int(a), _int(b) if b else _int(a)
        if lo is None or hi is None or hi < lo or hi - lo > 1000:
            return []
        return list(range(lo, hi + 1))

    pubs, targets = rng(pub), rng(target) if target else []
    out = []
    for i, p in enumerate(pubs):
        t = targets[i] if i < len(targets) else (targets[0] if targets else p)
        out.append(PortRef(service, ip, p, t, proto, loc))
    return out
