"""The optional manifest, `.toolbox-tui.yml` at the repository root: what a newcomer would
otherwise have to be told (modes and their file sets, the env template, URLs, secret hints).
Everything works without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from toolbox_tui.compose.yaml_source import LDict, LoadError, load_yaml, read_text
from toolbox_tui.safe_read import MANIFEST

from toolbox_tui.compose.discovery import MANIFEST_NAMES  # noqa: F401 - defined there


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


def interpolate_urls(manifest: Manifest, env: Mapping[str, str]) -> Manifest:
    """The manifest with `${VAR}` in its URLs replaced from the project's environment (the same
    interpolation as the compose files), so a port chosen by a variable shows right."""
    from dataclasses import replace

    from toolbox_tui.compose.interpolation import InterpolationError, interpolate_str

    urls = {}
    for label, url in manifest.urls.items():
        try:
            urls[label] = interpolate_str(url, env)
        except InterpolationError as exc:
            raise LoadError(f"manifest: url {label!r}: {exc}", file=str(manifest.path),
                            hint=exc.hint) from None
    return replace(manifest, urls=urls)


def find_manifest(start: Path) -> Path | None:
    for d in (start, *start.parents):
        for name in MANIFEST_NAMES:
            p = d / name
            if p.is_file():
                return p
    return None


def load_manifest(path: Path) -> Manifest:
    doc = load_yaml(path, read_text(path, MANIFEST))
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
