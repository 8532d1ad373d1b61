"""Production checklist run by `up --mode prod` before anything starts.

Checks the merged production model, service by service:

* no secrets in `environment:` (a secret-looking variable with a literal value; `*_FILE`
  pointers and `${VAR}` left for the runtime are fine) — names only, never values;
* non-root users (`user:` set and not root; unset is a warning unless the local image says root);
* read-only root filesystems where declared (a service declared `read_only: true` anywhere in
  the file set must not end up writable) and a warning for the others;
* resource limits (a memory limit via `deploy.resources.limits.memory` or `mem_limit`);
* no ports published on all interfaces unless declared public (service label
  `toolbox-tui.public: "true"` or extension `x-toolbox-tui-public: true`).

Failures make `up` refuse to start unless `--force`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable

from toolbox_tui.findings import FAIL, PASS, WARN, Check
from toolbox_tui.secret_names import holds_secret

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack

AREA = "prod"
_ROOT = {"root", "0", "0:0", "root:root"}


def _loc(value: Any) -> tuple[str | None, int | None, int | None]:
    loc = value if hasattr(value, "line") and hasattr(value, "file") else getattr(value, "loc", None)
    if loc is None:
        return None, None, None
    return loc.file, loc.line, loc.column


def _check(id: str, status: str, title: str, *, service: str, hint: str = "", detail: str = "",
           at: Any = None) -> Check:
    f, ln, col = _loc(at)
    sev = "error" if status == FAIL else ("warning" if status == WARN else "info")
    return Check(id=id, area=AREA, severity=sev, status=status, title=title, detail=detail, hint=hint,
                 file=f, line=ln, column=col, service=service)


def _env_items(env: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(env, dict):
        yield from ((str(k), v) for k, v in env.items())
    elif isinstance(env, list):
        for item in env:
            k, sep, v = str(item).partition("=")
            yield k, (v if sep else None)


def _declared_read_only(stack: Stack, service: str) -> bool:
    """True when any file of the set says `read_only: true` for the service."""
    from toolbox_tui.compose.yaml_source import load_yaml

    for f in stack.files:
        try:
            doc = load_yaml(f)
        except Exception:  # noqa: BLE001 - unreadable files are the doctor's business
            continue
        svc = ((doc or {}).get("services") or {}).get(service) if isinstance(doc, dict) else None
        if isinstance(svc, dict) and svc.get("read_only") is True:
            return True
    return False


def _image_user(client: Any, image: str | None) -> str | None:
    if client is None or not image:
        return None
    try:
        return str((client.images.get(image).attrs.get("Config") or {}).get("User") or "")
    except Exception:  # noqa: BLE001 - not local: unknown
        return None


def _is_public(data: Any) -> bool:
    labels = data.get("labels") or {}
    if isinstance(labels, list):
        labels = dict(str(x).partition("=")[::2] for x in labels)
    return str(labels.get("toolbox-tui.public", "")).lower() == "true" or \
        data.get("x-toolbox-tui-public") is True


def prod_checklist(stack: Stack, *, client: Any = None) -> list[Check]:
    """Every production check for every enabled service."""
    out: list[Check] = []
    for name, svc in stack.services.items():
        data = getattr(svc, "data", None) or {}
        # secrets in environment
        leaked = []
        env = data.get("environment")
        for key, value in _env_items(env):
            if value not in (None, "") and holds_secret(key, str(value)):
                leaked.append(key)
        if leaked:
            out.append(_check(f"prod.env_secrets.{name}", FAIL,
                              f"{name}: secret-looking variables with literal values in environment: "
                              f"{', '.join(sorted(leaked))}", service=name, at=env,
                              hint="move them to `secrets:` and read /run/secrets/NAME (or a *_FILE "
                                   "variable); `toolbox-tui secrets` manages the values"))
        else:
            out.append(_check(f"prod.env_secrets.{name}", PASS, f"{name}: no secrets in environment",
                              service=name))
        # user
        user = data.get("user")
        if user is not None and str(user).strip() in _ROOT:
            out.append(_check(f"prod.user.{name}", FAIL, f"{name}: runs as root (user: {user})",
                              service=name, at=user,
                              hint="set `user:` to an unprivileged uid:gid (e.g. \"65534:65534\")"))
        elif user is None:
            img_user = _image_user(client, getattr(svc, "image", None))
            if img_user is not None and img_user.split(":")[0] in ("", "root", "0"):
                out.append(_check(f"prod.user.{name}", FAIL,
                                  f"{name}: no `user:` and image {svc.image} runs as root",
                                  service=name, hint="set `user:` to an unprivileged uid:gid"))
            else:
                out.append(_check(f"prod.user.{name}", WARN,
                                  f"{name}: no `user:`; the image's default user applies",
                                  service=name, hint="set `user:` explicitly to a non-root uid:gid"))
        else:
            out.append(_check(f"prod.user.{name}", PASS, f"{name}: runs as {user}", service=name))
        # read-only root
        ro = data.get("read_only")
        if ro is True:
            out.append(_check(f"prod.read_only.{name}", PASS, f"{name}: read-only root filesystem",
                              service=name))
        elif _declared_read_only(stack, name):
            out.append(_check(f"prod.read_only.{name}", FAIL,
                              f"{name}: declared `read_only: true` but an override makes it writable",
                              service=name, at=ro,
                              hint="remove `read_only: false` from the override used in prod"))
        else:
            out.append(_check(f"prod.read_only.{name}", WARN, f"{name}: root filesystem is writable",
                              service=name, hint="add `read_only: true` and tmpfs for scratch dirs"))
        # limits
        deploy = data.get("deploy") or {}
        limits = ((deploy.get("resources") or {}).get("limits") or {}) if isinstance(deploy, dict) else {}
        if limits.get("memory") or data.get("mem_limit"):
            out.append(_check(f"prod.limits.{name}", PASS, f"{name}: memory limit set", service=name))
        else:
            out.append(_check(f"prod.limits.{name}", FAIL, f"{name}: no memory limit", service=name,
                              at=getattr(svc, "loc", None),
                              hint="set deploy.resources.limits.memory (and cpus) in the prod file"))
        # ports
        for i, p in enumerate(getattr(svc, "ports", ()) or ()):
            ip = str(getattr(p, "host_ip", "") or "")
            if ip in ("", "0.0.0.0", "::", "[::]") and not _is_public(data):
                out.append(_check(f"prod.ports.{name}.{i}", FAIL,
                                  f"{name}: port {p.published} is published on all interfaces",
                                  service=name, at=getattr(p, "loc", None),
                                  hint=(f"bind it to 127.0.0.1 (\"127.0.0.1:{p.published}:{p.target}\") "
                                        f"behind a proxy, or declare it public with the label "
                                        f"toolbox-tui.public: \"true\"")))
            else:
                out.append(_check(f"prod.ports.{name}.{i}", PASS,
                                  f"{name}: port {p.published} on {ip or 'all interfaces'}",
                                  service=name))
    return out
