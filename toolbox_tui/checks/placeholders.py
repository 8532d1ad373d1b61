"""Values a project ships for its users to replace, and the project's own scripts that do it.

A committed `.env` often carries `changeme`, `replace-me` or a path like `/<directory-path>/x`;
a copied template leaves passwords empty for the project's `gen-passwords.sh` to fill. Both are
found here by one rule each, so the env checks and the path checks say the same thing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

from toolbox_tui.safe_read import read_head

_PLACEHOLDER = re.compile(
    r"^(?:change|replace)[-_ ]?(?:me|this|it)$"          # changeme, change-me, changethis, replace-me
    r"|^(?-i:change[A-Z][A-Za-z0-9]*)$"                        # changePassword, changeRunnerAuthToken
    r"|<[A-Za-z][A-Za-z0-9 _-]*>"                          # /<directory-path>/..., <your-domain>
    r"|^(?:your|my)[-_](?:[a-z0-9]+[-_])*(?:here|password|secret|token|key)$",
    re.IGNORECASE)


def is_placeholder(value: str | None) -> bool:
    """True when `value` is text a user is told to replace (never for empty values)."""
    return bool(value) and bool(_PLACEHOLDER.search(value.strip().strip("'\"")))


MAX_SCRIPT_BYTES = 256 * 1024


def setup_scripts(dirs: Iterable[Path]) -> list[Path]:
    """The shell scripts directly in `dirs` (the repository root and the compose directory):
    where a project's set-up step lives (`./install.sh`, `./generate_config.sh`)."""
    out: list[Path] = []
    for d in dirs:
        try:
            entries = sorted(d.iterdir())
        except OSError:
            continue
        for p in entries:
            if p.suffix == ".sh" and p.is_file() and p not in out:
                out.append(p)
    return out


_SETUP_NAME = re.compile(r"(generate|gen[-_]|setup|install|init|bootstrap|config|passwords?)", re.I)


def scripts_mentioning(scripts: Iterable[Path], word: str) -> list[Path]:
    """The scripts whose text contains `word` as a whole word, set-up scripts by name first
    (`generate_config.sh` before `update.sh`)."""
    pat = re.compile(rf"(?<![\w.-]){re.escape(word)}(?![\w-])")
    out = []
    for p in scripts:
        text = read_head(p, MAX_SCRIPT_BYTES).decode("utf-8", "replace")
        if pat.search(text):
            out.append(p)
    return sorted(out, key=lambda p: (not _SETUP_NAME.search(p.name), p.name))
