"""The stack model: what a Compose project means, with file:line for every piece.

`Stack` wraps the merged, located model that `loader.build_model` produced and answers
the questions the checks, fixes and secrets ask: services, published ports, host paths, secrets,
unset variables, and the arguments that make `docker compose` see the same project.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from toolbox_tui.compose.discovery import compose_args
from toolbox_tui.compose.loader import LoadedModel, build_model, resolve_host_path
from toolbox_tui.compose.merge import is_bind_source, split_volume
from toolbox_tui.compose.refs import (PathRef, PortRef, SecretDef, Service, looks_like_file,
                                      parse_port)
from toolbox_tui.compose.interpolation import VarUse
from toolbox_tui.compose.yaml_source import LDict, LList, LStr, loc_of
from toolbox_tui.state_dir import (checked_state_dir, is_secrets_override, secrets_override_for,
                                   state_dir_for)

if TYPE_CHECKING:
    from toolbox_tui.compose.manifest import Manifest


class ComposeProject(Protocol):
    """What the lifecycle (start, wait, diagnose, verify) reads of a project: a `Stack`, or a
    `lifecycle.startup.ProjectRef` known only by its Compose arguments."""

    name: str
    services: Mapping[str, Service]
    secrets: Mapping[str, Any]
    manifest: Manifest | None
    mode: str | None

    def compose_args(self) -> list[str]: ...

    def published_ports(self) -> list[PortRef]: ...


COMPOSE_SETS = frozenset({"COMPOSE_PROJECT_NAME"})
"""Variables Compose defines for interpolation itself: never unset."""


class Stack:
    """A loaded Compose project. Built by `toolbox_tui.compose.project.load_stack`."""

    def __init__(self, *, name: str, project_dir: Path, files: list[Path], env_files: list[Path],
                 environ: dict[str, str], profiles: list[str], loaded: LoadedModel,
                 mode: str | None = None, manifest: Manifest | None = None,
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
        return resolve_host_path(self.base_dir_for(value), str(value))

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
                    ctx_path = self.resolve_path(ctx_val) if loc_of(ctx_val) else resolve_host_path(self.project_dir, ctx_text)
                    refs.append(PathRef("build_context", name, None, ctx_text, ctx_path, ctx_loc,
                                        "dir", syntax="scalar" if loc_of(ctx_val) else "implicit"))
                    if isinstance(build, dict) and build.get("dockerfile") is not None and not build.get("dockerfile_inline"):
                        df = build["dockerfile"]
                        refs.append(PathRef("dockerfile", name, None, str(df), resolve_host_path(ctx_path, str(df)),
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
        # Compose sets COMPOSE_PROJECT_NAME itself (to the project name) before interpolating.
        return [u for u in self.var_uses if not u.has_default and not u.is_set
                and u.name not in COMPOSE_SETS]

    # - compose arguments
    def compose_args(self) -> list[str]:
        return compose_args(self.name, self.project_dir, self.files, self.profiles, self.env_files)

    def with_extra_file(self, path: Path) -> "Stack":
        """This project with one more compose file merged last (the secrets override)."""
        return self.with_files([*[f for f in self.files if f != path], path])

    def with_files(self, files: list[Path]) -> "Stack":
        """This project (same name, directory, environment) loaded from `files` instead."""
        loaded = build_model(files, self.project_dir, self.environ)
        override = next((f for f in files if is_secrets_override(f)), None)
        return Stack(name=self.name, project_dir=self.project_dir, files=files,
                     env_files=self.env_files, environ=self.environ, profiles=self.profiles,
                     loaded=loaded, mode=self.mode, manifest=self.manifest,
                     secrets_override=override, explicit_files=self.explicit_files)

    @property
    def state_dir(self) -> Path:
        """Where toolbox-tui keeps its state for this project (`toolbox_tui.state_dir`): the
        user's private folder keyed by `state_root` (checked to be private when it exists; not
        created here). Raises `UnsafeStateDir`."""
        return checked_state_dir(state_dir_for(self.state_root))

    @property
    def state_root(self) -> Path:
        """The root the state folder is keyed by: the manifest's folder, else the project dir."""
        return Path(self.manifest.root) if self.manifest is not None else self.project_dir

    @property
    def secrets_override_path(self) -> Path:
        """Where the generated secrets override of this project is (or would be) written."""
        return secrets_override_for(self.state_root)

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
