"""Find and load a Compose project the way `docker compose` does, with our optional manifest.

Discovery order (as Compose): `-f` files; else COMPOSE_FILE; else the manifest's file set for the
mode; else compose.yaml / compose.yml / docker-compose.yaml / docker-compose.yml (with the matching
override file) in the current directory or the nearest parent that has one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from toolbox_tui.compose.env_files import read_env_file
from toolbox_tui.compose.loader import build_model
from toolbox_tui.compose.manifest import Manifest, find_manifest, interpolate_urls, load_manifest
from toolbox_tui.compose.model import Stack, compose_args
from toolbox_tui.compose.yaml_source import LoadError
from toolbox_tui.state_dir import recorded_override

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_FILES = {
    "compose.yaml": ("compose.override.yaml", "compose.override.yml"),
    "compose.yml": ("compose.override.yml", "compose.override.yaml"),
    "docker-compose.yaml": ("docker-compose.override.yaml", "docker-compose.override.yml"),
    "docker-compose.yml": ("docker-compose.override.yml", "docker-compose.override.yaml"),
}


@dataclass(frozen=True)
class ProjectOptions:
    project_dir: str | None = None
    files: tuple[str, ...] = ()
    project_name: str | None = None
    profiles: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    mode: str | None = None
    cwd: str = field(default_factory=os.getcwd)


def options_from_args(args: Any) -> ProjectOptions:
    return ProjectOptions(
        project_dir=getattr(args, "project_dir", None),
        files=tuple(getattr(args, "files", None) or ()),
        project_name=getattr(args, "project_name", None),
        profiles=tuple(getattr(args, "profiles", None) or ()),
        env_files=tuple(getattr(args, "env_files", None) or ()),
        mode=getattr(args, "mode", None),
    )


def normalize_project_name(name: str) -> str:
    """Compose's rule: lowercase, [a-z0-9_-], starting with a letter or digit."""
    name = re.sub(r"[^a-z0-9_-]", "", name.lower())
    return name.lstrip("_-")


def _split_files(value: str) -> list[str]:
    sep = os.environ.get("COMPOSE_PATH_SEPARATOR", os.pathsep)
    return [f for f in value.split(sep) if f]


def _default_files(start: Path) -> list[Path]:
    for d in (start, *start.parents):
        for name in DEFAULT_FILES:
            p = d / name
            if p.is_file():
                files = [p]
                for ov in OVERRIDE_FILES[name]:
                    if (d / ov).is_file():
                        files.append(d / ov)
                        break
                return files
    raise LoadError(f"no Compose file found in {start} or its parents",
                    hint="Run from the project directory, or pass -f FILE / --project-dir DIR, "
                         "or add a .toolbox-tui.yml manifest.")


def _compose_dotenv_files(opts: ProjectOptions, project_dir: Path, manifest: Manifest | None) -> list[Path]:
    """The env files Compose reads for interpolation. A `.env` that exists but is not a regular
    file (a FIFO, `/dev/zero`) is kept in the list, so reading it is refused with its name
    *before* `docker compose` is run (which would hang on it or read it forever)."""
    # absolute, not resolved: a refusal names the file as the user wrote it (`prod.env`), not
    # only where a link leads (`/dev/zero`, which `safe_read.shown` adds)
    if opts.env_files:
        return [Path(os.path.abspath(Path(opts.cwd, e))) for e in opts.env_files]
    env_var = os.environ.get("COMPOSE_ENV_FILES")
    if env_var:
        return [Path(os.path.abspath(Path(opts.cwd, e))) for e in env_var.split(",") if e]
    if manifest is not None and manifest.env_file is not None:
        if manifest.env_file.parent.resolve() != project_dir.resolve() or manifest.env_file.name != ".env":
            return [manifest.env_file] if manifest.env_file.exists() else []
    dot = project_dir / ".env"
    return [dot] if dot.exists() else []


def discover(opts: ProjectOptions) -> tuple[list[Path], Path, Manifest | None, str | None, bool]:
    """Compose files, project dir, manifest, mode and whether files were named explicitly."""
    cwd = Path(opts.cwd)
    start = Path(cwd, opts.project_dir).resolve() if opts.project_dir else cwd.resolve()
    manifest_path = find_manifest(start)
    manifest = load_manifest(manifest_path) if manifest_path else None
    mode = opts.mode
    explicit = False
    from_manifest = False
    if opts.files:
        files = [Path(cwd, f).absolute() for f in opts.files]
        explicit = True
    elif os.environ.get("COMPOSE_FILE"):
        files = [Path(cwd, f).absolute() for f in _split_files(os.environ["COMPOSE_FILE"])]
        explicit = True
    elif manifest is not None and manifest.modes:
        # The manifest chose the files: the project is the compose dir it names, wherever
        # --project-dir pointed to find the manifest.
        from_manifest = True
        mode = mode or manifest.default_mode
        if mode not in manifest.modes:
            raise LoadError(f"mode {mode!r} is not defined in the manifest (modes: "
                            f"{', '.join(manifest.modes)})", file=str(manifest.path),
                            hint="Use --mode with one of those, or add it under `modes:`.")
        files = [manifest.compose_dir / f for f in manifest.modes[mode]]
    else:
        base = manifest.compose_dir if manifest is not None else start
        files = _default_files(base)
    for f in files:
        if not f.is_file():
            raise LoadError(f"compose file {f} does not exist" if not f.exists()
                            else f"compose file {f} is not a regular file",
                            file=str(f), hint="Check -f/COMPOSE_FILE or the manifest's `modes:`.")
    if opts.project_dir and not from_manifest:
        project_dir = Path(cwd, opts.project_dir).resolve()
    else:
        project_dir = files[0].parent.resolve()
    return files, project_dir, manifest, mode, explicit


def load_stack(opts: ProjectOptions | None = None, environ: Mapping[str, str] | None = None,
               *, with_secrets_override: bool = True,
               on_plan: Callable[[list[str]], object] | None = None) -> Stack:
    """Load the project. Raises LoadError (user-facing, with file:line) when it cannot.

    `on_plan` is called, before the Compose files are parsed, with the `docker compose` project
    arguments the stack will most likely have (`Stack.compose_args`; a `name:` in a file can
    still change the name), so Compose can be started while we parse."""
    opts = opts or ProjectOptions()
    files, project_dir, manifest, mode, explicit = discover(opts)
    process_env = dict(os.environ if environ is None else environ)
    env_files = _compose_dotenv_files(opts, project_dir, manifest)
    env: dict[str, str] = {}
    for ef in env_files:
        env.update(read_env_file(ef))
    env.update(process_env)
    if manifest is not None:
        manifest = interpolate_urls(manifest, env)
    profiles = list(opts.profiles) or [p for p in (env.get("COMPOSE_PROFILES") or "").split(",") if p]
    stack_files = [f.resolve() for f in files]
    # Only the override we generated (in the private state folder, with the hash our secrets
    # record holds): a `compose.secrets.yml` the repository ships is never merged.
    override = recorded_override(manifest.root if manifest is not None else project_dir) \
        if with_secrets_override else None
    if override is not None:
        stack_files.append(override)
    if on_plan is not None:
        guess = opts.project_name or env.get("COMPOSE_PROJECT_NAME") \
            or (manifest.project_name if manifest else None) or project_dir.name
        if normalize_project_name(guess):
            on_plan(compose_args(normalize_project_name(guess), project_dir, stack_files, profiles,
                                 env_files))
    loaded = build_model(stack_files, project_dir, env)
    name = (opts.project_name or env.get("COMPOSE_PROJECT_NAME")
            or (manifest.project_name if manifest else None)
            or (str(loaded.model["name"]) if loaded.model.get("name") else None)
            or project_dir.name)
    norm = normalize_project_name(name)
    if not norm:
        raise LoadError(f"project name {name!r} has no usable characters",
                        hint="Pass -p NAME with lowercase letters, digits, '-' or '_'.")
    return Stack(name=norm, project_dir=project_dir, files=stack_files, env_files=env_files,
                 environ=env, profiles=profiles, loaded=loaded, mode=mode, manifest=manifest,
                 secrets_override=override, explicit_files=explicit)
