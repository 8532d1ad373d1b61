"""The keys the Compose specification allows, to reject typos with file:line before Compose does."""

from __future__ import annotations

from toolbox_tui.compose.yaml_source import LDict, LoadError

TOP_LEVEL = {"version", "name", "include", "services", "networks", "volumes", "secrets", "configs",
             "models"}
SERVICE = {
    "develop", "deploy", "annotations", "attach", "build", "blkio_config", "cap_add", "cap_drop",
    "cgroup", "cgroup_parent", "command", "configs", "container_name", "cpu_count", "cpu_percent",
    "cpu_shares", "cpu_quota", "cpu_period", "cpu_rt_period", "cpu_rt_runtime", "cpus", "cpuset",
    "credential_spec", "depends_on", "device_cgroup_rules", "devices", "dns", "dns_opt",
    "dns_search", "domainname", "entrypoint", "env_file", "label_file", "environment", "expose",
    "extends", "external_links", "extra_hosts", "gpus", "group_add", "healthcheck", "hostname",
    "image", "init", "ipc", "isolation", "labels", "links", "logging", "mac_address", "mem_limit",
    "mem_reservation", "mem_swappiness", "memswap_limit", "network_mode", "networks",
    "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform", "ports", "post_start",
    "pre_stop", "privileged", "profiles", "pull_policy", "read_only", "restart", "runtime",
    "scale", "security_opt", "shm_size", "secrets", "sysctls", "stdin_open", "stop_grace_period",
    "stop_signal", "storage_opt", "tmpfs", "tty", "ulimits", "user", "uts", "userns_mode",
    "volumes", "volumes_from", "working_dir", "models", "provider", "use_api_socket",
}


def _close(word: str, choices: set[str]) -> str | None:
    import difflib

    m = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.75)
    return m[0] if m else None


def validate_keys(doc: LDict, file: str) -> None:
    """Raise LoadError for the first unknown top-level or service key (extensions `x-` allowed)."""
    for key in doc:
        k = str(key)
        if k not in TOP_LEVEL and not k.startswith("x-"):
            _fail(doc, key, file, f"unknown top-level key {k!r}", TOP_LEVEL)
    services = doc.get("services")
    if isinstance(services, LDict):
        for name, svc in services.items():
            if not isinstance(svc, LDict):
                continue
            for key in svc:
                k = str(key)
                if k not in SERVICE and not k.startswith("x-"):
                    _fail(svc, key, file, f"service {name!r} has an unknown key {k!r}", SERVICE)


def _fail(parent: LDict, key: object, file: str, msg: str, choices: set[str]) -> None:
    loc = parent.key_loc(key)
    guess = _close(str(key), choices)
    raise LoadError(msg + " (Compose rejects the file)", file=loc.file if loc else file,
                    line=loc.line if loc else None, column=loc.column if loc else None,
                    hint=f"Did you mean {guess!r}?" if guess else
                    "Remove it, or prefix it with x- to keep it as an extension field.")


_SEQ = (list,)
_SEQ_OR_MAP = (list, dict)
_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "volumes": (_SEQ, "a list"), "ports": (_SEQ, "a list"), "secrets": (_SEQ, "a list"),
    "configs": (_SEQ, "a list"), "profiles": (_SEQ, "a list"), "cap_add": (_SEQ, "a list"),
    "cap_drop": (_SEQ, "a list"), "devices": (_SEQ, "a list"),
    "environment": (_SEQ_OR_MAP, "a list or a mapping"), "labels": (_SEQ_OR_MAP, "a list or a mapping"),
    "depends_on": (_SEQ_OR_MAP, "a list or a mapping"), "networks": (_SEQ_OR_MAP, "a list or a mapping"),
    "extra_hosts": (_SEQ_OR_MAP, "a list or a mapping"), "sysctls": (_SEQ_OR_MAP, "a list or a mapping"),
    "env_file": ((str, list, dict), "a path or a list"), "build": ((str, dict), "a path or a mapping"),
    "healthcheck": ((dict,), "a mapping"), "extends": ((str, dict), "a service name or a mapping"),
    "tmpfs": ((str, list), "a path or a list"), "dns": ((str, list), "an address or a list"),
}
_ITEMS: dict[str, tuple[tuple[type, ...], str]] = {
    "volumes": ((str, dict), "a `src:dst` string or a mapping"),
    "ports": ((str, int, dict), "a port string, a number or a mapping"),
    "secrets": ((str, dict), "a secret name or a mapping"),
    "configs": ((str, dict), "a config name or a mapping"),
    "env_file": ((str, dict), "a path or a mapping"),
    "profiles": ((str,), "a profile name"),
    "depends_on": ((str,), "a service name"),
}


def validate_types(doc: LDict, file: str) -> None:
    """Raise LoadError (with location) for service fields whose YAML type Compose would reject."""
    services = doc.get("services")
    if not isinstance(services, LDict):
        return
    for name, svc in services.items():
        if not isinstance(svc, LDict):
            continue
        for key, (types, what) in _TYPES.items():
            if key not in svc or svc[key] is None:
                continue
            val = svc[key]
            if getattr(val, "reset", False):
                continue
            if isinstance(val, bool) or not isinstance(val, types):
                _bad(svc.key_loc(key), file, f"service {name!r}: `{key}` must be {what}")
            if key in _ITEMS and isinstance(val, list):
                itypes, iwhat = _ITEMS[key]
                for i, item in enumerate(val):
                    if isinstance(item, bool) or not isinstance(item, itypes):
                        loc = val.item_loc(i) if hasattr(val, "item_loc") else None
                        _bad(loc or svc.key_loc(key), file,
                             f"service {name!r}: each item of `{key}` must be {iwhat}")
                    if isinstance(item, dict) and key == "volumes" and not isinstance(item.get("source", ""), (str, type(None))):
                        _bad(svc.key_loc(key), file, f"service {name!r}: a volume's `source` must be a path")
            if key == "build" and isinstance(val, dict):
                for sub in ("context", "dockerfile"):
                    if sub in val and not isinstance(val[sub], (str, type(None))):
                        _bad(val.key_loc(sub), file, f"service {name!r}: `build.{sub}` must be a path")
    for section in ("secrets", "configs"):
        defs = doc.get(section)
        if isinstance(defs, LDict):
            for n, d in defs.items():
                if d is not None and not isinstance(d, dict):
                    _bad(defs.key_loc(n), file, f"{section[:-1]} {n!r} must be a mapping (file:, external:, ...)")
                if isinstance(d, dict) and "file" in d and not isinstance(d["file"], (str, type(None))):
                    _bad(d.key_loc("file"), file, f"{section[:-1]} {n!r}: `file` must be a path")


def _bad(loc, file: str, msg: str) -> None:
    raise LoadError(msg + " (Compose rejects the file)", file=loc.file if loc else file,
                    line=loc.line if loc else None, column=loc.column if loc else None,
                    hint="Fix the value's type at that location.")
