"""Load a Compose project's files into one located model, by Compose's rules.

Each file is parsed (anchors, `<<`, `!reset`/`!override`), validated, interpolated, then `include`
and `extends` are applied and the files are merged in order. Relative paths resolve against the
project directory, except values from an `extends`/`include` file in another directory, which
resolve against that file's directory (`LoadedModel.base_dirs`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from toolbox_tui.compose.merge import merge_values, normalize_service
from toolbox_tui.compose.refs import PathRef
from toolbox_tui.compose.schema import validate_keys, validate_types
from toolbox_tui.compose.interpolation import VarUse, interpolate_tree
from toolbox_tui.compose.yaml_source import (
    ExpansionBudget, LDict, LList, LoadError, Loc, load_yaml, loc_of,
)

MAX_EXTENDS_DEPTH = 20


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

def _load_file(path: Path, env: Mapping[str, str], uses: list[VarUse],
               budget: ExpansionBudget) -> LDict:
    doc = load_yaml(path, budget=budget)
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
    doc = interpolate_tree(doc, env, uses, budget=budget)
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


def resolve_host_path(base: Path, raw: str) -> Path:
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
        self.budget = ExpansionBudget()
        """One budget for every file of the project: alias expansion and interpolation."""

    def file(self, path: Path) -> LDict:
        path = path.resolve()
        if path not in self.cache:
            self.cache[path] = _load_file(path, self.env, self.uses, self.budget)
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
            target = resolve_host_path(file.parent if str(file) in self.base_dirs else here, str(base_file))
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
            inc_path = resolve_host_path(project_dir, str(inc))
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
