"""The project's own set-up step: what a newcomer's docs say to run before the first `up`.

Many projects want one command run before `docker compose up`: `./install.sh`,
`./generate_config.sh`, `cp env.example .env`, a `tee docker-compose.override.yml <<EOF`. The
docs a newcomer follows (`docs.newcomer_docs`) are read up to the first command that starts the
stack (`docker compose up`/`watch`, a `start*.sh`/`run*.sh` script); what comes before and names
a file of this repository is a set-up step, with the document and line that names it.

Nothing outside the repository is followed: a script that resolves outside it (a symlink), a
step that downloads code (`curl ... | bash`) or one that leaves the repository (`cd ~`) is
listed with the reason it is not run. `setup_checks` turns the steps into doctor findings: a
step whose output is missing has not been run yet. How one command is read: `setup_commands`;
running one: `lifecycle.setup_run`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Iterator

from toolbox_tui.checks.docs import newcomer_docs
from toolbox_tui.checks.placeholders import setup_scripts
from toolbox_tui.checks.setup_commands import (COPY, REFUSED, SCRIPT, SCRIPT_FILE, START_SCRIPT, WRITE,
                                               WRITES, SetupStep, classify_command, doc_commands,
                                               inside, script_writes)
from toolbox_tui.findings import PASS, WARN, Check
from toolbox_tui.safe_read import DOC, ReadRefused, read_text, resolves_outside

MAX_STEPS = 8
"""At most this many steps are taken from the docs (a README is not a script)."""
_STARTS = re.compile(r"\bdocker[- ]compose\b(?:\s+-\S*(?:\s+(?!up\b|watch\b|start\b)[^\s-]\S*)?)*"
                     r"\s+(?:up|watch|start)\b|\bdocker\s+stack\s+deploy\b|\bmake\s+(?:up|start|run)\b")
r"""A command that starts the stack: the set-up steps are the commands before it. Each option is
one `-\S*` token (`-{1,2}\S+` could split `--x` two ways: 2^n tries on `docker compose --x --x ... !`)."""


def _steps_in(doc: Path, root: Path) -> Iterator[SetupStep]:
    try:
        text = read_text(doc, DOC)
    except ReadRefused:
        return
    cwd, cloned = doc.parent.resolve(), False
    for n, cmd, body in doc_commands(text):
        if _STARTS.search(cmd):
            return
        words = cmd.split()
        if words[:2] == ["git", "clone"]:
            cloned = True
            continue
        if words and words[0] == "cd":
            target = (cwd / words[1]).resolve() if len(words) > 1 else Path.home()
            if target.is_dir() and target.is_relative_to(root):
                cwd = target
            elif not (cloned and len(words) == 2 and "/" not in words[1].strip("/")):
                return  # the docs go elsewhere: later commands are not about this repository
            cloned = False
            continue
        step = classify_command(cmd, n, body, doc, cwd, root)
        if step is not None:
            if step.kind == SCRIPT and START_SCRIPT.match(os.path.basename(step.argv[-1])):
                return
            yield step


def _writer_steps(root: Path, dirs: list[Path], needed: list[Path]) -> Iterator[SetupStep]:
    """A script at the repository root or in the compose directory that writes a file the
    project needs and lacks (mailcow: `.env` links to `mailcow.conf`, which
    `generate_config.sh` writes): the set-up step, even when the docs naming it are elsewhere."""
    want = {str(p) for p in needed}
    for script in setup_scripts(dirs):
        if resolves_outside(script, root) or START_SCRIPT.match(script.name):
            continue
        creates = script_writes(script, script.parent.resolve(), root)
        hit = [c for c in creates if c in want]
        if not hit:
            continue
        line = 1
        try:
            name = os.path.basename(hit[0])
            for n, text in enumerate(read_text(script, SCRIPT_FILE).splitlines(), 1):
                if name in text and WRITES.search(text):
                    line = n
                    break
        except ReadRefused:
            continue
        yield SetupStep(kind=SCRIPT, command=f"./{script.name}", doc=str(script), line=line,
                        cwd=str(script.parent.resolve()), argv=(f"./{script.name}",),
                        script=str(script.resolve()), creates=creates,
                        writes_needed=os.path.relpath(hit[0], root))


def empty_value_fillers(checks: Iterable[Check], root: Path) -> list[tuple[Path, str]]:
    """(script, what it fills) from the env checks' `env.empty_secret.*` findings: the project's
    script that generates the values a copied template leaves empty."""
    by_script: dict[str, list[str]] = {}
    env_file = ""
    for c in checks:
        if c.id.startswith("env.empty_secret."):
            data = dict(c.data)
            env_file = os.path.relpath(c.path, root) if c.path else ".env"
            for sc in data.get("scripts", ())[:1]:
                by_script.setdefault(sc, []).append(str(data.get("variable")))
    out = []
    for sc, keys in by_script.items():
        shown = ", ".join(keys[:3]) + (f" (+{len(keys) - 3} more)" if len(keys) > 3 else "")
        out.append((Path(sc), f"{shown} in {env_file}"))
    return out


def needed_files(project_dir: Path, env_files: Iterable[Path] = ()) -> list[Path]:
    """Files Compose reads that are not there: the interpolation env file (`.env`), or what a
    dangling `.env` link points at."""
    out = []
    for env in list(env_files) or [project_dir / ".env"]:
        if env.is_symlink() and not env.exists():
            out.append(Path(os.path.realpath(env)))
        elif not os.path.lexists(env):
            out.append(env.absolute())
    return out


def find_setup_steps(root: Path, project_dir: Path | None = None,
                     compose_files: Iterable[Path] = (),
                     needed: Iterable[Path] = (),
                     fillers: Iterable[tuple[Path, str]] = ()) -> list[SetupStep]:
    """The set-up steps the newcomer's docs name before the first `up`, in reading order (the
    root README first), each once; then a root or compose-directory script that writes one of
    the `needed` files (`needed_files`), when the docs did not name it."""
    root = root.resolve()
    docs = [d for d in newcomer_docs(root, project_dir or root, compose_files) if inside(d, root)]
    docs.sort(key=lambda d: (d.parent != root, not d.name.lower().startswith("readme"), str(d)))
    out: list[SetupStep] = []
    seen: set[str] = set()
    for doc in docs:
        for step in _steps_in(doc, root):
            key = f"{step.cwd}\0{step.command}"
            if key not in seen:
                seen.add(key)
                out.append(step)
            if len(out) >= MAX_STEPS:
                return out
    named = {s.script for s in out}
    dirs = [root] + ([project_dir.resolve()] if project_dir and project_dir.resolve() != root else [])
    for step in _writer_steps(root, dirs, [p.resolve() for p in needed]):
        if step.script not in named and len(out) < MAX_STEPS:
            out.append(step)
            named.add(step.script)
    for script, what in fillers:  # jitsi: gen-passwords.sh fills the passwords left empty
        real = str(script.resolve())
        if real in named or resolves_outside(script, root) or len(out) >= MAX_STEPS:
            continue
        named.add(real)
        out.append(SetupStep(kind=SCRIPT, command=f"./{script.name}", doc=str(script), line=1,
                             cwd=str(script.parent.resolve()), argv=(f"./{script.name}",),
                             script=real, writes_needed=what, pending=True,
                             creates=script_writes(script, script.parent.resolve(), root)))
    return out


def describe(step: SetupStep, root: Path) -> str:
    """What running `step` does, in one sentence (paths relative to the repository)."""
    rel = lambda p: os.path.relpath(p, root)  # noqa: E731
    if step.kind == SCRIPT:
        return (f"runs {rel(step.script)} (the repository's own code) in "
                f"{rel(step.cwd) if step.cwd != str(root) else 'the repository root'}")
    if step.kind == COPY:
        return f"copies {rel(step.source)} to {rel(step.target)}"
    if step.kind == WRITE:
        return f"writes {rel(step.target)} ({len(step.content.splitlines())} lines, as the docs spell it)"
    return f"is not run by toolbox-tui: {step.reason}"


def setup_checks(root: Path, project_dir: Path | None = None,
                 compose_files: Iterable[Path] = (), needed: Iterable[Path] = (),
                 fillers: Iterable[tuple[Path, str]] = ()) -> list[Check]:
    """Doctor findings: each set-up step the docs name, and whether it has been run yet (where
    that can be told: the file it writes is missing)."""
    root = root.resolve()
    out: list[Check] = []
    for step in find_setup_steps(root, project_dir, compose_files, needed, fillers):
        doc = os.path.relpath(step.doc, root)
        ran = step.has_run()
        ident = f"docs.setup.{doc}:{step.line}"
        title = (f"{doc} fills {step.writes_needed}: the set-up step is `{step.command}`"
                 if step.pending else
                 f"{doc}:{step.line} writes {step.writes_needed}, which Compose needs: the set-up "
                 f"step is `{step.command}`" if step.writes_needed else
                 f"{doc}:{step.line} says to run `{step.command}` before `docker compose up`")
        here = os.path.relpath(step.cwd, root)
        here = "the repository root" if here == "." else here
        if step.kind == REFUSED:
            out.append(Check(id=ident, area="docs", severity="warning", status=WARN, title=title,
                             detail=f"toolbox-tui will not run it: {step.reason}.",
                             hint="Read it, and run it yourself if you trust it.",
                             file=step.doc, line=step.line, path=step.script))
        elif ran is False:
            missing = ([step.writes_needed] if step.pending else
                       [os.path.relpath(p, root) for p in step.creates if not os.path.lexists(p)])
            out.append(Check(
                id=ident, area="docs", severity="warning", status=WARN,
                title=f"{title}; it has not been run yet",
                detail=f"It {describe(step, root)}; " + (
                    f"{step.writes_needed} {'is' if ',' not in step.writes_needed else 'are'} "
                    "still empty." if step.pending else
                    f"{', '.join(missing[:4])} {'is' if len(missing) == 1 else 'are'} not there yet."),
                hint="Run `toolbox-tui setup` (it shows the command and asks first), "
                     f"or run `{step.command}` yourself in {here}.",
                file=step.doc, line=step.line, path=step.script or step.target,
                data=(("kind", step.kind), ("creates", step.creates))))
        else:
            out.append(Check(
                id=ident, area="docs", severity="info", status=PASS,
                title=title + ("; it has been run" if ran else ""),
                detail=f"It {describe(step, root)}." + (
                    "" if ran else " Whether it has been run cannot be told from the files."),
                hint="" if ran else "`toolbox-tui setup` runs it after you confirm.",
                file=step.doc, line=step.line, path=step.script or step.target,
                data=(("kind", step.kind), ("creates", step.creates))))
    return out
