"""Port prerequisite checks: one `prereq.port.<port>/<proto>` per host port the stack publishes.

A port fails when something other than this stack's own container holds it (the check names the
holder: pid and command, or container and compose project/service, via `port_owners`), or when
the stack itself publishes the same host port twice on colliding addresses. Each check carries the
compose file:line and service of the publication.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

from toolbox_tui.findings import FAIL, PASS, SKIP, WARN, Check
from toolbox_tui.engine.port_owners import ContainerPort, PortOwner, addresses_conflict, port_owner

if TYPE_CHECKING:
    from toolbox_tui.compose.model import ComposeProject

_SEVERITY = {FAIL: "error", WARN: "warning", PASS: "info", SKIP: "info"}
"""A prereq check's severity follows its status."""


def prereq_check(id: str, status: str, title: str, detail: str = "", hint: str = "",
                 **kw: Any) -> Check:
    """A `Check` in area prereq; `data=` may be a dict (stored as sorted pairs)."""
    data = kw.pop("data", None)
    return Check(id=id, area="prereq", severity=_SEVERITY[status], status=status, title=title,
                 detail=detail, hint=hint, data=tuple(sorted(data.items())) if data else (), **kw)


_check = prereq_check


def guarded(check_id: str, build: Callable[[], Check]) -> Check:
    """`build()`, or a failing check with the error when it raises."""
    try:
        return build()
    except Exception as exc:  # one broken check must not take the report down
        return _check(check_id, FAIL, f"{check_id}: internal error while checking",
                      f"{type(exc).__name__}: {exc}", "rerun with --debug and report this")


def _loc_fields(ref: Any) -> dict[str, Any]:
    loc = getattr(ref, "loc", None)
    out: dict[str, Any] = {}
    if loc is not None:
        if getattr(loc, "file", None):
            out["file"] = str(loc.file)
        if getattr(loc, "line", None):
            out["line"] = int(loc.line)
        if getattr(loc, "column", None):
            out["column"] = int(loc.column)
    return out


def _owner_data(owner: PortOwner | None) -> dict[str, Any]:
    if owner is None:
        return {}
    keys = ("kind", "bound_ip", "pid", "command", "cmdline", "user", "container", "container_id",
            "project", "service")
    return {f"holder_{k}": getattr(owner, k) for k in keys if getattr(owner, k) is not None}


def port_checks(stack: ComposeProject, *, containers: Sequence[ContainerPort] | None = None,
                client: Any = None) -> list[Check]:
    """Checks for `stack.published_ports()`. `containers`/`client` let holders be named as
    containers (and this stack's own running containers pass); both may be None."""
    refs = list(stack.published_ports())
    groups: dict[tuple[int, str], list[Any]] = {}
    for ref in refs:
        try:
            port = int(ref.published)
        except (TypeError, ValueError):
            continue
        if port <= 0:
            continue
        proto = str(getattr(ref, "protocol", None) or "tcp").lower()
        groups.setdefault((port, proto), []).append(ref)
    project = stack.name

    def one(key: tuple[int, str], group: list[Any]) -> Check:
        port, proto = key
        ref = group[0]
        twice = _published_twice(group)
        if twice:
            kw = {**_loc_fields(twice[1]), "service": getattr(twice[1], "service", None)}
            first, second = (_ref_text(r) for r in twice)
            a, b = twice
            if getattr(a, "service", None) == getattr(b, "service", None):
                # one service, two files: Compose appends `ports` of later files (identical
                # mappings are merged, so these differ) and the one container cannot start
                return _check(
                    f"prereq.port.{port}/{proto}", FAIL,
                    f"Port {port}/{proto} is published twice by service {a.service}",
                    f"{first} and {second} both publish host port {port}: Compose appends the "
                    "`ports` of later files, so the one container asks for it twice and cannot "
                    "start (port is already allocated)",
                    "to replace the earlier file's ports, write `ports: !override` in the later "
                    "file (Compose >= 2.24)", data={"port": port, "proto": proto}, **kw)
            return _check(f"prereq.port.{port}/{proto}", FAIL, f"Port {port}/{proto} is published twice",
                          f"host port {port}/{proto} is published by {first} and again by {second}; "
                          "the second container cannot start (port is already allocated)",
                          "give one of them another host port, or bind them to different addresses",
                          data={"port": port, "proto": proto}, **kw)
        cid = f"prereq.port.{port}/{proto}"
        host_ip = str(getattr(ref, "host_ip", None) or "0.0.0.0")
        service = getattr(ref, "service", None)
        kw = {**_loc_fields(ref), "service": service}
        try:
            owner = port_owner(port, proto, host_ip, containers=containers, client=client)
        except Exception as exc:
            return _check(cid, FAIL, f"Port {port}/{proto}: could not check",
                          f"checking {host_ip}:{port}/{proto} failed: {exc}", **kw)
        data = {"port": port, "proto": proto, "host_ip": host_ip, **_owner_data(owner)}
        where = f" ({ref_where})" if (ref_where := _where(kw)) else ""
        if owner is None:
            return _check(cid, PASS, f"Port {port}/{proto} is free",
                          f"{host_ip}:{port}/{proto} for service {service} is free", data=data, **kw)
        if owner.kind == "container" and project and owner.project == project:
            return _check(cid, PASS, f"Port {port}/{proto} is held by this stack",
                          f"held by this stack's running service {owner.service or owner.container}",
                          data=data, **kw)
        if owner.kind == "container":
            stop = f"docker stop {owner.container}"
            if owner.project:
                stop += f" (or `docker compose -p {owner.project} down`)"
            hint = f"stop it: {stop}, or change the published port{where}"
        elif owner.kind == "process":
            hint = f"stop pid {owner.pid} ({owner.command}), or change the published port{where}"
        else:
            hint = (f"find the holder with `sudo ss -ltnup 'sport = :{port}'` (or `sudo lsof -i "
                    f":{port}`), stop it, or change the published port{where}")
        return _check(cid, FAIL, f"Port {port}/{proto} is in use",
                      f"{host_ip}:{port}/{proto} for service {service} is {owner.describe()}",
                      hint, data=data, **kw)

    out = []
    for key, group in groups.items():
        out.append(guarded(f"prereq.port.{key[0]}/{key[1]}", lambda k=key, g=group: one(k, g)))
    return out


def _published_twice(group: list[Any]) -> tuple[Any, Any] | None:
    """Two publications of one host port by this stack whose addresses collide."""
    for i, a in enumerate(group):
        for b in group[i + 1:]:
            same = (getattr(a, "service", None) == getattr(b, "service", None)
                    and getattr(a, "loc", None) == getattr(b, "loc", None))
            if not same and addresses_conflict(str(getattr(a, "host_ip", "") or ""),
                                               str(getattr(b, "host_ip", "") or "")):
                return a, b
    return None


def _ref_text(ref: Any) -> str:
    where = _where(_loc_fields(ref))
    return f"service {getattr(ref, 'service', '?')}" + (f" ({where})" if where else "")


def _where(kw: dict[str, Any]) -> str:
    if not kw.get("file"):
        return ""
    return f"{kw['file']}:{kw['line']}" if kw.get("line") else str(kw["file"])
