"""Merge several Compose documents the way compose-go does.

Mappings merge key by key (later wins); `command`, `entrypoint` and `healthcheck.test` are
replaced; most sequences are appended and then made unique by the key Compose uses (volumes by
target, ports by binding, secrets/configs by target, ...); list-or-mapping fields (`environment`,
`labels`, ...) are normalised to mappings first. `!reset` removes what earlier files set and
`!override` replaces instead of merging. Locations travel with the values.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from toolbox_tui.compose.yaml_source import LDict, LList, LStr, Loc

_OVERRIDE = {"command", "entrypoint"}
_KV_FIELDS = {"environment", "labels", "annotations", "sysctls", "extra_hosts"}
_BUILD_KV = {"args", "labels", "additional_contexts", "extra_hosts"}


def _copy_dict(src: LDict) -> LDict:
    out = LDict(src)
    out.loc, out.reset, out.override = src.loc, False, False
    out.key_locs = dict(src.key_locs)
    return out


def _copy_list(src: LList, items: list[Any] | None = None,
               locs: list[Loc | None] | None = None) -> LList:
    out = LList(src if items is None else items)
    out.loc = src.loc
    out.item_locs = list(src.item_locs if locs is None else locs)
    return out


def kv_to_mapping(value: Any, sep: str = "=") -> Any:
    """`["A=1", "B"]` -> `{A: "1", B: None}`, keeping item locations as key locations."""
    if not isinstance(value, LList):
        return value
    out = LDict()
    out.loc = value.loc
    for i, item in enumerate(value):
        text = str(item)
        key, has, val = text.partition(sep)
        k = key.strip()
        if has:
            v = LStr(val)
            v.loc = getattr(item, "loc", None)
            out[k] = v
        else:
            out[k] = None
        loc = value.item_loc(i)
        if loc is not None:
            out.key_locs[k] = loc
    return out


def normalize_service(svc: Any) -> Any:
    """Normalise list-or-mapping fields of one service so that merging is key based."""
    if not isinstance(svc, LDict):
        return svc
    for field in _KV_FIELDS:
        if field in svc:
            svc[field] = kv_to_mapping(svc[field], ":" if field == "extra_hosts" else "=")
    build = svc.get("build")
    if isinstance(build, LDict):
        for field in _BUILD_KV:
            if field in build:
                build[field] = kv_to_mapping(build[field])
    if isinstance(svc.get("depends_on"), LList):
        deps = svc["depends_on"]
        out = LDict()
        out.loc = deps.loc
        for i, name in enumerate(deps):
            d = LDict({"condition": "service_started"})
            d.loc = deps.item_loc(i)
            out[str(name)] = d
            out.key_locs[str(name)] = deps.item_loc(i)
        svc["depends_on"] = out
    if isinstance(svc.get("env_file"), (str, LDict)):
        v = svc["env_file"]
        lst = LList([v])
        lst.loc = getattr(v, "loc", None)
        lst.item_locs = [lst.loc]
        svc["env_file"] = lst
    return svc


# -- sequence identity (compose-go's EnforceUnicity) ---------------------------------------------

def volume_target(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("target", ""))
    parts = split_volume(str(item))
    return parts[1] if len(parts) > 1 else parts[0]


def split_volume(spec: str) -> list[str]:
    """Split short-syntax `src:dst[:mode]`, tolerating Windows drive letters (`C:\\x:/y`)."""
    parts: list[str] = []
    cur = ""
    i = 0
    while i < len(spec):
        ch = spec[i]
        if ch == ":" and not (len(cur) == 1 and cur.isalpha() and i + 1 < len(spec)
                              and spec[i + 1] in "\\/" and not parts):
            parts.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    parts.append(cur)
    return parts


def _mount_target(prefix: str) -> Callable[[Any], str]:
    def key(item: Any) -> str:
        if isinstance(item, dict):
            src = str(item.get("source", ""))
            return str(item.get("target") or f"{prefix}/{src}")
        return f"{prefix}/{item}"
    return key


def _port_key(item: Any) -> str:
    if isinstance(item, dict):
        return "{}:{}:{}/{}".format(item.get("host_ip", ""), item.get("published", ""),
                                    item.get("target", ""), item.get("protocol", "tcp"))
    return str(item)


def _env_file_key(item: Any) -> str:
    return str(item.get("path")) if isinstance(item, dict) else str(item)


_UNIQUE: dict[str, Callable[[Any], str]] = {
    "volumes": volume_target,
    "ports": _port_key,
    "secrets": _mount_target("/run/secrets"),
    "configs": _mount_target(""),
    "env_file": _env_file_key,
    "devices": volume_target,
}


def _unique(items: LList, key: Callable[[Any], str]) -> LList:
    seen: dict[str, int] = {}
    out_items: list[Any] = []
    out_locs: list[Loc | None] = []
    for i, item in enumerate(items):
        k = key(item)
        if k in seen:
            out_items[seen[k]] = item
            out_locs[seen[k]] = items.item_loc(i)
        else:
            seen[k] = len(out_items)
            out_items.append(item)
            out_locs.append(items.item_loc(i))
    return _copy_list(items, out_items, out_locs)


def merge_values(base: Any, over: Any, path: tuple[str, ...]) -> Any:
    """Merge `over` (a later file) onto `base`. `path` uses '*' for names (services.*.volumes)."""
    if getattr(over, "reset", False):
        return None
    if getattr(over, "override", False) or base is None:
        return over
    field = path[-1] if path else ""
    if len(path) >= 3 and path[0] == "services" and (field in _OVERRIDE or path[-2:] == ("healthcheck", "test")):
        return over
    if isinstance(base, LDict) and isinstance(over, LDict):
        out = _copy_dict(base)
        for k, v in over.items():
            sub = (*path, "*" if _is_name_level(path) else k)
            if k in out:
                merged = merge_values(out[k], v, sub)
            else:
                merged = None if getattr(v, "reset", False) else v
            if merged is None and getattr(v, "reset", False):
                out.pop(k, None)
                out.key_locs.pop(k, None)
                continue
            out[k] = merged
            loc = over.key_locs.get(k)
            if loc is not None:
                out.key_locs[k] = loc
        return out
    if isinstance(base, LList) and isinstance(over, LList):
        combined = _copy_list(base, list(base) + list(over),
                              [base.item_loc(i) for i in range(len(base))]
                              + [over.item_loc(i) for i in range(len(over))])
        if len(path) == 3 and path[0] == "services" and field in _UNIQUE:
            return _unique(combined, _UNIQUE[field])
        if field in ("dns", "dns_search", "dns_opt", "tmpfs", "cap_add", "cap_drop", "profiles",
                     "expose", "links"):
            return _unique(combined, str)
        return combined
    return over


def _is_name_level(path: tuple[str, ...]) -> bool:
    """True when the keys under `path` are user-chosen names (service names, secret names...)."""
    return len(path) == 1 and path[0] in ("services", "secrets", "configs", "volumes", "networks")


_BIND_PREFIX = re.compile(r"^(\.|/|~|\$|[A-Za-z]:[\\/])")


def is_bind_source(source: str) -> bool:
    """Short-syntax source that names a host path rather than a named volume."""
    return bool(_BIND_PREFIX.match(source))
