"""Which files, directory, name and env files a project's options select, before anything is
parsed: the light half of `toolbox_tui.compose.project` (no YAML, no dotenv), so the doctor can
start `docker compose config` (`early_compose_args`) while the rest of the package loads.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolbox_tui.compose.manifest import Manifest

MANIFEST_NAMES = (".toolbox-tui.yml", ".toolbox-tui.yaml", "toolbox-tui.yml")
"""Where the optional manifest lives (`toolbox_tui.compose.manifest`)."""

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
    from toolbox_tui.compose.yaml_source import LoadError

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


def compose_args(name: str, project_dir: Path, files: list[Path], profiles: list[str],
                 env_files: list[Path]) -> list[str]:
    """`docker compose` project arguments naming exactly this project (`Stack.compose_args`)."""
    args = ["--project-directory", str(project_dir), "-p", name]
    for f in files:
        args += ["-f", str(f)]
    for p in profiles:
        args += ["--profile", p]
    for e in env_files:
        args += ["--env-file", str(e)]
    return args


def early_compose_args(opts: ProjectOptions) -> list[str] | None:
    """The `compose_args` that `load_stack(opts)` will give its stack, worked out without parsing
    anything; None whenever only loading can tell (a manifest, an env file that sets `COMPOSE_*`,
    one that is not a readable regular file: loading refuses that before Compose runs). Still a
    guess (a `name:` in a file renames the project): compare with the loaded stack's."""
    from toolbox_tui.safe_read import ENV, read_bytes
    from toolbox_tui.state_dir import recorded_override

    cwd = Path(opts.cwd)
    start = Path(cwd, opts.project_dir).resolve() if opts.project_dir else cwd.resolve()
    if any((d / n).is_file() for d in (start, *start.parents) for n in MANIFEST_NAMES) or opts.mode:
        return None
    if opts.files:
        files = [Path(cwd, f).absolute() for f in opts.files]
    elif os.environ.get("COMPOSE_FILE"):
        files = [Path(cwd, f).absolute() for f in _split_files(os.environ["COMPOSE_FILE"])]
    else:
        try:
            files = _default_files(start)
        except Exception:  # noqa: BLE001 - LoadError: loading says it properly
            return None
    if not all(f.is_file() for f in files):
        return None
    project_dir = Path(cwd, opts.project_dir).resolve() if opts.project_dir else files[0].parent.resolve()
    env_files = _compose_dotenv_files(opts, project_dir, None)
    for ef in env_files:
        try:
            if b"COMPOSE_" in read_bytes(ef, ENV):
                return None
        except Exception:  # noqa: BLE001 - refused or unreadable: loading says so, Compose never runs
            return None
    name = normalize_project_name(opts.project_name or os.environ.get("COMPOSE_PROJECT_NAME")
                                  or project_dir.name)
    if not name:
        return None
    profiles = list(opts.profiles) or [p for p in (os.environ.get("COMPOSE_PROFILES") or "").split(",") if p]
    stack_files = [f.resolve() for f in files]
    override = recorded_override(project_dir)
    if override is not None:
        stack_files.append(override)
    return compose_args(name, project_dir, stack_files, profiles, env_files)
