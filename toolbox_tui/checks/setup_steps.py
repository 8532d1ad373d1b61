"""The project's own set-up step: what a newcomer's docs say to run before the first `up`.

Many projects want one command run before `docker compose up`: `./install.sh`,
`./generate_config.sh`, `cp env.example .env`, a `tee docker-compose.override.yml <<EOF`. The
docs a newcomer follows (`docs.newcomer_docs`) are read up to the first command that starts the
stack (`docker compose up`/`watch`, a `start*.sh`/`run*.sh` script); what comes before and names
a file of this repository is a set-up step, with the document and line that names it.

Nothing outside the repository is followed: a script that resolves outside it (a symlink), a
step that downloads code (`curl ... | bash`) or one that leaves the repository (`cd ~`) is
listed with the reason it is not run. `setup_checks` turns the steps into doctor findings: a
step whose output is missing has not been run yet. Running one is `lifecycle.setup_run`.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from toolbox_tui.checks.docs import newcomer_docs
from toolbox_tui.checks.placeholders import setup_scripts
from toolbox_tui.findings import PASS, WARN, Check
from toolbox_tui.safe_read import DOC, Kind, ReadRefused, read_text, resolves_outside

SCRIPT_FILE = Kind("set-up script", 512 * 1024, "A set-up script this large is not read; run it yourself.")
MAX_STEPS = 8
"""At most this many steps are taken from the docs (a README is not a script)."""
MAX_HEREDOC_LINES = 200

SCRIPT, COPY, WRITE, REFUSED = "script", "copy", "write", "refused"
"""Step kinds: run a repository script; copy a repository file; write a file the docs spell
out (a heredoc); a step named by the docs that toolbox-tui will not run (the reason says why)."""

_FENCE = re.compile(r"^\s*(```|~~~)")
_PROMPT = re.compile(r"^\s*(?:[$#>]\s+)?")
_SUDO = re.compile(r"^sudo\s+(?:-\S+\s+)*")
_STARTS = re.compile(r"\bdocker[- ]compose\b(?:\s+-{1,2}\S+(?:\s+(?!up\b|watch\b|start\b)[^\s-]\S*)?)*"
                     r"\s+(?:up|watch|start)\b|\bdocker\s+stack\s+deploy\b|\bmake\s+(?:up|start|run)\b")
_START_SCRIPT = re.compile(r"^(?:start|run|up|launch|serve|deploy|stop|down)\b", re.IGNORECASE)
RUNNERS = {"bash", "sh", "zsh", "source", "."}
_SHELL_SYNTAX = re.compile(r"[|;&<>`$(){}*?\[\]]")
_HEREDOC = re.compile(r"^(?:tee|cat\s*>)\s*(?P<file>[A-Za-z0-9_./-]+)\s*<<-?\s*['\"]?(?P<end>\w+)['\"]?\s*$")
_REMOTE = re.compile(r"\b(?:curl|wget)\b.*(?:\|\s*(?:sudo\s+)?(?:ba|z)?sh\b|\bsh\s+-c\b)"
                     r"|(?:ba|z)?sh\s+-c\s+[\"']?\$\((?:curl|wget)\b")
_WRITES = re.compile(r"(?:^|[\s;&|])(?:>>?|tee(?:\s+-a)?)\s*[\"']?(?P<f>\.?[A-Za-z0-9_][A-Za-z0-9_./-]*|\.{1,2}/[A-Za-z0-9_./-]+)[\"']?")
_INLINE = re.compile(r"`([^`]+)`")
_PROSE_SCRIPT = re.compile(r"(?<![\w/.-])(\./[A-Za-z0-9_.-]+\.sh)\b")


@dataclass(frozen=True)
class SetupStep:
    """One set-up step the docs name. Paths are absolute strings; `command` is the docs' text
    (untrusted: sanitize before showing it)."""

    kind: str
    """script | copy | write | refused."""
    command: str
    """The command as the docs show it."""
    doc: str
    """The document that names it, and the line."""
    line: int
    cwd: str
    """Where it runs (the directory the docs run it in; inside the repository)."""
    argv: tuple[str, ...] = ()
    """What is run (script), relative to `cwd`; never through a shell."""
    script: str | None = None
    """The repository file a script step runs (its resolved path)."""
    source: str | None = None
    """A copy's source."""
    target: str | None = None
    """The file a copy or a heredoc writes."""
    content: str = ""
    """A heredoc's text (written as the docs spell it)."""
    creates: tuple[str, ...] = ()
    """Files the step writes, as far as can be told (a script's literal `> FILE` targets)."""
    reason: str = ""
    """Why toolbox-tui will not run it (kind refused), or ""."""
    writes_needed: str = ""
    """Found not in the docs but as the script that writes this missing file Compose needs
    (or fills these empty values: `JICOFO_AUTH_PASSWORD in .env`)."""
    pending: bool = False
    """What it makes is known to be missing (empty values it fills): not run yet."""

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    def has_run(self) -> bool | None:
        """True when everything it writes is there, False when none of it is, None when that
        cannot be told (a script whose outputs are not literal file names)."""
        if self.pending:
            return False
        if not self.creates:
            return None
        there = [os.path.lexists(p) for p in self.creates]
        return True if all(there) else False if not any(there) else None


def _inside(path: Path, root: Path) -> bool:
    return not resolves_outside(path, root)


def _commands(text: str) -> Iterator[tuple[int, str, list[str] | None]]:
    """(line number, command text, heredoc lines or None) for each command the doc shows, in
    code blocks and in inline code, up to and including the first command that starts the stack."""
    lines = text.splitlines()
    in_code = False
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            cmd = _SUDO.sub("", line[_PROMPT.match(line).end():].strip())
            m = _HEREDOC.match(cmd)
            if m:
                body: list[str] = []
                while i < len(lines) and lines[i].strip() != m.group("end") \
                        and len(body) < MAX_HEREDOC_LINES:
                    body.append(lines[i])
                    i += 1
                i += 1
                yield i - len(body) - 1, cmd, body
            elif cmd:
                yield i, cmd, None
            continue
        for m in _INLINE.finditer(line):  # inline code: only what reads as a command to run
            code = _SUDO.sub("", m.group(1).strip())
            if re.match(r"(?:\./|(?:ba|z)?sh\s|cp\s|tee\s|docker)", code) or _REMOTE.search(code):
                yield i, code, None
        for m in _PROSE_SCRIPT.finditer(_INLINE.sub("", line)):
            yield i, m.group(1), None


def _script_writes(script: Path, cwd: Path, root: Path) -> tuple[str, ...]:
    """The files a script writes by a literal name (`> mailcow.conf`, `tee .env`), inside the
    repository; read bounded."""
    try:
        text = read_text(script, SCRIPT_FILE)
    except ReadRefused:
        return ()
    out: list[str] = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for m in _WRITES.finditer(line):
            f = m.group("f")
            p = (cwd / f).resolve()
            if f.startswith(("/", "&")) or not p.is_relative_to(root) or str(p) in out:
                continue
            out.append(str(p))
    return tuple(out[:16])


def _is_script(path: Path) -> bool:
    """A file a shell would run: `*.sh`/`*.bash`, or executable with a `#!` line."""
    if path.suffix in (".sh", ".bash"):
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"#!" and os.access(path, os.X_OK)
    except OSError:
        return False


def _step(cmd: str, n: int, body: list[str] | None, doc: Path, cwd: Path, root: Path
          ) -> SetupStep | None:
    """The set-up step `cmd` is, or None when it is not one (a command of another tool)."""
    base = dict(command=cmd, doc=str(doc), line=n, cwd=str(cwd))
    if _REMOTE.search(cmd):
        return SetupStep(kind=REFUSED, reason="it downloads code from the network and runs it; "
                         "toolbox-tui only runs the repository's own files", **base)
    if body is not None:
        m = _HEREDOC.match(cmd)
        target = (cwd / m.group("file")).resolve()
        if not target.is_relative_to(root):
            return None
        return SetupStep(kind=WRITE, target=str(target), content="\n".join(body) + "\n",
                         creates=(str(target),), **base)
    try:
        words = shlex.split(cmd, comments=True)
    except ValueError:
        return None
    if not words:
        return None
    if words[0] == "cp":
        args = [w for w in words[1:] if not w.startswith("-")]
        if len(args) != 2 or any(_SHELL_SYNTAX.search(a) for a in args):
            return None
        src, dst = (cwd / args[0]), (cwd / args[1])
        if not src.is_file() or not _inside(src, root) or not dst.resolve().is_relative_to(root):
            return None
        if dst.is_dir():
            dst = dst / src.name
        return SetupStep(kind=COPY, source=str(src.resolve()), target=str(dst.absolute()),
                         creates=(str(dst.absolute()),), **base)
    runner = None
    if words[0] in RUNNERS and len(words) > 1:
        runner, words = words[0], words[1:]
    prog = words[0]
    if "/" not in prog and not (runner and prog.endswith(".sh")):
        return None
    path = cwd / prog
    if not os.path.lexists(path) or not (path.is_file() or path.is_symlink()):
        return None  # a missing script is the docs check's finding (docs.missing)
    if not runner and not _is_script(path):
        return None  # a data file named in a code block (`rtc-visualizer/.data/users.json`)
    if _START_SCRIPT.match(path.name):
        return None
    if resolves_outside(path, root):
        return SetupStep(kind=REFUSED, script=os.path.realpath(path), reason=(
            f"{prog} resolves outside the repository ({os.path.realpath(path)}); "
            "toolbox-tui only runs the repository's own files"), **base)
    if any(_SHELL_SYNTAX.search(w) for w in words[1:]):
        return SetupStep(kind=REFUSED, script=str(path.resolve()), reason=(
            "its arguments use shell syntax (pipes, variables, redirections); run it yourself"),
            **base)
    if runner in ("source", "."):
        runner = "bash"
    argv = ((runner,) if runner else ()) + (prog if "/" in prog else f"./{prog}",) + tuple(words[1:])
    return SetupStep(kind=SCRIPT, argv=argv, script=str(path.resolve()),
                     creates=_script_writes(path, cwd, root), **base)


def _steps_in(doc: Path, root: Path) -> Iterator[SetupStep]:
    try:
        text = read_text(doc, DOC)
    except ReadRefused:
        return
    cwd, cloned = doc.parent.resolve(), False
    for n, cmd, body in _commands(text):
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
        step = _step(cmd, n, body, doc, cwd, root)
        if step is not None:
            if step.kind == SCRIPT and _START_SCRIPT.match(os.path.basename(step.argv[-1])):
                return
            yield step


def _writer_steps(root: Path, dirs: list[Path], needed: list[Path]) -> Iterator[SetupStep]:
    """A script at the repository root or in the compose directory that writes a file the
    project needs and lacks (mailcow: `.env` links to `mailcow.conf`, which
    `generate_config.sh` writes): the set-up step, even when the docs naming it are elsewhere."""
    want = {str(p) for p in needed}
    for script in setup_scripts(dirs):
        if resolves_outside(script, root) or _START_SCRIPT.match(script.name):
            continue
        creates = _script_writes(script, script.parent.resolve(), root)
        hit = [c for c in creates if c in want]
        if not hit:
            continue
        line = 1
        try:
            name = os.path.basename(hit[0])
            for n, text in enumerate(read_text(script, SCRIPT_FILE).splitlines(), 1):
                if name in text and _WRITES.search(text):
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
    docs = [d for d in newcomer_docs(root, project_dir or root, compose_files) if _inside(d, root)]
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
                             creates=_script_writes(script, script.parent.resolve(), root)))
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
