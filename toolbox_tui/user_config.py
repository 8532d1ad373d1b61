"""The user's own settings: `$XDG_CONFIG_HOME/toolbox-tui/config.toml` (key bindings, theme).

The file belongs to the user, never to a repository: it is looked up only in the user's config
directory (`$XDG_CONFIG_HOME`, else `~/.config`), read bounded (a regular file of at most 1 MiB),
and parsed with `tomllib` (`tomli` on Python 3.10). What it may say::

    theme = "nord"                        # a Textual theme name (the palette lists them)

    [keys]                                # binding id = key, or keys separated by commas
    "dashboard.restart" = "ctrl+r"
    "dashboard.filter" = "slash,f"

This module reads and checks the form of the file; which binding ids and themes exist is known
only to the faces (`screens/user_config.py` checks those). Nothing here stops the app from
starting: every problem is reported with file:line and the entry is left out.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from toolbox_tui import safe_read

tomllib = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
"""The standard library's TOML reader (Python 3.11+), or the same module from PyPI on 3.10."""

FILE_NAME = "config.toml"
KNOWN_KEYS = ("theme", "keys")
"""Top-level entries the file may have."""

_KEY_SPEC = re.compile(r"^[A-Za-z0-9_+\-]+$|^.$")
"""One key as Textual names it: `ctrl+r`, `f5`, `slash`, `question_mark`, or one character."""


@dataclass(frozen=True)
class Problem:
    """Something in the file that was left out: where it is, what is wrong, what to do."""

    line: int | None
    message: str

    def where(self, path: Path) -> str:
        return f"{path}:{self.line}" if self.line else str(path)


@dataclass
class UserConfig:
    """What the file asks for, in the form a face can apply."""

    path: Path
    """Where the file is (or would be)."""
    found: bool = False
    theme: str | None = None
    theme_line: int | None = None
    keys: dict[str, str] = field(default_factory=dict)
    """Binding id -> keys (comma-separated, as Textual's keymap takes them)."""
    key_lines: dict[str, int] = field(default_factory=dict)
    """Binding id -> its line in the file (for later problems about it)."""
    problems: list[Problem] = field(default_factory=list)


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/toolbox-tui/config.toml`; `~/.config` when unset or not absolute (the
    XDG rule)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME", "")
    if not base or not os.path.isabs(base):
        base = os.path.join(env.get("HOME") or os.path.expanduser("~"), ".config")
    return Path(base) / "toolbox-tui" / FILE_NAME


def load(env: Mapping[str, str] | None = None) -> UserConfig:
    """The user's settings; an absent file is no settings, an unreadable or invalid one is one
    problem and no settings, a bad entry is a problem and that entry left out."""
    path = config_path(env)
    cfg = UserConfig(path=path)
    if not os.path.lexists(path):
        return cfg
    cfg.found = True
    try:
        text = safe_read.read_text(path, safe_read.CONFIG, errors="strict")
    except safe_read.ReadRefused as exc:
        cfg.problems.append(Problem(None, f"{exc.message}; the file was not used. {exc.hint}"))
        return cfg
    except UnicodeDecodeError:
        cfg.problems.append(Problem(None, "the file is not UTF-8 text; it was not used"))
        return cfg
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, message = _decode_error(exc)
        cfg.problems.append(Problem(line, f"not valid TOML: {message}; the file was not used. "
                                          "Fix it or remove it."))
        return cfg
    _read_entries(cfg, data, _lines_of(text))
    return cfg


def _read_entries(cfg: UserConfig, data: dict[str, Any], lines: dict[tuple[str, str], int]) -> None:
    for name in data:
        if name not in KNOWN_KEYS:
            cfg.problems.append(Problem(lines.get(("", name)),
                                        f"unknown setting {name!r} (known: theme, [keys]); left out"))
    theme = data.get("theme")
    if theme is not None:
        if isinstance(theme, str) and theme.strip():
            cfg.theme, cfg.theme_line = theme.strip(), lines.get(("", "theme"))
        else:
            cfg.problems.append(Problem(lines.get(("", "theme")),
                                        'theme must be a theme name in quotes, e.g. theme = "nord"'))
    keys = data.get("keys")
    if keys is None:
        return
    if not isinstance(keys, dict):
        cfg.problems.append(Problem(lines.get(("", "keys")), "keys must be a table: [keys] on a line of "
                                    "its own, then one \"binding.id\" = \"key\" per line"))
        return
    for binding_id, value in _flatten(keys):
        line = lines.get(("keys", binding_id))
        spec = _key_spec(value)
        if spec is None:
            cfg.problems.append(Problem(line, f"{binding_id}: keys must be a string such as \"ctrl+r\" "
                                        "or \"r,f5\" (Textual's key names); left out"))
            continue
        cfg.keys[binding_id] = spec
        cfg.key_lines[binding_id] = line or 0


def _flatten(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """`dashboard.pause = "p"` unquoted is TOML for {"dashboard": {"pause": "p"}}: the id again."""
    items: list[tuple[str, Any]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            items.extend(_flatten(value, f"{prefix}{key}."))
        else:
            items.append((prefix + key, value))
    return items


def _key_spec(value: Any) -> str | None:
    """`value` as Textual's keymap takes it ("a,ctrl+b"), or None when it cannot be one."""
    if isinstance(value, list):
        value = ",".join(v for v in value if isinstance(v, str)) if all(isinstance(v, str) for v in value) else None
    if not isinstance(value, str):
        return None
    parts = [p.strip() for p in value.split(",")] if value != "," else [","]
    if not parts or any(not p or not _KEY_SPEC.match(p) for p in parts):
        return None
    return ",".join(parts)


_ENTRY = re.compile(r'^\s*(?:"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_.\-]+))\s*=')
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_\-]+)\s*\]")


def _lines_of(text: str) -> dict[tuple[str, str], int]:
    """(table, key) -> line of its first mention, for the simple forms this file uses (`key =`,
    `"dotted.id" =`, under `[table]`). A key written another way just has no line."""
    found: dict[tuple[str, str], int] = {}
    table = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        m = _TABLE.match(raw)
        if m:
            table = m.group(1)
            found.setdefault(("", table), number)
            continue
        m = _ENTRY.match(raw)
        if m:
            key = next(g for g in m.groups() if g is not None)
            if m.group(1) and "\\" in key:  # a basic string's escapes: the key tomllib sees
                try:
                    key = tomllib.loads(f'k = "{key}"')["k"]
                except tomllib.TOMLDecodeError:
                    pass
            found.setdefault((table, key), number)
    return found


def _decode_error(exc: tomllib.TOMLDecodeError) -> tuple[int | None, str]:
    """(line, message) of a TOML syntax error; Python 3.11 puts "(at line L, column C)" in the
    text only."""
    text = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)", text)
    if not m:
        return getattr(exc, "lineno", None), text
    return int(m.group(1)), text[:m.start()].strip() + f" (column {m.group(2)})"
