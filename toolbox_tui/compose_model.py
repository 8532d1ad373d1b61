"""The stack model: what a Compose project means, with file:line for every piece.

`build_model` loads each file (anchors, `<<`, `!reset`/`!override`), interpolates it, applies
`include` and `extends`, and merges the files in order by Compose's rules. Paths are resolved the
Compose way: relative to the project directory (the first file's directory unless given), except
values that come from an `extends`/`include` file in another directory, which resolve against
that file's directory. `Stack` then answers the questions the checks, fixes and secrets ask.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from toolbox_tui.compose_merge import (is_bind_source, merge_values, normalize_service,
                                       split_volume)
from toolbox_tui.compose_schema import validate_keys, validate_types
from toolbox_tui.interpolation import VarUse, interpolate_tree
from toolbox_tui.yaml_source import LDict, LList, LoadError, Loc, LStr, load_yaml, loc_of

MAX_EXTENDS_DEPTH = 20


@dataclass(frozen=True)
class PortRef:
    """A published host port."""

    service: str
    host_ip: str
    published: int
    target: int
    protocol: str
    loc: Loc | None


@dataclass(frozen=True)
class PathRef:
    """A host path the stack needs before `up`."""

    kind: str
    """bind | build_context | dockerfile | env_file | secret_file | config_file | extends_file"""
    service: str | None
    name: str | None
    """Secret/config name, or the volume spec index for binds."""
    raw: str
    """The path as written (after interpolation)."""
    path: Path
    loc: Loc | None
    expect: str = "any"
    """file | dir | any"""
    required: bool = True
    create_host_path: bool = False
    syntax: str = "scalar"
    """short | long | scalar | implicit (how the reference is written; the fixer needs it)"""
    index: int | None = None
    target: str | None = None
    """Container path of a bind mount."""


@dataclass(frozen=True)
class SecretDef:
    """A top-level secret and who uses it."""

    name: str
    kind: str
    """file | environment | external | content"""
    file: Path | None
    environment: str | None
    external_name: str | None
    loc: Loc | None
    used_by: tuple[str, ...]


@dataclass(frozen=True)
class Service:
    name: str
    data: LDict
    loc: Loc | None
    image: str | None
    healthcheck: Mapping[str, Any] | None
    depends_on: Mapping[str, Mapping[str, Any]]
    secrets: tuple[str, ...]
    ports: tuple[PortRef, ...]
    profiles: tuple[str, ...]


@dataclass
class LoadedModel:
    model: LDict
    uses: list[VarUse]
    base_dirs: dict[str, Path]
    """File -> directory its relative paths resolve against (extends/include files)."""
    extends_missing: list[PathRef] = field(default_factory=list)
    file_docs: dict[str, LDict] = field(default_factory=dict)
    """Each compose file as loaded and interpolated (before merging), by absolute path."""


# -- loading -------------------------------------------------------------------------------------

def _interp_skip(path: tuple[Any, ...]) -> bool:
    # Compose does not interpolate extension fields? It does; nothing to skip today.
    return False


def _load_file(path: Path, env: Mapping[str, str], uses: list[VarUse]) -> LDict:
    doc = load_yaml(path)
    if doc is None:
        doc = LDict()
        doc.loc = Loc(str(path), 1, 1)
    if not isinstance(doc, LDict):
        kind = "a list" if isinstance(doc, list) else f"a {type(doc).__name__} value"
        raise LoadError(f"{path} is {kind}, not a Compose mapping (services:, volumes:, ...)",
                        file=str(path), line=1, column=1,
                        hint="A Compose file must be a YAML mapping with a top-level `services:` key.")
    for key in ("services", "secrets", "configs", "volumes", "networks"):
        sect = doc.get(key)
        if sect is not None and not isinstance(sect, LDict):
            loc = doc.key_loc(key)
            raise LoadError(f"`{key}` must be a mapping of names", file=str(path),
                            line=loc.line if loc else None, column=loc.column if loc else None,
                            hint=f"Write `{key}:` followed by indented `name:` entries.")
    validate_keys(doc, str(path))
    validate_types(doc, str(path))
    doc = interpolate_tree(doc, env, uses)
    services = doc.get("services") or {}
    for name, svc in list(services.items()):
        if svc is None:
            svc = LDict()
            svc.loc = services.key_loc(name)
            services[name] = svc
        if not isinstance(svc, LDict):
            loc = services.key_loc(name)
            raise LoadError(f"service {name!r} must be a mapping", file=str(path),
                            line=loc.line if loc else None, column=loc.column if loc else None,
                            hint="Indent the service's keys under its name.")
        normalize_service(svc)
    return doc


def _resolve(base: Path, raw: str) -> Path:
    p = Path(os.path.expanduser(raw))
    if not p.is_absolute():
        p = base / p
    return Path(os.path.normpath(p))


class _Builder:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.uses: list[VarUse] = []
        self.cache: dict[Path, LDict] = {}
        self.base_dirs: dict[str, Path] = {}
        self.extends_missing: list[PathRef] = []

    def file(self, path: Path) -> LDict:
        path = path.resolve()
        if path not in self.cache:
            self.cache[path] = _load_file(path, self.env, self.uses)
        return self.cache[path]

    def service(self, doc: LDict, file: Path, name: str, project_dir: Path, depth: int = 0) -> LDict:
        services = doc.get("services") or LDict()
        svc = services[name]
        ext = svc.get("extends")
        if ext is None:
            return svc
        if depth > MAX_EXTENDS_DEPTH:
            loc = loc_of(svc)
            raise LoadError(f"service {name!r}: `extends` chain is deeper than {MAX_EXTENDS_DEPTH} "
                            "(a loop?)", file=loc.file if loc else str(file),
                            line=loc.line if loc else None, hint="Break the extends cycle.")
        if isinstance(ext, str):
            base_name, base_file = str(ext), None
        elif isinstance(ext, LDict):
            base_name, base_file = str(ext.get("service", "")), ext.get("file")
        else:
            raise LoadError(f"service {name!r}: `extends` must be a service name or a mapping",
                            file=str(file), hint="Use `extends: {service: NAME, file: FILE}`.")
        if base_file is not None:
            here = self.base_dirs.get(str(file), file.parent)
            target = _resolve(file.parent if str(file) in self.base_dirs else here, str(base_file))
            if not target.is_file():
                self.extends_missing.append(PathRef(
                    kind="extends_file", service=name, name=None, raw=str(base_file), path=target,
                    loc=loc_of(base_file), expect="file"))
                out = LDict(svc)
                out.loc, out.key_locs = svc.loc, dict(svc.key_locs)
                out.pop("extends", None)
                return out
            other = self.file(target)
            self.base_dirs.setdefault(str(target), target.parent)
            if base_name not in (other.get("services") or {}):
                loc = loc_of(ext)
                raise LoadError(f"service {name!r} extends {base_name!r}, which {target} does not define",
                                file=loc.file if loc else str(file), line=loc.line if loc else None,
                                hint="Fix the service name in `extends`.")
            base = self.service(other, target, base_name, project_dir, depth + 1)
        else:
            if base_name not in services:
                loc = loc_of(ext)
                raise LoadError(f"service {name!r} extends {base_name!r}, which is not defined",
                                file=loc.file if loc else str(file), line=loc.line if loc else None,
                                hint="Fix the service name in `extends`.")
            base = self.service(doc, file, base_name, project_dir, depth + 1)
        base = LDict(base)
        for key in ("depends_on", "links", "volumes_from"):
            pass  # Compose keeps these from the base since v2; nothing to drop.
        child = LDict(svc)
        child.loc, child.key_locs = svc.loc, dict(svc.key_locs)
        child.pop("extends", None)
        merged = merge_values(_with_loc(base, svc), child, ("services", "*"))
        return merged


def _with_loc(d: LDict, like: LDict) -> LDict:
    out = LDict(d)
    out.loc = like.loc
    out.key_locs = dict(getattr(d, "key_locs", {}))
    return out


def build_model(files: list[Path], project_dir: Path, env: Mapping[str, str]) -> LoadedModel:
    b = _Builder(env)
    merged: LDict | None = None
    for f in files:
        doc = b.file(f)
        f = f.resolve()
        # include: each included file is its own little project with its own directory.
        for inc in _includes(doc):
            inc_path = _resolve(project_dir, str(inc))
            if not inc_path.is_file():
                raise LoadError(f"included file {inc_path} does not exist", file=str(f),
                                line=loc_of(inc).line if loc_of(inc) else None,
                                hint="Fix the path under `include:`.")
            inc_doc = b.file(inc_path)
            b.base_dirs.setdefault(str(inc_path.resolve()), inc_path.parent)
            resolved_inc = _resolve_services(b, inc_doc, inc_path.resolve(), inc_path.parent)
            merged = resolved_inc if merged is None else merge_values(merged, resolved_inc, ())
        resolved = _resolve_services(b, doc, f, project_dir)
        merged = resolved if merged is None else merge_values(merged, resolved, ())
    assert merged is not None
    merged.pop("include", None)
    return LoadedModel(model=merged, uses=b.uses, base_dirs=b.base_dirs,
                       extends_missing=b.extends_missing,
                       file_docs={str(k): v for k, v in b.cache.items()})


def _includes(doc: LDict) -> list[Any]:
    inc = doc.get("include")
    out: list[Any] = []
    if isinstance(inc, LList):
        for item in inc:
            if isinstance(item, LDict):
                p = item.get("path")
                out.extend(p if isinstance(p, LList) else [p] if p else [])
            elif item is not None:
                out.append(item)
    return out


def _resolve_services(b: _Builder, doc: LDict, file: Path, project_dir: Path) -> LDict:
    out = LDict(doc)
    out.loc, out.key_locs = doc.loc, dict(doc.key_locs)
    out.pop("include", None)
    services = doc.get("services")
    if isinstance(services, LDict):
        new = LDict()
        new.loc, new.key_locs = services.loc, dict(services.key_locs)
        for name in services:
            new[name] = b.service(doc, file, name, project_dir)
        out["services"] = new
    return out


# -- the stack -----------------------------------------------------------------------------------

_SIZE_SUFFIX = re.compile(r"\.[A-Za-z0-9_-]{1,12}$")


def looks_like_file(*names: str) -> bool:
    """A mount whose source or target has a file extension (`redis.conf`) expects a file."""
    for n in names:
        base = os.path.basename(n.rstrip("/\\"))
        if base.startswith(".") and base.count(".") == 1:
            if base in (".env", ".htpasswd", ".npmrc", ".pgpass", ".netrc"):
                return True
            continue
        if _SIZE_SUFFIX.search(base) or base.endswith((".sock",)):
            return True
    return False


def _int(v: Any) -> int | None:
    try:
        return int(str(v))
    except (TypeError, ValueError):
        return None


def parse_port(spec: Any, service: str, loc: Loc | None) -> list[PortRef]:
    """Published ports of one `ports:` item (short or long syntax); unpublished ones are skipped."""
    if isinstance(spec, dict):
        target = _int(spec.get("target"))
        pub = spec.get("published")
        proto = str(spec.get("protocol") or "tcp")
        ip = str(spec.get("host_ip") or "0.0.0.0")
        loc = loc_of(spec) or loc
        if pub in (None, ""):
            return []
        return _expand(str(pub), str(target or ""), service, ip, proto, loc)
    text = str(spec)
    proto = "tcp"
    if "/" in text:
        text, proto = text.rsplit("/", 1)
    ip = "0.0.0.0"
    if text.startswith("["):  # [::1]:8080:80
        end = text.find("]")
        ip, text = text[1:end], text[end + 2:]
    parts = text.split(":")
    if len(parts) == 1:
        return []
    if len(parts) == 3:
        ip, pub, target = parts
    else:
        pub, target = parts[-2], parts[-1]
    if not pub:
        return []
    return _expand(pub, target, service, ip or "0.0.0.0", proto, loc)


def _expand(pub: str, target: str, service: str, ip: str, proto: str, loc: Loc | None) -> list[PortRef]:
    def rng(s: str) -> list[int]:
        a, _, b = s.partition("-")
        lo, hi = _int(a), _int(b) if b else _int(a)
        if lo is None or hi is None or hi < lo or hi - lo > 1000:
            return []
        return list(range(lo, hi + 1))

    pubs, targets = rng(pub), rng(target) if target else []
    out = []
    for i, p in enumerate(pubs):
        t = targets[i] if i < len(targets) else (targets[0] if targets else p)
        out.append(PortRef(service, ip, p, t, proto, loc))
    return out


class Stack:
    """A loaded Compose project. Built by `toolbox_tui.project.load_stack`."""

    def __init__(self, *, name: str, project_dir: Path, files: list[Path], env_files: list[Path],
                 environ: dict[str, str], profiles: list[str], loaded: LoadedModel,
                 mode: str | None = None, manifest: Any = None,
                 secrets_override: Path | None = None, explicit_files: bool = False) -> None:
        self.name = name
        """Compose project name (normalised)."""
        self.project_dir = project_dir
        """Directory relative paths resolve against."""
        self.files = files
        """Compose files in merge order (absolute), including the secrets override if any."""
        self.env_files = env_files
        """Files that fed interpolation (`.env` or --env-file)."""
        self.environ = environ
        """Interpolation environment: process env over the env files."""
        self.profiles = profiles
        self.mode = mode
        self.manifest = manifest
        self.secrets_override = secrets_override
        self.explicit_files = explicit_files
        self._loaded = loaded
        self.model: LDict = loaded.model
        self.var_uses: list[VarUse] = loaded.uses
        self.file_docs: dict[str, LDict] = loaded.file_docs
        self.services: dict[str, Service] = self._services()
        self.secrets: dict[str, SecretDef] = self._secrets()

    # - services
    def _services(self) -> dict[str, Service]:
        out: dict[str, Service] = {}
        all_services = self.model.get("services") or LDict()
        active = set(self.profiles)
        for name, svc in all_services.items():
            profiles = tuple(str(p) for p in (svc.get("profiles") or ()))
            if profiles and not (active & set(profiles) or "*" in active):
                continue
            ports: list[PortRef] = []
            plist = svc.get("ports") or LList()
            for i, p in enumerate(plist):
                ports.extend(parse_port(p, name, plist.item_loc(i) if isinstance(plist, LList) else None))
            deps = svc.get("depends_on") or {}
            secrets = []
            for s in svc.get("secrets") or ():
                secrets.append(str(s.get("source")) if isinstance(s, dict) else str(s))
            hc = svc.get("healthcheck")
            if isinstance(hc, dict) and hc.get("disable"):
                hc = None
            out[name] = Service(
                name=name, data=svc, loc=all_services.key_loc(name),
                image=str(svc["image"]) if svc.get("image") is not None else None,
                healthcheck=hc if isinstance(hc, dict) else None,
                depends_on={str(k): (v if isinstance(v, dict) else {}) for k, v in deps.items()},
                secrets=tuple(secrets), ports=tuple(ports), profiles=profiles)
        return out

    def _secrets(self) -> dict[str, SecretDef]:
        defs = self.model.get("secrets") or LDict()
        out: dict[str, SecretDef] = {}
        for name, d in defs.items():
            d = d if isinstance(d, dict) else {}
            used_by = tuple(s for s, svc in self.services.items() if name in svc.secrets)
            if d.get("external"):
                ext = d.get("external")
                ext_name = d.get("name") or (ext.get("name") if isinstance(ext, dict) else None) or name
                kind, file, env = "external", None, None
            elif d.get("file") is not None:
                kind, file, env, ext_name = "file", self.resolve_path(d["file"]), None, None
            elif d.get("environment") is not None:
                kind, file, env, ext_name = "environment", None, str(d["environment"]), None
            else:
                kind, file, env, ext_name = "content", None, None, None
            out[name] = SecretDef(name=name, kind=kind, file=file, environment=env,
                                  external_name=str(ext_name) if ext_name else None,
                                  loc=defs.key_loc(name), used_by=used_by)
        return out

    # - paths
    def base_dir_for(self, value: Any) -> Path:
        loc = loc_of(value)
        if loc is not None and loc.file in self._loaded.base_dirs:
            return self._loaded.base_dirs[loc.file]
        return self.project_dir

    def resolve_path(self, value: Any) -> Path:
        return _resolve(self.base_dir_for(value), str(value))

    def path_refs(self) -> list[PathRef]:
        refs: list[PathRef] = list(self._loaded.extends_missing)
        for name, svc in self.services.items():
            data = svc.data
            vols = data.get("volumes") or LList()
            for i, v in enumerate(vols):
                loc = vols.item_loc(i) if isinstance(vols, LList) else None
                if isinstance(v, dict):
                    if str(v.get("type", "volume")) != "bind" or v.get("source") is None:
                        continue
                    src = v["source"]
                    bind = v.get("bind") if isinstance(v.get("bind"), dict) else {}
                    chp = bind.get("create_host_path", True) not in (False, "false")
                    refs.append(PathRef("bind", name, None, str(src), self.resolve_path(src),
                                        loc_of(src) or loc,
                                        "file" if looks_like_file(str(src), str(v.get("target", ""))) else "any",
                                        required=not chp or looks_like_file(str(src), str(v.get("target", ""))),
                                        create_host_path=chp, syntax="long", index=i,
                                        target=str(v.get("target", "")) or None))
                else:
                    parts = split_volume(str(v))
                    if len(parts) < 2 or not is_bind_source(parts[0]):
                        continue
                    src = LStr(parts[0])
                    src.loc = loc_of(v) or loc
                    is_file = looks_like_file(parts[0], parts[1])
                    refs.append(PathRef("bind", name, None, parts[0], self.resolve_path(src),
                                        src.loc, "file" if is_file else "any", required=is_file,
                                        create_host_path=True, syntax="short", index=i,
                                        target=parts[1]))
            build = data.get("build")
            if build is not None:
                ctx_val = build if isinstance(build, str) else build.get("context", ".")
                ctx_text = str(ctx_val)
                if not re.match(r"^[a-z]+://|^git@|^github\.com/", ctx_text):
                    ctx_loc = loc_of(ctx_val) or (loc_of(build) if isinstance(build, dict) else None)
                    ctx_path = self.resolve_path(ctx_val) if loc_of(ctx_val) else _resolve(self.project_dir, ctx_text)
                    refs.append(PathRef("build_context", name, None, ctx_text, ctx_path, ctx_loc,
                                        "dir", syntax="scalar" if loc_of(ctx_val) else "implicit"))
                    if isinstance(build, dict) and build.get("dockerfile") is not None and not build.get("dockerfile_inline"):
                        df = build["dockerfile"]
                        refs.append(PathRef("dockerfile", name, None, str(df), _resolve(ctx_path, str(df)),
                                            loc_of(df), "file"))
                    elif not (isinstance(build, dict) and build.get("dockerfile_inline")):
                        refs.append(PathRef("dockerfile", name, None, "Dockerfile", ctx_path / "Dockerfile",
                                            ctx_loc, "file", syntax="implicit"))
            envf = data.get("env_file") or LList()
            for i, e in enumerate(envf):
                if isinstance(e, dict):
                    p, req = e.get("path"), e.get("required", True) not in (False, "false")
                else:
                    p, req = e, True
                if p is None:
                    continue
                refs.append(PathRef("env_file", name, None, str(p), self.resolve_path(p),
                                    loc_of(p) or (envf.item_loc(i) if isinstance(envf, LList) else None),
                                    "file", required=req, index=i))
        for section, kind in (("secrets", "secret_file"), ("configs", "config_file")):
            defs = self.model.get(section) or LDict()
            for name, d in defs.items():
                if not isinstance(d, dict) or d.get("file") is None:
                    continue
                users = [s for s, svc in self.services.items()
                         if name in _mount_sources(svc.data.get(section))]
                refs.append(PathRef(kind, users[0] if users else None, name, str(d["file"]),
                                    self.resolve_path(d["file"]), loc_of(d["file"]), "file",
                                    required=bool(users)))
        return refs

    def published_ports(self) -> list[PortRef]:
        return [p for svc in self.services.values() for p in svc.ports]

    @property
    def unset_vars(self) -> list[VarUse]:
        return [u for u in self.var_uses if not u.has_default and not u.is_set]

    # - compose arguments
    def compose_args(self) -> list[str]:
        args = ["--project-directory", str(self.project_dir), "-p", self.name]
        for f in self.files:
            args += ["-f", str(f)]
        for p in self.profiles:
            args += ["--profile", p]
        for e in self.env_files:
            args += ["--env-file", str(e)]
        return args

    def with_extra_file(self, path: Path) -> "Stack":
        from toolbox_tui.project import rebuild_with_files

        return rebuild_with_files(self, [*[f for f in self.files if f != path], path])

    def root_dir(self) -> Path:
        """The repository root: the manifest's directory, else the git root above the project dir."""
        if self.manifest is not None:
            return Path(self.manifest.root)
        for d in (self.project_dir, *self.project_dir.parents):
            if (d / ".git").exists():
                return d
        return self.project_dir


def _mount_sources(items: Any) -> set[str]:
    out = set()
    for s in items or ():
        out.add(str(s.get("source")) if isinstance(s, dict) else str(s))
    return out


def iter_locs(value: Any) -> Iterable[Loc]:
    loc = loc_of(value)
    if loc:
        yield loc
