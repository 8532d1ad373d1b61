"""Settings in later compose files that weaken what earlier files set.

The seed's dev override is the model case: `read_only: false`, `user: root`, `secrets: []`
(which, by Compose's merge rules, does *not* remove the base file's secrets), ports on 0.0.0.0,
the docker socket mounted in, and added capabilities.
"""

from __future__ import annotations

import os

from toolbox_tui.compose.merge import split_volume
from toolbox_tui.compose.model import Stack
from toolbox_tui.compose.refs import parse_port
from toolbox_tui.findings import WARN, Check
from toolbox_tui.state_dir import LEGACY_WHY, legacy_hint, legacy_state_dir
from toolbox_tui.compose.yaml_source import LDict, LList, loc_of


def _name(stack: Stack, file: str) -> str:
    return os.path.relpath(file, stack.project_dir)


def legacy_state_checks(stack: Stack) -> list[Check]:
    """A `.toolbox-tui/` in the repository is never read (old state, or shipped by the
    repository, possibly with a `compose.secrets.yml` that would weaken the stack): say so."""
    legacy = legacy_state_dir(stack.state_root)
    if legacy is None:
        return []
    return [Check(id="overrides.legacy_state", area="overrides", severity="warning", status=WARN,
                  title=f"{legacy} is ignored", detail=LEGACY_WHY + ".",
                  hint=legacy_hint(stack.state_root)[0].upper() + legacy_hint(stack.state_root)[1:] + ".",
                  path=str(legacy))]


def override_checks(stack: Stack) -> list[Check]:
    out: list[Check] = legacy_state_checks(stack)
    files = [str(f) for f in stack.files]
    for i, file in enumerate(files[1:], 1):
        doc = stack.file_docs.get(file)
        if not isinstance(doc, LDict):
            continue
        earlier = [stack.file_docs.get(f) for f in files[:i]]
        services = doc.get("services") or {}
        fname = _name(stack, file)
        for sname, svc in services.items():
            if not isinstance(svc, LDict) or sname not in stack.services:
                continue

            def base_value(key: str):
                val = None
                for d in earlier:
                    s = ((d or {}).get("services") or {}).get(sname)
                    if isinstance(s, dict) and key in s:
                        val = s[key]
                return val

            def add(key: str, what: str, detail: str, hint: str, loc=None) -> None:
                loc = loc or svc.key_loc(key)
                out.append(Check(id=f"overrides.{key}.{sname}", area="overrides", severity="warning",
                                 status=WARN, title=f"{fname} {what} for service {sname!r}",
                                 detail=detail, hint=hint, service=sname, file=file,
                                 line=loc.line if loc else None, column=loc.column if loc else None))

            if svc.get("read_only") in (False, "false") and base_value("read_only") in (True, "true"):
                add("read_only", "sets read_only: false",
                    "An earlier file makes the root filesystem read-only; this file makes it writable.",
                    "Keep it for development only; never deploy with this file.")
            user = svc.get("user")
            if user is not None and str(user).split(":")[0] in ("root", "0"):
                add("user", f"sets user: {user}", "The container runs as root"
                    + (f" (an earlier file sets user: {base_value('user')})." if base_value("user") else "."),
                    "Run as the image's non-root user unless root is really needed.")
            if svc.get("privileged") in (True, "true"):
                add("privileged", "sets privileged: true", "The container gets full access to the host.",
                    "Drop privileged; add only the capabilities needed.")
            sec = svc.get("secrets")
            merged = stack.services[sname].secrets
            if isinstance(sec, LList) and len(sec) == 0 and not sec.reset and merged:
                # with nothing to remove it is an extension point, not a mistake
                add("secrets", "sets secrets: []",
                    "Compose merges lists from later files, so this does not remove the earlier "
                    f"secrets: {sname} still needs {', '.join(merged)}.",
                    "If this file means to drop them, write `secrets: !reset []` (Compose >= 2.24); "
                    "an empty list adds nothing.")
            caps = svc.get("cap_add")
            if isinstance(caps, LList) and caps:
                add("cap_add", f"adds capabilities {', '.join(map(str, caps))}",
                    "Extra kernel capabilities widen what a compromised container can do.",
                    "Remove them unless the service needs them.")
            out += _exposure_checks(file, fname, sname, svc)
    return out


def _exposure_checks(file: str, fname: str, sname: str, svc: LDict) -> list[Check]:
    """What `file` opens to the outside for service `sname`: ports published on every
    interface, the Docker socket mounted."""
    out: list[Check] = []
    ports = svc.get("ports")
    if isinstance(ports, LList):
        for idx, p in enumerate(ports):
            for ref in parse_port(p, sname, ports.item_loc(idx)):
                if ref.host_ip in ("0.0.0.0", "::", ""):
                    loc = ports.item_loc(idx)
                    out.append(Check(
                        id=f"overrides.ports.{sname}.{ref.published}", area="overrides",
                        severity="warning", status=WARN,
                        title=f"{fname} publishes port {ref.published} of {sname!r} on all interfaces",
                        detail="Port is reachable from other machines on the network.",
                        hint=f"Bind it to 127.0.0.1 (\"127.0.0.1:{ref.published}:{ref.target}\").",
                        service=sname, file=file, line=loc.line if loc else None,
                        column=loc.column if loc else None))
    vols = svc.get("volumes")
    if isinstance(vols, LList):
        for idx, v in enumerate(vols):
            src = str(v.get("source", "")) if isinstance(v, dict) else split_volume(str(v))[0]
            if src.endswith("docker.sock"):
                loc = loc_of(v) or vols.item_loc(idx)
                out.append(Check(
                    id=f"overrides.docker_sock.{sname}", area="overrides", severity="warning",
                    status=WARN, title=f"{fname} mounts the Docker socket into {sname!r}",
                    detail="Access to the Docker socket is root on the host.",
                    hint="Remove the mount, or use a socket proxy that allows only what is needed.",
                    service=sname, file=file, line=loc.line if loc else None,
                    column=loc.column if loc else None))
    return out
