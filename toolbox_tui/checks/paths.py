"""Every host path the stack needs, checked before `up`: bind sources, build contexts,
Dockerfiles, env files, secret/config files and extends files — with candidates from the repo.

Also catches what a previous `up` left behind: Docker creates an empty root-owned *directory*
where a missing file bind source was, and the next `up` mounts that directory instead of a file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from toolbox_tui.checks.placeholders import is_placeholder
from toolbox_tui.checks.repo_index import RepoIndex, _common_suffix, _distance, content_groups
from toolbox_tui.compose.model import Stack
from toolbox_tui.compose.refs import PathRef
from toolbox_tui.findings import FAIL, PASS, WARN, Check

_KIND_TEXT = {
    "bind": "bind mount source",
    "build_context": "build context",
    "dockerfile": "Dockerfile",
    "env_file": "env_file",
    "secret_file": "secret file",
    "config_file": "config file",
    "extends_file": "extends file",
}


def ref_id(ref: PathRef) -> str:
    owner = ref.service if ref.kind not in ("secret_file", "config_file") else ref.name
    suffix = f".{ref.index}" if ref.index is not None else ""
    return f"paths.{ref.kind}.{owner or 'project'}{suffix}"


def _display(stack: Stack, p: Path) -> str:
    try:
        return os.path.relpath(p, stack.root_dir())
    except ValueError:
        return str(p)


def path_checks(stack: Stack, *, index: RepoIndex | None = None,
                overrides: dict[str, Path] | None = None) -> list[Check]:
    """One check per path reference. `overrides` maps a check id to Compose's resolved path
    (from `docker compose config`), which wins over ours when they disagree."""
    out: list[Check] = []
    idx = index
    for ref in stack.path_refs():
        cid = ref_id(ref)
        path = (overrides or {}).get(cid, ref.path)
        what = _KIND_TEXT[ref.kind]
        owner = f"service {ref.service!r}" if ref.service else f"{ref.kind.split('_')[0]} {ref.name!r}"
        if ref.kind in ("secret_file", "config_file"):
            owner = f"{ref.kind.split('_')[0]} {ref.name!r}"
        loc = ref.loc
        common = dict(id=cid, area="paths", file=loc.file if loc else None,
                      line=loc.line if loc else None, column=loc.column if loc else None,
                      service=ref.service, path=str(path))
        data = [("kind", ref.kind), ("raw", ref.raw), ("expect", ref.expect), ("syntax", ref.syntax)]
        if ref.target:
            data.append(("target", ref.target))
        if ref.name:
            data.append(("name", ref.name))

        exists = path.exists()
        is_dir = path.is_dir()
        problem = None
        if not exists:
            problem = "missing"
        elif ref.expect == "file" and is_dir:
            problem = "dir_instead_of_file"
        elif ref.expect == "dir" and not is_dir:
            problem = "file_instead_of_dir"
        if problem is None:
            out.append(Check(severity="info", status=PASS,
                             title=f"{what} of {owner} exists: {_display(stack, path)}",
                             data=tuple(data), **common))
            continue
        culprits = _culprit_vars(stack, ref)
        if culprits:
            out.append(_variable_problem(stack, ref, path, problem, what, owner, culprits,
                                         data, common))
            continue
        if idx is None:
            idx = RepoIndex.build(stack.root_dir())
        want_dir = ref.expect == "dir"
        cands = idx.candidates(path, want_dir=want_dir)
        if ref.expect == "any":
            # Docker creates a directory for a missing source: a file of the same name is a
            # candidate only when it is mounted under its own name (`./Caddyfile:/etc/caddy/Caddyfile`).
            same_name = os.path.basename((ref.target or "").rstrip("/")) == path.name
            cands = sorted(idx.candidates(path, want_dir=True) + (cands if same_name else []),
                           key=lambda p: (-_common_suffix(p, path), _distance(p, path), str(p)))
        cands = [c for c in cands if not _foreign(c, stack.project_dir, stack.root_dir())]
        groups = content_groups(cands) if cands and not want_dir else [(c,) for c in cands]
        data += [("problem", problem), ("groups", tuple(tuple(str(p) for p in g) for g in groups))]
        cand_text = ""
        if cands:
            cand_text = " Found elsewhere in the repo: " + ", ".join(_display(stack, c) for c in cands[:3])
            if len(cands) > 3:
                cand_text += f" (+{len(cands) - 3} more)"
            cand_text += "."
        status, sev, title, detail, hint = _problem_text(stack, ref, path, problem, what, owner,
                                                         cands, cand_text, data)
        out.append(Check(severity=sev, status=status, title=title, detail=detail, hint=hint,
                         candidates=tuple(str(c) for c in cands), data=tuple(data), **common))
    return out


def _problem_text(stack: Stack, ref: PathRef, path: Path, problem: str, what: str, owner: str,
                  cands: list[Path], cand_text: str,
                  data: list[tuple[str, Any]]) -> tuple[str, str, str, str, str]:
    """(status, severity, title, detail, hint) of a path reference that has `problem`."""
    loc = ref.loc
    if problem == "missing":
        if ref.kind == "bind" and not ref.required:
            status, sev = WARN, "warning"
            detail = (f"{_display(stack, path)} does not exist; Docker will create an empty "
                      "root-owned directory there on `up`.")
            hint = "Create the directory (or fix the path) if the service expects content in it."
        elif ref.kind == "env_file" and not ref.required:
            status, sev = PASS, "info"
            detail = f"{_display(stack, path)} does not exist (optional: required: false)."
            hint = ""
        elif ref.kind in ("secret_file", "config_file") and not ref.required:
            status, sev = WARN, "warning"
            detail = f"{_display(stack, path)} does not exist, but no enabled service uses {owner}."
            hint = "Create it before enabling a service that uses it."
        else:
            status, sev = FAIL, "error"
            consequence = {
                "bind": " Docker would create an empty directory there and mount it where the "
                        "service expects a file.",
                "build_context": " `docker compose build` cannot start.",
                "dockerfile": " `docker compose build` cannot start.",
                "env_file": " Compose refuses to load the project.",
                "secret_file": " `up` fails for the services that use it.",
                "config_file": " `up` fails for the services that use it.",
                "extends_file": " Compose refuses to load the project.",
            }[ref.kind]
            detail = f"{_display(stack, path)} does not exist.{consequence}{cand_text}"
            if ref.kind == "secret_file" and loc and stack.secrets_override is not None \
                    and loc.file == str(stack.secrets_override):
                detail = (f"{path} was written by `toolbox-tui secrets materialize` and is gone "
                          "(the runtime directory is emptied on reboot).")
                hint = "Run `toolbox-tui secrets materialize` (or `toolbox-tui up`) to write it again."
            elif ref.kind == "secret_file":  # the secrets flow provides it (SecretDef.file_missing)
                hint = (f"Run `toolbox-tui secrets set {ref.name}` (or `secrets generate "
                        f"{ref.name}`): the value is kept in the keyring and `toolbox-tui up` "
                        f"provides the file, nothing is written in the repository. "
                        + ("Or run `toolbox-tui fix` to copy, link or re-point it." if cands
                           else f"Or create {_display(stack, path)} yourself."))
            else:
                hint = ("Run `toolbox-tui fix` to copy, link or re-point it." if cands
                        else f"Create {_display(stack, path)} or correct the path at "
                             f"{loc.file if loc else 'the compose file'}:{loc.line if loc else '?'}.")
        title = f"{what} of {owner} is missing: {ref.raw}"
    elif problem == "dir_instead_of_file":
        empty = not any(path.iterdir()) if os.access(path, os.R_OK) else False
        data.append(("dir_empty", empty))
        status, sev = (FAIL, "error")
        title = f"{what} of {owner} is a directory where a file is expected: {ref.raw}"
        detail = ((f"{_display(stack, path)} is an empty directory — what Docker leaves behind "
                   "after an `up` with the file missing." if empty else
                   f"{_display(stack, path)} is a directory with content, but the mount target "
                   f"{ref.target or ''} looks like a file.") + cand_text)
        hint = ("Run `toolbox-tui fix` to replace the empty directory with the file." if empty
                else "Check which of the two is right; toolbox-tui will not remove a directory "
                     "that has content.")
    else:
        status, sev = FAIL, "error"
        title = f"{what} of {owner} is a file, not a directory: {ref.raw}"
        detail = f"{_display(stack, path)} is a file.{cand_text}"
        hint = "Point the reference at a directory."
    return status, sev, title, detail, hint


VENDORED_DIRS = {"vendor", "node_modules", "third_party", "third-party", "bower_components"}
"""Directories holding other people's packages: never a source of a fix for this project."""
_COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def _foreign(candidate: Path, project_dir: Path, root: Path) -> bool:
    """True for a candidate inside a vendored package or another Compose project's directory
    (a directory with its own compose file that does not contain this project)."""
    project_dir = project_dir.resolve()
    d = candidate.parent.resolve()
    while d != d.parent and d != root and not project_dir.is_relative_to(d):
        if d.name in VENDORED_DIRS or any((d / n).is_file() for n in _COMPOSE_NAMES):
            return True
        d = d.parent
    return False


def _culprit_vars(stack: Stack, ref: PathRef) -> list[tuple[str, str]]:
    """(variable, why) for the variables written in this reference that are unset or still a
    placeholder: then the path is wrong because of them, and the fix is the variable."""
    loc = ref.loc
    if loc is None:
        return []
    out: list[tuple[str, str]] = []
    for use in stack.var_uses:
        if use.loc is None or use.loc.file != loc.file or use.loc.line != loc.line:
            continue
        if any(n == use.name for n, _ in out):
            continue
        if not use.is_set and not use.has_default:
            out.append((use.name, "unset"))
        elif use.is_set and is_placeholder(stack.environ.get(use.name)):
            out.append((use.name, "placeholder"))
    return out


def _variable_problem(stack: Stack, ref: PathRef, path: Path, problem: str, what: str, owner: str,
                      culprits: list[tuple[str, str]], data: list[tuple[str, Any]],
                      common: dict[str, Any]) -> Check:
    """A path that is wrong because a variable in it is unset or a placeholder."""
    names = [n for n, _ in culprits]
    why = "; ".join(f"${{{n}}} is unset" if w == "unset" else
                    f"${{{n}}} is still the placeholder {stack.environ.get(n, '')!r}"
                    for n, w in culprits)
    outside = not path.resolve().is_relative_to(stack.root_dir().resolve())
    env_file = stack.env_files[0] if stack.env_files else stack.project_dir / ".env"
    data += [("problem", problem), ("variables", tuple(names)), ("groups", ())]
    status, sev = (FAIL, "error") if outside or problem != "missing" or ref.required else (WARN, "warning")
    detail = (f"It resolves to {path}" + (" (outside the repository)" if outside else "") + f" because {why}."
              + (" Docker would create that directory on the engine's host." if problem == "missing"
                 and not ref.required else ""))
    return Check(severity=sev, status=status,
                 title=f"{what} of {owner} resolves to {path}: {why}",
                 detail=detail,
                 hint=f"Set {', '.join(names)} in {_display(stack, env_file)} (see the project's "
                      "env template or README), then re-run the doctor.",
                 data=tuple(data), **common)
