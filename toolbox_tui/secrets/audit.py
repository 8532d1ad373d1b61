"""Where secret values leaked to: container environments, image history, compose files, env files
tracked by git; and dev overrides that try to drop `secrets:`.

Known values (the store's, derived ones, `<name>@previous`) are compared, never reported: a
finding names the secret, the place and the line, not the value. Values shorter than
`MIN_MATCH` characters are not searched for (too many false positives).

`secrets: []` in an override does NOT remove the base file's secrets: Compose merges sequences
(verified on Compose 2.40.3: the merged service still lists them). Only `secrets: !reset []` does.
The audit says which one a file does.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolbox_tui import safe_read
from toolbox_tui.secrets import kinds as sk
from toolbox_tui.findings import FAIL, PASS, SKIP, WARN, Check
from toolbox_tui.secrets.inventory import base_stack, build_inventory, resolve
from toolbox_tui.secrets.store import PREVIOUS_SUFFIX
from toolbox_tui.engine.containers import SERVICE_LABEL, project_filter

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack

MIN_MATCH = 6
TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".tmpl", ".defaults")


def _check(id_: str, status: str, title: str, **kw: Any) -> Check:
    sev = {FAIL: "error", WARN: "warning"}.get(status, "info")
    data = kw.pop("data", {})
    return Check(id=id_, area="secrets", severity=sev, status=status, title=title,
                 data=tuple(sorted(data.items())), **kw)


def known_values(stack: Stack, store: Any) -> dict[str, str]:
    """secret name -> value, for every value toolbox-tui knows (never leaves this module).

    A value the compose files write themselves (status 'compose': `SESSION_SECRET: literal`) is
    not one toolbox-tui holds: finding it in that variable is the WARN for a secret-like variable
    with a value, not a leak of a kept secret."""
    entries = build_inventory(stack)
    values, status = resolve(stack, entries, store, mode="prod", placeholders=False)
    out = {}
    for e in entries:
        v = values.get(e.name)
        given = status.get(e.name)
        if given is not None and given.store in ("compose", "compose-placeholder"):
            continue
        if v and v != sk.PLACEHOLDER and len(v) >= MIN_MATCH:
            out[e.name] = v
        if e.stored:
            prev = store.get(e.name + PREVIOUS_SUFFIX)
            if prev and len(prev) >= MIN_MATCH:
                out[e.name + PREVIOUS_SUFFIX] = prev
    return out


def _hits(text: str, values: dict[str, str]) -> list[str]:
    """Names of the secrets whose (non-empty) value occurs in `text`."""
    return sorted(n for n, v in values.items() if v and v in text)


def _line_of(text: str, value: str) -> int:
    return text.count("\n", 0, text.find(value)) + 1


# --- containers and images --------------------------------------------------------------------

def container_checks(stack: Stack, values: dict[str, str], client: Any) -> list[Check]:
    out: list[Check] = []
    containers = client.containers.list(all=True, filters={"label": project_filter(stack.name)})
    for c in containers:
        svc = c.labels.get(SERVICE_LABEL, c.name)
        env = (c.attrs.get("Config") or {}).get("Env") or []
        for item in env:
            var, _, val = item.partition("=")
            leaked = _hits(val, values)
            if leaked:
                out.append(_check(f"secrets.audit.container_env.{svc}.{var}", FAIL,
                                  f"container {c.name} has the value of {', '.join(leaked)} in its "
                                  f"environment variable {var}",
                                  service=svc,
                                  hint="pass it as a compose secret (/run/secrets/NAME or a *_FILE "
                                       "variable) instead of an environment variable",
                                  data={"container": c.name, "variable": var, "secrets": leaked}))
            elif sk.is_secret_like(var) and val and val != sk.PLACEHOLDER:
                out.append(_check(f"secrets.audit.container_env.{svc}.{var}", WARN,
                                  f"container {c.name} has a secret-like environment variable {var} "
                                  f"with a value", service=svc,
                                  hint="environment variables show up in `docker inspect`; prefer a "
                                       "compose secret",
                                  data={"container": c.name, "variable": var}))
    if not out:
        out.append(_check("secrets.audit.container_env", PASS,
                          f"no known secret value in the environment of {len(containers)} container(s)"))
    return out


def image_checks(stack: Stack, values: dict[str, str], client: Any) -> list[Check]:
    import docker.errors

    out: list[Check] = []
    seen = set()
    for name, svc in stack.services.items():
        if not svc.image or svc.image in seen:
            continue
        seen.add(svc.image)
        try:
            image = client.images.get(svc.image)
        except docker.errors.ImageNotFound:
            continue
        text = "\n".join(str(h.get("CreatedBy") or "") for h in image.history())
        text += "\n" + "\n".join((image.attrs.get("Config") or {}).get("Env") or [])
        text += "\n" + "\n".join(f"{k}={v}" for k, v in ((image.attrs.get("Config") or {}).get("Labels") or {}).items())
        leaked = _hits(text, values)
        if leaked:
            out.append(_check(f"secrets.audit.image.{name}", FAIL,
                              f"image {svc.image} (service {name}) has the value of "
                              f"{', '.join(leaked)} in its history, env or labels",
                              service=name,
                              hint="rebuild without passing the secret as ARG/ENV (use a BuildKit "
                                   "secret mount), and rotate the secret: the image already leaked it",
                              data={"image": svc.image, "secrets": leaked}))
    if not out:
        out.append(_check("secrets.audit.image", PASS,
                          f"no known secret value in the history of {len(seen)} image(s)"))
    return out


# --- files ------------------------------------------------------------------------------------

def compose_file_checks(stack: Stack, values: dict[str, str]) -> list[Check]:
    out: list[Check] = []
    files = [f for f in stack.files if f != stack.secrets_override]
    for f in files:
        try:
            text = safe_read.read_text(f, safe_read.COMPOSE)
        except safe_read.ReadRefused:
            continue
        for n in _hits(text, values):
            line = _line_of(text, values[n])
            out.append(_check(f"secrets.audit.compose_file.{n}", FAIL,
                              f"{f}:{line} contains the value of {n}", file=str(f), line=line,
                              hint=f"replace it with a reference (a `secrets:` entry or ${{VAR}}) and "
                                   f"rotate {n}: the file may have been shared",
                              data={"secret": n}))
    if not out:
        out.append(_check("secrets.audit.compose_file", PASS,
                          f"no known secret value in {len(files)} compose file(s)"))
    return out


def _git_root(start: Path) -> Path | None:
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return None


def tracked_env_files(root: Path) -> list[Path]:
    """Env files (`.env`, `.env.*`, `*.env`) git tracks under `root`."""
    try:
        proc = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True,
                              timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if proc.returncode != 0:
        return []
    out = []
    for rel in proc.stdout.decode("utf-8", "replace").split("\0"):
        base = rel.rsplit("/", 1)[-1]
        if base == ".env" or base.startswith(".env.") or base.endswith(".env"):
            out.append(root / rel)
    return out


def env_file_checks(stack: Stack, values: dict[str, str]) -> list[Check]:
    from dotenv import dotenv_values

    root = _git_root(Path(stack.project_dir))
    if root is None:
        return [_check("secrets.audit.git_env", SKIP, "not a git checkout: tracked env files not checked")]
    out: list[Check] = []
    files = tracked_env_files(root)
    for f in files:
        try:
            text = safe_read.read_text(f, safe_read.ENV)
        except safe_read.ReadRefused:
            continue
        rel = f.relative_to(root)
        for n in _hits(text, values):
            line = _line_of(text, values[n])
            out.append(_check(f"secrets.audit.git_env.{rel}.{n}", FAIL,
                              f"{rel}:{line} is tracked by git and contains the value of {n}",
                              file=str(f), line=line,
                              hint=f"remove the value, `git rm --cached` real env files, and rotate {n}: "
                                   f"it is in the repository history",
                              data={"secret": n}))
        if f.name.endswith(TEMPLATE_SUFFIXES):
            continue
        filled = [k for k, v in dotenv_values(f).items()
                  if k and v and sk.is_secret_like(k) and v != sk.PLACEHOLDER and not _looks_fake(v)]
        if filled:
            out.append(_check(f"secrets.audit.git_env.{rel}", WARN,
                              f"{rel} is tracked by git and sets secret-like variables: "
                              f"{', '.join(filled[:8])}{' ...' if len(filled) > 8 else ''}",
                              file=str(f), hint="add it to .gitignore and commit a template "
                                                "(`.env.example`) without values instead",
                              data={"variables": filled}))
    if not out:
        out.append(_check("secrets.audit.git_env", PASS,
                          f"{len(files)} git-tracked env file(s) hold no known secret value"))
    return out


_FAKE = re.compile(r"^(changeme|change-me|change_me|xxx+|your[-_].*|<.*>|\$\{.*\}|example.*|test|dummy|"
                   r"placeholder|todo|none|null|secret|password)$", re.I)


def _looks_fake(value: str) -> bool:
    return bool(_FAKE.match(value.strip()))


def override_checks(stack: Stack) -> list[Check]:
    """Overrides (every file after the first) whose services set `secrets: []` or `!reset []`."""
    from toolbox_tui.compose.yaml_source import LList, LoadError, load_yaml

    base = base_stack(stack)
    out: list[Check] = []
    for f in base.files[1:]:
        try:
            doc = load_yaml(Path(f))
        except LoadError:
            continue
        services = doc.get("services") if isinstance(doc, dict) else None
        for svc_name, svc in (services or {}).items():
            if not isinstance(svc, dict) or "secrets" not in svc:
                continue
            value = svc["secrets"]
            if not isinstance(value, LList) or len(value) != 0:
                continue
            loc = svc.key_loc("secrets")
            merged = base.services.get(svc_name)
            still = list(merged.secrets) if merged else []
            if getattr(value, "reset", False):
                out.append(_check(f"overrides.secrets_reset.{svc_name}", WARN,
                                  f"{Path(f).name} removes every secret from {svc_name} "
                                  f"(`secrets: !reset []`)", file=str(f),
                                  line=loc.line if loc else None, column=loc.column if loc else None,
                                  service=svc_name,
                                  detail="the service then runs without /run/secrets; its passwords "
                                         "usually come from plain environment variables instead",
                                  hint="keep the secrets in dev too: `toolbox-tui secrets materialize` "
                                       "provides them as files without swarm",
                                  data={"reset": True}))
            else:
                out.append(_check(f"overrides.secrets_empty.{svc_name}", WARN,
                                  f"{Path(f).name} sets `secrets: []` for {svc_name}, which does NOT "
                                  f"remove the base file's secrets",
                                  file=str(f), line=loc.line if loc else None,
                                  column=loc.column if loc else None, service=svc_name,
                                  detail=("Compose merges sequences, so the service still mounts: "
                                          + (", ".join(still) or "nothing")),
                                  hint="drop the line (and let toolbox-tui materialize the secrets), "
                                       "or write `secrets: !reset []` if removing them is really meant",
                                  data={"reset": False, "still_mounted": still}))
    if not out:
        out.append(_check("overrides.secrets_empty", PASS, "no override empties `secrets:`"))
    return out


def audit(stack: Stack, store: Any, *, engine: bool = True, client: Any = None) -> list[Check]:
    """All audit checks. Engine checks are skipped (status skip) when no engine answers."""
    values = known_values(stack, store)
    checks: list[Check] = []
    checks += compose_file_checks(stack, values)
    checks += env_file_checks(stack, values)
    checks += override_checks(stack)
    if engine:
        if client is None:
            try:
                from toolbox_tui.engine.client import connect

                client = connect()
            except Exception as exc:  # noqa: BLE001 - EngineUnavailable and friends
                checks.append(_check("secrets.audit.engine", SKIP,
                                     f"containers and images not checked: {exc}"))
                return checks
        checks += container_checks(stack, values, client)
        checks += image_checks(stack, values, client)
    return checks
