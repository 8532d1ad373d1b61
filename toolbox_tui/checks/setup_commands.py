"""One command of a newcomer's docs, read as a set-up step: the commands a Markdown document
shows (code blocks, heredocs, inline code, `./script.sh` in prose), and what each one is — a
repository script to run (never through a shell), a copy, a file the docs spell out, one refused
with its reason (it downloads code, resolves outside the repository, uses shell syntax), or none
(another tool's command). Which documents, and up to where: `setup_steps`.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from toolbox_tui.safe_read import Kind, ReadRefused, read_head, read_text, resolves_outside

SCRIPT_FILE = Kind("set-up script", 512 * 1024, "A set-up script this large is not read; run it yourself.")
MAX_HEREDOC_LINES = 200
MAX_COMMAND = 1000
"""A line longer than this (characters) is not read as a command: no set-up step is that long,
and every pattern here then runs on a bounded text (a 2 MiB line of `curl curl ...` kept the
remote-code pattern busy for hours)."""

SCRIPT, COPY, WRITE, REFUSED = "script", "copy", "write", "refused"
"""Step kinds: run a repository script; copy a repository file; write a file the docs spell
out (a heredoc); a step named by the docs that toolbox-tui will not run (the reason says why)."""

_FENCE = re.compile(r"^\s*(```|~~~)")
_PROMPT = re.compile(r"^\s*(?:[$#>]\s+)?")
_SUDO = re.compile(r"^sudo\s+(?:-\S+\s+)*")
START_SCRIPT = re.compile(r"^(?:start|run|up|launch|serve|deploy|stop|down)\b", re.IGNORECASE)
RUNNERS = {"bash", "sh", "zsh", "source", "."}
_SHELL_SYNTAX = re.compile(r"[|;&<>`$(){}*?\[\]]")
_HEREDOC = re.compile(r"^(?:tee|cat\s*>)\s*(?P<file>[A-Za-z0-9_./-]+)\s*<<-?\s*['\"]?(?P<end>\w+)['\"]?\s*$")
_FETCH = re.compile(r"\b(?:curl|wget)\b")
_TO_SHELL = re.compile(r"\|\s*(?:sudo\s+)?(?:ba|z)?sh\b|\bsh\s+-c\b")
_SHELL_OF_FETCH = re.compile(r"(?:ba|z)?sh\s+-c\s+[\"']?\$\((?:curl|wget)\b")


def downloads_and_runs(cmd: str) -> bool:
    r"""`curl ... | sh`, `sh -c "$(wget ...)"`: code fetched from the network and run. Linear in
    the line (`curl\b.*\| sh` as one pattern retried `.*` from every `curl`: quadratic)."""
    m = _FETCH.search(cmd)
    return bool(m and _TO_SHELL.search(cmd, m.end())) or bool(_SHELL_OF_FETCH.search(cmd))


WRITES = re.compile(r"(?:^|[\s;&|])(?:>>?|tee(?:\s+-a)?)\s*[\"']?(?P<f>\.?[A-Za-z0-9_][A-Za-z0-9_./-]*|\.{1,2}/[A-Za-z0-9_./-]+)[\"']?")
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


def inside(path: Path, root: Path) -> bool:
    return not resolves_outside(path, root)


def doc_commands(text: str) -> Iterator[tuple[int, str, list[str] | None]]:
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
        if len(line) > MAX_COMMAND and not in_code:
            line = line[:MAX_COMMAND]  # prose: the inline code of its start is still seen
        if in_code:
            if len(line) > MAX_COMMAND:
                continue
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
            if re.match(r"(?:\./|(?:ba|z)?sh\s|cp\s|tee\s|docker)", code) or downloads_and_runs(code):
                yield i, code, None
        for m in _PROSE_SCRIPT.finditer(_INLINE.sub("", line)):
            yield i, m.group(1), None


def script_writes(script: Path, cwd: Path, root: Path) -> tuple[str, ...]:
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
        for m in WRITES.finditer(line):
            f = m.group("f")
            p = (cwd / f).resolve()
            if f.startswith(("/", "&")) or not p.is_relative_to(root) or str(p) in out:
                continue
            out.append(str(p))
    return tuple(out[:16])


def is_script(path: Path) -> bool:
    """A file a shell would run: `*.sh`/`*.bash`, or executable with a `#!` line."""
    if path.suffix in (".sh", ".bash"):
        return True
    return read_head(path, 2) == b"#!" and os.access(path, os.X_OK)


def _outside(name: str, real: Path, base: dict) -> SetupStep:
    return SetupStep(kind=REFUSED, reason=(f"{name} resolves outside the repository ({real}); "
                                           "toolbox-tui only reads and writes the repository's "
                                           "own files"), **base)


def classify_command(cmd: str, n: int, body: list[str] | None, doc: Path, cwd: Path, root: Path
          ) -> SetupStep | None:
    """The set-up step `cmd` is, or None when it is not one (a command of another tool)."""
    base = dict(command=cmd, doc=str(doc), line=n, cwd=str(cwd))
    if downloads_and_runs(cmd):
        return SetupStep(kind=REFUSED, reason="it downloads code from the network and runs it; "
                         "toolbox-tui only runs the repository's own files", **base)
    if body is not None:
        m = _HEREDOC.match(cmd)
        target = (cwd / m.group("file")).resolve()
        if not target.is_relative_to(root):
            return _outside(m.group("file"), target, base)
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
        if not os.path.lexists(src):
            return None
        for name, p in ((args[0], src), (args[1], dst)):
            if resolves_outside(p, root):  # named with where it leads; never read or written
                return _outside(name, Path(os.path.realpath(p)), base)
        if not src.is_file():
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
    if not runner and not is_script(path):
        return None  # a data file named in a code block (`rtc-visualizer/.data/users.json`)
    if START_SCRIPT.match(path.name):
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
                     creates=script_writes(path, cwd, root), **base)
