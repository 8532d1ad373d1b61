"""Env files, read the way Compose and python-dotenv read them: the values of one file (with
interpolation of earlier values), the lines that are not `KEY=VALUE`, and a template's keys.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections import ChainMap
from pathlib import Path
from typing import Mapping

from dotenv.main import DotEnv
from dotenv.variables import parse_variables

from toolbox_tui.compose.yaml_source import LoadError, read_text
from toolbox_tui.safe_read import ENV, TEMPLATE

# python-dotenv logs unparseable lines itself; the env checks report them with file:line instead.
logging.getLogger("dotenv.main").setLevel(logging.ERROR)


def read_env_file(path: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Values of one env file (python-dotenv, with interpolation of earlier values)."""
    text = read_text(path, ENV)
    # Same rules as dotenv_values(interpolate=True), but python-dotenv copies os.environ plus every
    # earlier value for each line (quadratic: a 100k-line file took minutes); a ChainMap is linear.
    values: dict[str, str | None] = {}
    env = ChainMap(values, os.environ)
    for name, value in DotEnv(None, stream=io.StringIO(text), interpolate=False).parse():
        if value is not None and "$" in value:
            value = "".join(atom.resolve(env) for atom in parse_variables(value))
        values[name] = value
    return {k: (v if v is not None else "") for k, v in values.items()}


def env_file_problems(path: Path) -> list[tuple[int, str]]:
    """Lines of an env file that are not `KEY=VALUE`, `export KEY=VALUE`, blank or comments."""
    problems = []
    try:
        text = read_text(path, ENV)
    except LoadError as exc:
        return [(exc.line or 0, str(exc))]
    in_quote: str | None = None
    for n, line in enumerate(text.splitlines(), 1):
        if in_quote:
            if line.rstrip().endswith(in_quote):
                in_quote = None
            continue
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = re.match(r"^(export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(=\s*(.*))?$", s)
        if not m:
            problems.append((n, line[:120]))
            continue
        val = (m.group(4) or "").strip()
        for q in ('"', "'"):
            if val.startswith(q) and (len(val) == 1 or not val.rstrip().endswith(q)):
                in_quote = q
    return problems


def template_keys(path: Path) -> list[str]:
    """The keys an env template (or env file) defines, in order; [] when it cannot be read."""
    try:
        text = read_text(path, TEMPLATE)
    except LoadError:
        return []
    return [name for name, _value in DotEnv(None, stream=io.StringIO(text), interpolate=False).parse()
            if name is not None]
