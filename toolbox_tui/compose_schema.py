"""The keys the Compose specification allows, to reject typos with file:line before Compose does."""

from __future__ import annotations

from toolbox_tui.yaml_source import LDict, LoadError

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
