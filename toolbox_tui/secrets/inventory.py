"""Every secret a stack needs, where it comes from, what kind it is, and whether it has a value.

Sources, merged by name (case-insensitive, so `db_password` and `DB_PASSWORD` are one entry):
top-level `secrets:` of the merged model (`stack.secrets`), service environment variables with
secret-like names, secret-like keys of the manifest's env template, and the manifest's per-secret
hints (`kind`, `generate`, `optional_in_dev`, `prefix`, `min_length`, `derive`, `hint`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from toolbox_tui.checks.placeholders import is_placeholder
from toolbox_tui.secrets import kinds as sk

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack

KEY_SOURCES = ("compose", "environment", "env_template", "manifest")


@dataclass(frozen=True)
class SecretEntry:
    """One secret of the stack. Never holds a value."""

    name: str
    kind: str
    rule: sk.Rule
    definition: str | None = None
    """Kind of the top-level compose definition: external|file|environment|content, or None."""
    sources: tuple[str, ...] = ()
    used_by: tuple[str, ...] = ()
    """Services that mount it (compose secret) or read it (environment variable)."""
    env_vars: tuple[tuple[str, str], ...] = ()
    """(service, VARIABLE) pairs that carry this secret in a container environment."""
    derive: str | None = None
    """Template the value is computed from (`postgresql://${POSTGRES_USER}:${db_password}@...`)."""
    optional_in_dev: bool = False
    hint: str = ""
    file: str | None = None
    """For `file:` secrets: the host file (absolute)."""
    env_name: str | None = None
    """For `environment:` secrets: the interpolation variable that holds the value."""
    external_name: str | None = None
    loc: Any = None
    file_missing: bool = False
    """A `file:` secret whose file is missing (`compose.refs.SecretDef.file_missing`, read once
    when the inventory is built): stored and materialized like an external one."""

    @property
    def generate(self) -> bool:
        return self.rule.generate and self.derive is None

    @property
    def materializable(self) -> bool:
        """A compose secret toolbox-tui provides as a file (external and environment ones, and a
        file secret whose file is missing)."""
        return self.definition in ("external", "environment") or self.file_missing

    @property
    def stored(self) -> bool:
        """Whether a value for it belongs in the store (not derived, not a file the user owns)."""
        return self.derive is None and (self.definition not in ("file", "content") or self.file_missing)


def _hints(manifest: Any) -> dict[str, dict[str, Any]]:
    raw = manifest.secrets if manifest is not None else None
    out: dict[str, dict[str, Any]] = {}
    for name, spec in (raw or {}).items():
        if isinstance(spec, Mapping):
            out[str(name)] = dict(spec)
        elif spec is None:
            out[str(name)] = {}
        else:  # a dataclass-like object
            out[str(name)] = {k: getattr(spec, k) for k in
                              ("kind", "generate", "optional_in_dev", "prefix", "min_length", "derive",
                               "hint") if getattr(spec, k, None) is not None}
    return out


def _env_items(env: Any) -> Iterable[tuple[str, str | None]]:
    if isinstance(env, Mapping):
        for k, v in env.items():
            yield str(k), None if v is None else str(v)
    elif isinstance(env, list):
        for item in env:
            text = str(item)
            k, sep, v = text.partition("=")
            yield k, (v if sep else None)


def template_path(stack: Stack) -> Path | None:
    manifest = stack.manifest
    tpl = manifest.env_template if manifest is not None else None
    if not tpl:
        return None
    path = Path(tpl)
    if not path.is_absolute():
        root = manifest.root
        path = Path(root) / path
    return path


def _template_keys(stack: Stack) -> list[str]:
    """The keys of the manifest's env template ([] without one)."""
    path = template_path(stack)
    if path is None or not path.is_file():
        return []
    from toolbox_tui.compose.env_files import template_keys

    return [k for k in template_keys(path) if k]


class _Acc:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sources: list[str] = []
        self.used_by: list[str] = []
        self.env_vars: list[tuple[str, str]] = []
        self.definition: str | None = None
        self.file: str | None = None
        self.env_name: str | None = None
        self.external_name: str | None = None
        self.loc: Any = None
        self.file_missing = False

    def add(self, source: str) -> None:
        if source not in self.sources:
            self.sources.append(source)

    def use(self, service: str) -> None:
        if service not in self.used_by:
            self.used_by.append(service)


def base_stack(stack: Stack) -> Any:
    """`stack` without toolbox-tui's own secrets override (which turns secrets into files)."""
    override = stack.secrets_override
    if not override or override not in stack.files:
        return stack
    return stack.with_files([f for f in stack.files if f != override])


def build_inventory(stack: Stack) -> list[SecretEntry]:
    """The stack's secrets, compose secrets first, then variables, each list sorted by name.

    Definitions are read without toolbox-tui's override, so an external secret stays external
    after it has been materialized.
    """
    stack = base_stack(stack)
    accs: dict[str, _Acc] = {}

    def acc(name: str) -> _Acc:
        key = name.lower()
        if key not in accs:
            accs[key] = _Acc(name)
        return accs[key]

    for name, sdef in stack.secrets.items():
        a = acc(name)
        a.name = name  # compose spelling wins
        a.add("compose")
        a.definition = getattr(sdef, "kind", None)
        f = getattr(sdef, "file", None)
        a.file = str(f) if f else None
        a.env_name = getattr(sdef, "environment", None)
        a.external_name = getattr(sdef, "external_name", None)
        a.loc = getattr(sdef, "loc", None)
        a.file_missing = bool(getattr(sdef, "file_missing", False))
        for svc in getattr(sdef, "used_by", ()) or ():
            a.use(svc)
    for svc_name, svc in stack.services.items():
        for secret in getattr(svc, "secrets", ()) or ():
            if secret.lower() in accs:
                accs[secret.lower()].use(svc_name)
        data = getattr(svc, "data", None) or {}
        for var, value in _env_items(data.get("environment")):
            if not sk.holds_secret(var, value):
                continue  # not secret-like, or a number, a path (/run/secrets/x), a plain URL
            a = acc(var)
            a.add("environment")
            a.use(svc_name)
            a.env_vars.append((svc_name, var))
    for key in _template_keys(stack):
        if sk.is_secret_like(key):
            acc(key).add("env_template")
    hints = _hints(stack.manifest)
    for name in hints:
        acc(name).add("manifest")

    entries = []
    for key, a in accs.items():
        h = next((v for k, v in hints.items() if k.lower() == key), {})
        rule = sk.rule_for(a.name, hints=h, file=a.file)
        derive = h.get("derive")
        entries.append(SecretEntry(
            name=a.name, kind=rule.kind, rule=rule, definition=a.definition,
            sources=tuple(a.sources), used_by=tuple(sorted(a.used_by)),
            env_vars=tuple(a.env_vars), derive=str(derive) if derive else None,
            optional_in_dev=bool(h.get("optional_in_dev", False)), hint=str(h.get("hint") or ""),
            file=a.file, env_name=a.env_name, external_name=a.external_name, loc=a.loc,
            file_missing=a.file_missing))
    entries.sort(key=lambda e: (e.definition is None, e.name.lower()))
    return entries


def by_name(entries: Iterable[SecretEntry]) -> dict[str, SecretEntry]:
    return {e.name: e for e in entries}


def find(entries: Iterable[SecretEntry], name: str) -> SecretEntry | None:
    for e in entries:
        if e.name == name:
            return e
    for e in entries:
        if e.name.lower() == name.lower():
            return e
    return None


@dataclass(frozen=True)
class Status:
    """Whether a secret has a value and where it comes from (never the value itself)."""

    name: str
    set: bool
    store: str | None
    """keyring | session | derived | file | environment[-placeholder] | compose[-placeholder] |
    placeholder | None (nowhere yet)."""
    missing_parts: tuple[str, ...] = field(default=())


def _given_by_compose(e: SecretEntry, svc_env: Mapping[str, Mapping[str, str]]) -> str | None:
    """The value the compose files give a plain variable in every service that reads it (a
    literal, or interpolated from `.env`), or None when one of them has none."""
    if e.definition is not None or not e.env_vars:
        return None
    got = [svc_env.get(svc, {}).get(var) for svc, var in e.env_vars]
    return got[0] if all(got) else None


def resolve(stack: Stack, entries: list[SecretEntry], store: Any, *, mode: str = "dev",
            placeholders: bool = True) -> tuple[dict[str, str], dict[str, Status]]:
    """Values for every entry that can have one now, and the status of each entry.

    Order: the store, then the derivation, then (for `file:` secrets) the file, then the
    interpolation environment (`environment:` secrets and variables), then — in dev, for
    `optional_in_dev` secrets — the placeholder.
    """
    values: dict[str, str] = {}
    status: dict[str, Status] = {}
    environ = dict(stack.environ)
    index = {e.name.lower(): e for e in entries}

    def lookup(part: str) -> tuple[str | None, bool]:
        e = index.get(part.lower())
        if e is not None and e.name in values:
            return values[e.name], True
        if e is not None and e.derive is None:
            v = store.get(e.name)
            if v:
                return v, True
        if part in environ:
            return environ[part], e is not None
        for svc in users:  # a plain variable set in the environment of a service that uses it
            if part in svc_env.get(svc, {}):
                return svc_env[svc][part], False
        return None, False

    svc_env: dict[str, dict[str, str]] = {}
    for svc_name, svc in stack.services.items():
        data = getattr(svc, "data", None) or {}
        svc_env[svc_name] = {k: v for k, v in _env_items(data.get("environment")) if v is not None}
    users: tuple[str, ...] = ()
    derived = [e for e in entries if e.derive]
    for e in entries:
        if e.derive:
            continue
        v = store.get(e.name)
        if v:
            values[e.name] = v
            status[e.name] = Status(e.name, True, store.label)
            continue
        if e.definition in ("file", "content") and not e.file_missing:
            ok = e.definition == "content" or (e.file is not None and Path(e.file).is_file())
            status[e.name] = Status(e.name, ok, "file" if ok else None)
            continue
        env_value = environ.get(e.env_name or "") if e.definition == "environment" else None
        if env_value is None and e.definition is None:
            env_value = environ.get(e.name) or None
        if env_value:
            values[e.name] = env_value
            status[e.name] = Status(e.name, True, "environment-placeholder"
                                    if is_placeholder(env_value) else "environment")
            continue
        given = _given_by_compose(e, svc_env)
        if given is not None:  # `AWS_ACCESS_KEY: AKIA...` in the compose file: nothing to ask
            values[e.name] = given
            status[e.name] = Status(e.name, True, "compose-placeholder"
                                    if is_placeholder(given) else "compose")
            continue
        if mode == "dev" and e.optional_in_dev and placeholders:
            values[e.name] = sk.PLACEHOLDER
            status[e.name] = Status(e.name, True, "placeholder")
            continue
        status[e.name] = Status(e.name, False, None)
    for _ in range(len(derived) + 1):  # derived secrets may depend on each other
        progress = False
        for e in derived:
            if e.name in values:
                continue
            users = e.used_by
            try:
                values[e.name] = sk.derive(e.name, e.derive or "", lookup)
                status[e.name] = Status(e.name, True, "derived")
                progress = True
            except sk.MissingParts as exc:
                status[e.name] = Status(e.name, False, None, tuple(exc.missing))
        if not progress:
            break
    return values, status
