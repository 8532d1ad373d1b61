"""Find and load a Compose project the way `docker compose` does, plus our optional manifest.

Discovery order (as Compose): `-f` files; else COMPOSE_FILE; else the manifest's file set for the
mode; else compose.yaml / compose.yml / docker-compose.yaml / docker-compose.yml (with the matching
override file) in the current directory or the nearest parent that has one.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections import ChainMap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from dotenv.main import DotEnv
from dotenv.variables import parse_variables

from toolbox_tui.compose.model import Stack, build_model
from toolbox_tui.compose.yaml_source import LDict, LoadError, load_yaml, read_text

# python-dotenv logs unparseable lines itself; the env checks report them with file:line instead.
logging.getLogger("dotenv.main").setLevel(logging.ERROR)

MANIFEST_NAMES = (".toolbox-tui.yml", ".toolbox-tui.yaml", "toolbox-tui.yml")
DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_FILES = {
    "compose.yaml": ("compose.override.yaml", "compose.override.yml"),
    "compose.yml": ("compose.override.yml", "compose.override.yaml"),
    "docker-compose.yaml": ("docker-compose.override.yaml", "docker-compose.override.yml"),
    "docker-compose.yml": ("docker-compose.override.yml", "docker-compose.override.yaml"),
}
STATE_DIR_NAME = ".toolbox-tui"
SECRETS_OVERRIDE_NAME = "compose.secrets.yml"


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


@dataclass(frozen=True)
class Manifest:
    """`.toolbox-tui.yml` at the repository root. Everything in it is optional."""

    root: Path
    path: Path
    compose_dir: Path
    modes: Mapping[str, tuple[str, ...]]
    default_mode: str
    env_template: Path | None
    env_file: Path | None
    urls: Mapping[str, str]
    secrets: Mapping[str, Mapping[str, Any]]
    project_name: str | None


def find_manifest(start: Path) -> Path | None:
    for d in (start, *start.parents):
        for name in MANIFEST_NAMES:
            p = d / name
            if p.is_file():
                return p
    return None


def load_manifest(path: Path) -> Manifest:
    doc = load_yaml(path, read_text(path, "manifest"))
    root = path.parent.resolve()

    def bad(msg: str, key: str | None = None) -> LoadError:
        loc = doc.key_loc(key) if isinstance(doc, LDict) and key else None
        return LoadError(f"manifest: {msg}", file=str(path), line=loc.line if loc else None,
                         column=loc.column if loc else None,
                         hint="See the README's manifest section for the format.")

    if doc is None:
        doc = LDict()
    if not isinstance(doc, dict):
        raise bad("must be a mapping")
    known = {"version", "project_name", "compose_dir", "default_mode", "modes", "env_template",
             "env_file", "urls", "secrets"}
    for key in doc:
        if key not in known:
            raise bad(f"unknown key {key!r} (known: {', '.join(sorted(known))})", key)
    compose_dir = root / str(doc.get("compose_dir") or ".")
    modes_raw = doc.get("modes") or {}
    if not isinstance(modes_raw, dict):
        raise bad("`modes` must map a mode name to a list of compose files", "modes")
    modes: dict[str, tuple[str, ...]] = {}
    for mode, files in modes_raw.items():
        if isinstance(files, str):
            files = [files]
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise bad(f"mode {mode!r} must be a list of file names", "modes")
        modes[str(mode)] = tuple(str(f) for f in files)
    for key in ("urls", "secrets"):
        if doc.get(key) is not None and not isinstance(doc.get(key), dict):
            raise bad(f"`{key}` must be a mapping", key)
    secrets = {}
    for name, hint in (doc.get("secrets") or {}).items():
        if hint is not None and not isinstance(hint, dict):
            raise bad(f"secret {name!r}: hints must be a mapping (kind, generate, ...)", "secrets")
        secrets[str(name)] = dict(hint or {})
    return Manifest(
        root=root, path=path, compose_dir=compose_dir, modes=modes,
        default_mode=str(doc.get("default_mode") or ("dev" if "dev" in modes else next(iter(modes), "dev"))),
        env_template=root / str(doc["env_template"]) if doc.get("env_template") else None,
        env_file=root / str(doc["env_file"]) if doc.get("env_file") else None,
        urls={str(k): str(v) for k, v in (doc.get("urls") or {}).items()},
        secrets=secrets,
        project_name=str(doc["project_name"]) if doc.get("project_name") else None,
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


def read_env_file(path: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Values of one env file (python-dotenv, with interpolation of earlier values)."""
    text = read_text(path, "env file")
    # Same rules as dotenv_values(interpolate=True), but python-dotenv copies os.environ plus every
    # earlier value for each line (quadratic: a 100k-line file took minutes); a ChainMap is linear.
    values: dict[str, str | None] = {}
    env = ChainMap(values, os.environ)
    for name, value in DotEnv(None, stream=io.StringIO(text), interpolate=False).parse():
        if value is not None and "$" in value:
            value = "".join(atom.resolve(env) for atom in parse_variables(value))
        values[name] = value
    return {k: (v if v is not None else "") for k, v in values.items()}


def env_file_problems(path: Path) -> list[tuple[int, str]]:
    """Lines of an env file that are not `KEY=VALUE`, `export KEY=VALUE`, blank or comments."""
    problems = []
    try:
        text = read_text(path, "env file")
    except LoadError as exc:
        return [(exc.line or 0, str(exc))]
    in_quote: str | None = None
    for n, line in enumerate(text.splitlines(), 1):
        if in_quote:
            if line.rstrip().endswith(in_quote):
                in_quote = None
            continue
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = re.match(r"^(export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(=\s*(.*))?$", s)
        if not m:
            problems.append((n, line[:120]))
            continue
        val = (m.group(4) or "").strip()
        for q in ('"', "'"):
            if val.startswith(q) and (len(val) == 1 or not val.rstrip().endswith(q)):
                in_quote = q
    return problems


def _compose_dotenv_files(opts: ProjectOptions, project_dir: Path, manifest: Manifest | None) -> list[Path]:
    if opts.env_files:
        return [Path(opts.cwd, e).resolve() for e in opts.env_files]
    env_var = os.environ.get("COMPOSE_ENV_FILES")
    if env_var:
        return [Path(opts.cwd, e).resolve() for e in env_var.split(",") if e]
    if manifest is not None and manifest.env_file is not None:
        if manifest.env_file.parent.resolve() != project_dir.resolve() or manifest.env_file.name != ".env":
            return [manifest.env_file] if manifest.env_file.is_file() else []
    dot = project_dir / ".env"
    return [dot] if dot.is_file() else []


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
               *, with_secrets_override: bool = True) -> Stack:
    """Load the project. Raises LoadError (user-facing, with file:line) when it cannot."""
    opts = opts or ProjectOptions()
    files, project_dir, manifest, mode, explicit = discover(opts)
    process_env = dict(os.environ if environ is None else environ)
    env_files = _compose_dotenv_files(opts, project_dir, manifest)
    env: dict[str, str] = {}
    for ef in env_files:
        env.update(read_env_file(ef))
    env.update(process_env)
    profiles = list(opts.profiles) or [p for p in (env.get("COMPOSE_PROFILES") or "").split(",") if p]
    stack_files = [f.resolve() for f in files]
    override = None
    state = _state_dir(manifest, project_dir)
    if with_secrets_override and (state / SECRETS_OVERRIDE_NAME).is_file():
        override = state / SECRETS_OVERRIDE_NAME
        stack_files.append(override)
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


def rebuild_with_files(stack: Stack, files: list[Path]) -> Stack:
    loaded = build_model(files, stack.project_dir, stack.environ)
    override = next((f for f in files if f.name == SECRETS_OVERRIDE_NAME
                     and f.parent.name == STATE_DIR_NAME), None)
    return Stack(name=stack.name, project_dir=stack.project_dir, files=files,
                 env_files=stack.env_files, environ=stack.environ, profiles=stack.profiles,
                 loaded=loaded, mode=stack.mode, manifest=stack.manifest,
                 secrets_override=override, explicit_files=stack.explicit_files)


def _state_dir(manifest: Manifest | None, project_dir: Path) -> Path:
    return (manifest.root if manifest is not None else project_dir) / STATE_DIR_NAME


def state_dir(stack: Stack) -> Path:
    """`.toolbox-tui/` at the repository root (manifest) or project dir: backups, journals, override."""
    return _state_dir(stack.manifest, stack.project_dir)


def secrets_override_path(stack: Stack) -> Path:
    return state_dir(stack) / SECRETS_OVERRIDE_NAME
