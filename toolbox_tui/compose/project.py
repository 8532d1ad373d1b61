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

from toolbox_tui.compose.discovery import (DEFAULT_FILES, OVERRIDE_FILES, ProjectOptions,  # noqa: F401
                                           _compose_dotenv_files, _default_files, _split_files,
                                           compose_args, normalize_project_name, options_from_args)
from toolbox_tui.compose.env_files import read_env_file
from toolbox_tui.compose.loader import build_model
from toolbox_tui.compose.manifest import Manifest, find_manifest, interpolate_urls, load_manifest
from toolbox_tui.compose.model import Stack
from toolbox_tui.compose.yaml_source import LoadError
from toolbox_tui.state_dir import recorded_override

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
