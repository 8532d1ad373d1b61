"""Values in the env file that stop a stack or leave it insecure: a `.env` symlink to a file the
project's set-up script has not written yet, placeholders still in place (`changeme`,
`/<directory-path>/...`), and empty passwords the project's own script would generate."""

from __future__ import annotations

import os
import re
from pathlib import Path

from toolbox_tui.safe_read import ENV, ReadRefused, read_text
from toolbox_tui.checks.placeholders import is_placeholder, scripts_mentioning, setup_scripts
from toolbox_tui.compose.env_files import read_env_file
from toolbox_tui.compose.model import Stack
from toolbox_tui.findings import FAIL, WARN, Check
from toolbox_tui.secret_names import is_secret_like

_KEY_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=")


def _rel(stack: Stack, p: Path) -> str:
    return os.path.relpath(p, stack.root_dir())


def _script_hint(stack: Stack, scripts: list[Path], what: str) -> str:
    names = f"./{_rel(stack, scripts[0])}"
    return (f"Run {names} first: the project's own set-up script {what} (it is the repository's "
            "code: read it before running it).")


def dangling_env_check(stack: Stack, target: Path) -> Check:
    """`.env` is a symlink to a file that does not exist (mailcow: `.env -> mailcow.conf`)."""
    link = os.readlink(target)
    scripts = scripts_mentioning(setup_scripts([stack.root_dir(), stack.project_dir]),
                                 os.path.basename(link))
    rel = _rel(stack, target)
    return Check(id="env.file.dangling", area="env", severity="error", status=FAIL,
                 title=f"{rel} is a symlink to {link}, which does not exist",
                 detail=f"Compose reads no variables from {rel}, so every ${{VAR}} it should set "
                        "is empty and the services start misconfigured.",
                 hint=(_script_hint(stack, scripts, f"writes {link}") if scripts else
                       f"Create {link} (see the project's README), then re-run the doctor."),
                 path=str(target), data=(("target", link),
                                         ("scripts", tuple(str(s) for s in scripts))))


def _env_lines(path: Path) -> dict[str, int]:
    try:
        text = read_text(path, ENV)
    except (ReadRefused, OSError):  # a FIFO, a device, too large: the env checks say so
        return {}
    out: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = _KEY_LINE.match(line)
        if m:
            out[m.group(1)] = n
    return out


def _passed_through(stack: Stack) -> set[str]:
    """Variables a service takes from the environment by name (`- POSTGRES_PASSWORD`)."""
    out: set[str] = set()
    for svc in stack.services.values():
        env = svc.data.get("environment")
        if isinstance(env, dict):
            out |= {str(k) for k, v in env.items() if v is None}
        elif isinstance(env, list):
            out |= {str(i) for i in env if "=" not in str(i)}
    return out


def _path_vars(stack: Stack) -> set[str]:
    lines = {(r.loc.file, r.loc.line) for r in stack.path_refs() if r.loc is not None}
    return {u.name for u in stack.var_uses if u.loc and (u.loc.file, u.loc.line) in lines}


def value_checks(stack: Stack, target: Path) -> list[Check]:
    if not target.is_file():
        return []
    try:
        values = read_env_file(target)
    except Exception:  # unreadable or malformed: the syntax check reports it
        return []
    lines = _env_lines(target)
    used = {u.name for u in stack.var_uses} | _passed_through(stack)
    in_paths = _path_vars(stack)
    rel = _rel(stack, target)
    out: list[Check] = []
    scripts: list[Path] | None = None
    for key, value in values.items():
        if key not in used:
            continue
        where = dict(file=str(target), line=lines.get(key), path=str(target))
        if is_placeholder(value):
            path_like = key in in_paths
            out.append(Check(
                id=f"env.placeholder.{key}", area="env",
                severity="error" if path_like else "warning", status=FAIL if path_like else WARN,
                title=f"{key} in {rel} is still the placeholder {value!r}"
                if not is_secret_like(key) else f"{key} in {rel} is still a placeholder",
                detail=("Host paths built from it point nowhere real: Docker would create them on "
                        "the engine's host." if path_like else
                        "The stack starts with a value everyone who read the template knows."),
                hint=f"Set {key} in {rel} to a real value"
                     + (" (a password: `toolbox-tui secrets generate` makes one)." if is_secret_like(key) else "."),
                data=(("variable", key), ("in_paths", path_like)), **where))
        elif value == "" and is_secret_like(key):
            if scripts is None:
                scripts = setup_scripts([stack.root_dir(), stack.project_dir])
            makers = scripts_mentioning(scripts, key)
            if makers:
                out.append(Check(
                    id=f"env.empty_secret.{key}", area="env", severity="error", status=FAIL,
                    title=f"{key} is empty in {rel}",
                    detail="The services that read it refuse to start (or start without "
                           f"authentication); {', '.join(_rel(stack, m) for m in makers)} generates it.",
                    hint=_script_hint(stack, makers, f"fills {key}"),
                    data=(("variable", key), ("scripts", tuple(str(m) for m in makers))), **where))
    return out
