"""Environment checks: variables Compose would silently replace with "", a missing `.env` that a
template describes, template keys missing from the env file, and unparseable env-file lines."""

from __future__ import annotations

import os
from pathlib import Path

from toolbox_tui.compose.model import Stack
from toolbox_tui.findings import FAIL, PASS, WARN, Check
from toolbox_tui.compose.env_files import env_file_problems, template_keys
from toolbox_tui.checks.env_values import dangling_env_check, value_checks
from toolbox_tui.safe_read import resolves_outside


TEMPLATE_NAMES = (".env.example", ".env.template", ".env.sample", ".env.dist", "env.example",
                  "example.env", "env.sample", "sample.env", "env.template", ".env.docker.example")
"""Names projects give the template of their `.env`, in the order tried."""


def _template(stack: Stack, target: Path) -> Path | None:
    """The env template the project actually uses: the manifest's; else one beside the env file
    (`X.example` of `--env-file X` first), the compose directory, then the repository root — and
    only one that defines a variable the compose files use (a root `.env.example` may belong to
    another tool)."""
    if stack.manifest is not None and stack.manifest.env_template is not None:
        return stack.manifest.env_template
    used = {u.name for u in stack.var_uses}
    for p in _template_candidates(stack, target):
        if not resolves_outside(p, stack.root_dir()) and used & set(template_keys(p)):
            return p
    return None


def _template_candidates(stack: Stack, target: Path) -> list[Path]:
    """Existing files with a template's name, in the order tried (a candidate that resolves
    outside the repository is never read: `env_checks` names it)."""
    names = [target.name + s for s in (".example", ".dist", ".sample", ".template")]
    names += [n for n in TEMPLATE_NAMES if n not in names]
    dirs: list[Path] = []
    for d in (target.parent, stack.project_dir, stack.root_dir()):
        if d not in dirs:
            dirs.append(d)
    return [d / name for d in dirs for name in names if d / name != target and (d / name).is_file()]


def _env_target(stack: Stack) -> Path:
    """The env file Compose reads for interpolation (`--env-file`, the manifest's, else `.env`)."""
    if stack.env_files:
        return stack.env_files[0]
    if stack.manifest is not None and stack.manifest.env_file is not None:
        return stack.manifest.env_file
    return stack.project_dir / ".env"


def _not_read(stack: Stack, path: Path) -> Check:
    """A file the repository names that resolves outside it: named, never quoted (its lines or
    keys could be /etc/shadow's or a private key's, and reports end up in CI logs)."""
    shown = os.path.relpath(path, stack.root_dir())
    return Check(id=f"env.outside.{os.path.basename(path)}", area="env", severity="warning",
                 status=WARN, title=f"{shown} resolves outside the repository; it was not read",
                 detail=f"{shown} leads to {os.path.realpath(path)}. toolbox-tui does not check "
                        "or quote the contents of files outside the repository.",
                 hint=f"If {shown} should be part of the project, replace the link with the file "
                      "itself; otherwise remove it.", path=str(path))


def env_checks(stack: Stack) -> list[Check]:
    out: list[Check] = []
    outside: list[Path] = []

    def readable(path: Path | None) -> bool:
        """Whether the checks may read (and quote) `path`: only when it resolves inside the
        repository. A link the repository ships that leads outside is reported once; a file the
        user named outside the repository (--env-file) is simply not checked."""
        if path is None or not resolves_outside(path, stack.root_dir()):
            return True
        if path not in outside:
            outside.append(path)
            if not resolves_outside(os.path.dirname(os.path.abspath(path)), stack.root_dir()):
                out.append(_not_read(stack, path))
        return False

    target = _env_target(stack)
    for candidate in _template_candidates(stack, target):
        readable(candidate)  # one that leads outside the repository is named, not read
    template = _template(stack, target)
    if template is not None and template.is_file() and not readable(template):
        template = None
    tkeys = set(template_keys(template)) if template and template.is_file() else set()
    rel = os.path.relpath(target, stack.root_dir())
    if target.is_symlink() and not target.exists():
        out.append(dangling_env_check(stack, target))
    elif template is not None and template.is_file():
        trel = os.path.relpath(template, stack.root_dir())
        needed = sorted({u.name for u in stack.unset_vars} & tkeys)
        if not target.exists():
            out.append(Check(id="env.file.missing", area="env",
                             severity="error" if needed else "warning",
                             status=FAIL if needed else WARN,
                             title=f"{rel} does not exist",
                             detail=f"The project documents its variables in {trel}, but there is no "
                                    f"{rel} for Compose to read."
                                    + (f" Without it {', '.join(needed[:6])}"
                                       + (f" (+{len(needed) - 6} more)" if len(needed) > 6 else "")
                                       + " are empty." if needed else ""),
                             hint=f"Run `toolbox-tui fix` to create it from {trel}, then review the values.",
                             path=str(target), data=(("template", str(template)),)))
        elif readable(target):
            have = set(template_keys(target))
            missing = sorted(tkeys - have - set(os.environ))
            if missing:
                out.append(Check(id="env.template_keys", area="env", severity="warning", status=WARN,
                                 title=f"{rel} lacks {len(missing)} key(s) from {trel}",
                                 detail="Missing: " + ", ".join(missing),
                                 hint=f"Copy those lines from {trel} into {rel}.",
                                 path=str(target), data=(("missing", tuple(missing)),)))
            else:
                out.append(Check(id="env.template_keys", area="env", severity="info", status=PASS,
                                 title=f"{rel} has every key of {trel}", path=str(target)))
    for ef in stack.env_files:
        if not readable(ef):
            continue
        for line, text in env_file_problems(ef):
            out.append(Check(id=f"env.syntax.{os.path.basename(ef)}.{line}", area="env",
                             severity="error", status=FAIL,
                             title=f"{os.path.relpath(ef, stack.root_dir())}:{line} is not KEY=VALUE",
                             detail=f"Line {line}: {text!r}", file=str(ef), line=line,
                             hint="Fix or comment out the line (python-dotenv and Compose skip or reject it)."))
    if readable(target):
        out += value_checks(stack, target)
    out += _unset_checks(stack, target, tkeys)
    return out


def _unset_checks(stack: Stack, target: Path, tkeys: set[str]) -> list[Check]:
    """One finding per `${VAR}` used without a default and not set (an error when the
    project's template defines it: the user only has to fill it in)."""
    out: list[Check] = []
    rel = os.path.relpath(target, stack.root_dir())
    seen: dict[str, list] = {}
    for use in stack.unset_vars:
        seen.setdefault(use.name, []).append(use)
    for name, uses in sorted(seen.items()):
        first = uses[0].loc
        where = ", ".join(f"{os.path.basename(u.loc.file)}:{u.loc.line}" for u in uses if u.loc)
        known = name in tkeys
        out.append(Check(
            id=f"env.unset.{name}", area="env", severity="error" if known else "warning",
            status=FAIL if known else WARN,
            title=f"${{{name}}} is used without a default and is not set",
            detail=f"Compose would silently use an empty string. Used at {where}." +
                   (" The template defines it." if known else ""),
            hint=(f"Set {name} in {rel}" + (" (create it with `toolbox-tui fix`)." if known and not target.exists() else ".")
                  if known else f"Set {name} in the environment or {rel}, or write ${{{name}:-default}}."),
            file=first.file if first else None, line=first.line if first else None,
            column=first.column if first else None,
            data=(("uses", tuple(str(u.loc) for u in uses if u.loc)),)))
    return out
