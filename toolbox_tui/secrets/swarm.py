"""Secrets for a swarm: engine secrets created from the store's values (versioned names, labelled
with an HMAC of the value so an unchanged value is reused, never edited in place).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from toolbox_tui.errors import EXIT_FAIL, ToolboxError
from toolbox_tui.secrets.inventory import SecretEntry

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack


LABEL_PROJECT, LABEL_SECRET, LABEL_HASH = "toolbox-tui.project", "toolbox-tui.secret", "toolbox-tui.sha256"



class SwarmUnavailable(ToolboxError):
    """`--target swarm` without an active swarm manager. User-facing."""

    exit_code = EXIT_FAIL

    def __init__(self) -> None:
        super().__init__("the Docker engine is not an active swarm manager")
        self.hint = ("use `--target compose` (files, the default for development) or run "
                     "`docker swarm init` first")

def swarm_active(client: Any) -> bool:
    """True when the engine is an active swarm manager (secrets can be created)."""
    try:
        info = client.info().get("Swarm") or {}
    except Exception:  # noqa: BLE001
        return False
    return info.get("LocalNodeState") == "active" and bool(info.get("ControlAvailable"))

def ensure_swarm_secret(client: Any, store: Any, project: str, name: str, value: str,
                        base_name: str | None = None) -> tuple[str, str]:
    """Create (or reuse) the engine secret holding `value`; returns (engine name, created|reused)."""
    from toolbox_tui.secrets.store import content_hash

    digest = content_hash(store, value)
    base = base_name or name
    existing = client.secrets.list(filters={"label": f"{LABEL_SECRET}={name}"})
    ours = [s for s in existing if (s.attrs.get("Spec", {}).get("Labels") or {}).get(LABEL_PROJECT) == project]
    for s in ours:
        if (s.attrs["Spec"].get("Labels") or {}).get(LABEL_HASH) == digest:
            return s.name, "reused"
    taken = {s.name for s in client.secrets.list(filters={"name": base})}
    version = 1
    pattern = re.compile(re.escape(base) + r"(?:_v(\d+))?$")
    for t in taken:
        m = pattern.fullmatch(t)
        if m:
            version = max(version, int(m.group(1) or 1) + 1)
    engine_name = base if version == 1 else f"{base}_v{version}"
    client.secrets.create(name=engine_name, data=value.encode("utf-8"),
                          labels={LABEL_PROJECT: project, LABEL_SECRET: name, LABEL_HASH: digest})
    return engine_name, "created"

def _swarm_create(stack: Stack, store: Any, need: list[SecretEntry], values: dict[str, str],
                  client: Any) -> list[tuple[str, str, str]]:
    if client is None:
        from toolbox_tui.engine.client import connect

        client = connect()
    if not swarm_active(client):
        raise SwarmUnavailable()
    out = []
    for e in need:
        engine_name, what = ensure_swarm_secret(client, store, stack.name, e.name, values[e.name],
                                                e.external_name or e.name)
        out.append((e.name, engine_name, what))
    return out
