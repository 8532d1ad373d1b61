"""Saving a log view to a file the user names.

The lines are ours already (sanitized by the pipeline); what is written is their plain text, SGR
colours removed too, so `cat`ting the file can no more drive a terminal than the view could. The
file is created 0600 (logs leak hostnames, tokens in URLs, user data) through a temp file and a
rename, so a reader never sees half of it; an existing file is replaced only when the caller says
the user agreed (`overwrite=True`), and its old content is kept as `NAME.bak` (0600 too).
No Textual here.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from toolbox_tui.atomic_files import atomic_write, disk_full_hint, is_disk_full
from toolbox_tui.errors import EXIT_FAIL, ToolboxError
from toolbox_tui.live.log_lines import LogLine
from toolbox_tui.sanitize import strip_all


class ExportError(ToolboxError):
    """The log view cannot be written there; the message names the path and why."""

    exit_code = EXIT_FAIL


class ExportExists(ExportError):
    """The file exists and the user has not agreed to replace it."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    """The file written (absolute)."""
    lines: int
    """Log lines written (the header not counted)."""
    backup: Path | None = None
    """Where the replaced file's old content went, when one was replaced."""


def format_line(line: LogLine) -> str:
    """One exported line: `TIMESTAMP SERVICE | TEXT`, plain."""
    return f"{line.ts or '-'} {line.service} | {strip_all(line.text, max_len=None)}"


def target_path(name: str, cwd: str | None = None) -> Path:
    """The file the user means by `name` (`~` expanded, relative to `cwd`)."""
    if not name.strip():
        raise ExportError("no file name given", "type a path, e.g. ./stack.log")
    p = Path(os.path.expanduser(name.strip()))
    if not p.is_absolute():
        p = Path(cwd or os.getcwd()) / p
    return p


def export_lines(path: Path, lines: Iterable[LogLine], *, overwrite: bool = False,
                 header: str = "", clock=time.time) -> ExportResult:
    """Write `lines` to `path` (0600, atomic). Raises `ExportExists` when `path` exists and
    `overwrite` is false, `ExportError` when it cannot be written (the reason, what to do)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ExportError(f"cannot write {path}: the directory {path.parent} does not exist",
                          "create it first, or choose another path")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}", "choose another path") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise ExportError(f"{path} exists and is not a regular file", "choose another path")
    if st is not None and not overwrite:
        raise ExportExists(f"{path} exists", "answer yes to replace it, or choose another path")
    body = []
    if header:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock()))
        body.append(f"# {strip_all(header, max_len=None)} (exported {stamp})")
    n = 0
    for line in lines:
        body.append(format_line(line))
        n += 1
    data = ("\n".join(body) + "\n").encode("utf-8", "replace")
    backup = None
    try:
        if st is not None:
            backup = path.with_name(path.name + ".bak")
            atomic_write(backup, path.read_bytes(), mode=0o600, keep_mode=False)
        atomic_write(path, data, mode=0o600, keep_mode=False)
    except OSError as exc:
        hint = disk_full_hint(path) if is_disk_full(exc) else "choose a path you can write to"
        raise ExportError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}", hint) from None
    return ExportResult(path, n, backup)
