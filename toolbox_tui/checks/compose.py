"""Ask Compose itself (`docker compose config --format json`) and explain its verdict.

Compose is the authority: when it resolves a path differently from our model, Compose's path is
used for the path checks and the disagreement is kept for `--debug`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolbox_tui.engine import compose_cli
from toolbox_tui.compose.model import Stack
from toolbox_tui.findings import FAIL, PASS, SKIP, Check
from toolbox_tui.checks.paths import ref_id
from toolbox_tui.sanitize import plain_text as _plain
from toolbox_tui.compose.yaml_source import loc_of


@dataclass
class ComposeVerdict:
    checks: list[Check]
    paths: dict[str, Path] = field(default_factory=dict)
    """check id -> path as Compose resolved it."""
    disagreements: list[str] = field(default_factory=list)
    config: dict[str, Any] | None = None


def _service_loc(stack: Stack, service: str, key: str | None = None):
    svcs = stack.model.get("services") or {}
    svc = svcs.get(service)
    if svc is not None and key and hasattr(svc, "key_loc") and key in svc:
        return svc.key_loc(key)
    return svcs.key_loc(service) if hasattr(svcs, "key_loc") and service in svcs else None


def _dotted_loc(stack: Stack, parts: list[str]):
    """(deepest known location, service) of `services.web.ports.0` in the merged model."""
    node: Any = stack.model
    loc, service = None, (parts[1] if len(parts) > 1 else None)
    for part in parts:
        if isinstance(node, dict) and part in node:
            loc = (node.key_loc(part) if hasattr(node, "key_loc") else None) or loc
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            loc = (node.item_loc(int(part)) if hasattr(node, "item_loc") else None) or loc
            node = node[int(part)]
        else:
            break
    return loc, service


def _value_loc(node: Any, text: str, service: str | None, depth: int = 0):
    """Where a scalar containing `text` (the value Compose quotes) is written; first match."""
    if depth > 8:
        return None, None
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        svc = service if service is not None or depth > 0 else str(k)
        if isinstance(v, (dict, list)):
            loc, found = _value_loc(v, text, svc, depth + 1)
            if loc is not None:
                return loc, found
        elif isinstance(v, str) and text in v and loc_of(v) is not None:
            return loc_of(v), svc
    return None, None


def ex_plain(stack: Stack, message: str) -> Check:
    """Turn a Compose error into a check with a location and a next step."""
    msg = _plain(message)
    loc, service, title, hint = None, None, f"docker compose rejects the project: {msg.splitlines()[0][:200]}", \
        "Fix the file at the location shown, then re-run the doctor."
    m = re.search(r"can't set container_name and (\S+) as container name must be unique", msg)
    if m:
        service = m.group(1)
        loc = _service_loc(stack, service, "container_name")
        title = f"service {service!r} sets container_name and deploy.replicas > 1"
        hint = "A container name must be unique: remove container_name or set replicas to 1."
    elif (m := re.search(r'service "?([\w.-]+)"? depends on undefined service "?([\w.-]+)', msg)):
        service = m.group(1)
        loc = _service_loc(stack, service, "depends_on")
        title = f"service {service!r} depends on {m.group(2)!r}, which is not defined (or not enabled)"
        hint = "Fix the name under depends_on, or enable the profile that defines it."
    elif (m := re.search(r"env file (\S+) not found", msg)):
        for ref in stack.path_refs():
            if ref.kind == "env_file" and str(ref.path) == m.group(1):
                loc, service = ref.loc, ref.service
        title = f"env_file {m.group(1)} does not exist, so Compose cannot load the project"
        hint = "Create the file, mark it `required: false`, or run `toolbox-tui fix`."
    elif (m := re.search(r"\b(services(?:\.[\w-]+)+)", msg)):
        parts = m.group(1).split(".")
        extra = re.search(r"additional propert(?:y|ies) '?([\w.-]+)'? (?:is )?not allowed", msg, re.I)
        loc, service = _dotted_loc(stack, parts + ([extra.group(1)] if extra else []))
    if loc is None and (m := re.search(r":\s*([^\s:'\"]+)\s*$", msg.splitlines()[0])):
        loc, service = _value_loc(stack.model.get("services") or {}, m.group(1), None)
    if loc is None:
        hint = ("Compose did not say where: run `docker compose config` in the project directory "
                "for its full message, fix that setting, then re-run the doctor.")
    elif hint.startswith("Fix the file at the location shown"):
        hint = f"Fix {os.path.basename(loc.file)} line {loc.line}, then re-run the doctor."
    return Check(id="compose.config", area="compose", severity="error", status=FAIL, title=title,
                 detail=msg, hint=hint, service=service,
                 file=loc.file if loc else (str(stack.files[0]) if stack.files else None),
                 line=loc.line if loc else None, column=loc.column if loc else None)


def compose_verdict(stack: Stack) -> ComposeVerdict:
    try:
        cfg = compose_cli.config_json(stack.compose_args())
    except compose_cli.ComposeNotInstalled as exc:
        return ComposeVerdict([Check(id="compose.config", area="compose", severity="info",
                                     status=SKIP, title="Compose v2 not available: not cross-checked",
                                     detail=str(exc), hint="Install the Docker Compose v2 plugin.")])
    except compose_cli.ComposeError as exc:
        return ComposeVerdict([ex_plain(stack, str(exc))])
    verdict = ComposeVerdict([], config=cfg)
    _crosscheck(stack, cfg, verdict)
    verdict.checks.append(Check(
        id="compose.config", area="compose", severity="info", status=PASS,
        title=f"docker compose accepts the project ({len(cfg.get('services') or {})} services)",
        detail=("Compose resolved some paths differently; Compose's are used: "
                + "; ".join(verdict.disagreements)) if verdict.disagreements else "",
        data=(("disagreements", tuple(verdict.disagreements)),)))
    return verdict


def _crosscheck(stack: Stack, cfg: dict[str, Any], verdict: ComposeVerdict) -> None:
    services = cfg.get("services") or {}
    for ref in stack.path_refs():
        theirs: str | None = None
        svc = services.get(ref.service or "") or {}
        if ref.kind == "bind":
            for v in svc.get("volumes") or ():
                if v.get("type") == "bind" and v.get("target") == ref.target:
                    theirs = v.get("source")
        elif ref.kind == "build_context":
            theirs = (svc.get("build") or {}).get("context")
        elif ref.kind in ("secret_file", "config_file"):
            sect = cfg.get("secrets" if ref.kind == "secret_file" else "configs") or {}
            theirs = (sect.get(ref.name or "") or {}).get("file")
        if theirs and "://" not in theirs and Path(theirs) != ref.path:
            verdict.paths[ref_id(ref)] = Path(theirs)
            verdict.disagreements.append(f"{ref_id(ref)}: ours {ref.path}, Compose {theirs}")
