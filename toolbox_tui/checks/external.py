"""External volumes, networks and configs: `docker compose config` accepts them, `up` does not
when they do not exist on the engine (`external volume "x" not found`, `network x declared as
external, but could not be found`). External configs are refused by `docker compose up` like
external secrets (only `docker stack deploy` reads them)."""

from __future__ import annotations

from typing import Any

from toolbox_tui.compose.model import Stack
from toolbox_tui.findings import FAIL, PASS, SKIP, Check


def _used(cfg: dict[str, Any], section: str) -> dict[str, set[str]]:
    """Resource key -> services using it, from Compose's normalised config."""
    out: dict[str, set[str]] = {}
    for sname, svc in (cfg.get("services") or {}).items():
        if section == "volumes":
            keys = [v.get("source") for v in svc.get("volumes") or () if v.get("type") == "volume"]
        elif section == "networks":
            keys = list((svc.get("networks") or {}).keys())
        else:
            keys = [c.get("source") for c in svc.get("configs") or ()]
        for k in keys:
            if k:
                out.setdefault(k, set()).add(sname)
    return out


def _loc(stack: Stack, section: str, key: str) -> dict[str, Any]:
    defs = stack.model.get(section) or {}
    loc = defs.key_loc(key) if hasattr(defs, "key_loc") and key in defs else None
    return dict(file=loc.file if loc else None, line=loc.line if loc else None,
                column=loc.column if loc else None)


def external_checks(stack: Stack, cfg: dict[str, Any] | None, *, client: Any = None,
                    engine: bool = True) -> list[Check]:
    """`engine` False (`--no-engine`) or no client: one skipped check naming what was not asked."""
    if not cfg:
        return []
    out: list[Check] = []
    unchecked: list[str] = []
    for section, kind in (("volumes", "volume"), ("networks", "network"), ("configs", "config")):
        used = _used(cfg, section)
        for key, d in (cfg.get(section) or {}).items():
            if not isinstance(d, dict) or not d.get("external") or key not in used:
                continue
            name = str(d.get("name") or key)
            users = ", ".join(sorted(used[key]))
            cid = f"compose.external.{kind}.{key}"
            where = _loc(stack, section, key)
            if kind == "config":
                out.append(Check(id=cid, area="compose", severity="error", status=FAIL,
                                 title=f"external config {key!r} (used by {users}) cannot be used by "
                                       "`docker compose up`",
                                 detail="Compose refuses external configs at container create, like "
                                        "external secrets; only `docker stack deploy` reads them.",
                                 hint=f"Give config {key!r} a `file:` in an override "
                                      "(`external: false`, `file: ./path`), then re-run the doctor.",
                                 **where))
                continue
            if not engine or client is None:
                unchecked.append(f"{kind} {name}")
                continue
            exists = _exists(client, kind, name)
            if exists is None:
                unchecked.append(f"{kind} {name}")
            elif exists:
                out.append(Check(id=cid, area="compose", severity="info", status=PASS,
                                 title=f"external {kind} {name!r} exists on the engine", **where))
            else:
                create = (f"docker volume create {name}" if kind == "volume"
                          else f"docker network create {name}")
                out.append(Check(id=cid, area="compose", severity="error", status=FAIL,
                                 title=f"external {kind} {name!r} (used by {users}) does not exist "
                                       "on the engine",
                                 detail=f"`docker compose up` stops with: external {kind} "
                                        f"{name!r} not found.",
                                 hint=f"Create it (`{create}`) if the project's README says so, or "
                                      f"drop `external: true` to let Compose create it.",
                                 data=(("kind", kind), ("name", name)), **where))
    if unchecked:
        out.append(Check(id="compose.external", area="compose", severity="info", status=SKIP,
                         title=f"{len(unchecked)} external resource(s) not checked on the engine",
                         detail="Not checked: " + ", ".join(unchecked) + (
                             " (--no-engine)." if not engine else " (the engine did not answer)."),
                         hint="Run `toolbox-tui doctor` with the engine: `up` fails if one is missing.",
                         data=(("unchecked", tuple(unchecked)),)))
    return out


def _exists(client: Any, kind: str, name: str) -> bool | None:
    """Whether the engine has it; None when it could not be asked."""
    import docker.errors

    try:
        if kind == "volume":
            client.volumes.get(name)
            return True
        return any(n.name == name for n in client.networks.list(names=[name]))
    except docker.errors.NotFound:
        return False
    except Exception:  # engine gone, API error: say it was not checked
        return None
