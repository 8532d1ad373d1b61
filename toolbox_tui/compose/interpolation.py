"""Compose variable interpolation: `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:?msg}`,
`${VAR?msg}`, `${VAR:+x}`, `${VAR+x}` and `$$`, with nested defaults, as compose-go does it.

Every use of a variable is recorded with its location so the doctor can say "POSTGRES_USER is used
at docker-compose.yml:41 without a default and is not set anywhere".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from toolbox_tui.compose.yaml_source import LDict, LList, LoadError, Loc, LStr

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class VarUse:
    """One `${NAME...}` occurrence."""

    name: str
    loc: Loc | None
    has_default: bool
    is_set: bool


class InterpolationError(LoadError):
    pass


def interpolate_str(text: str, env: Mapping[str, str], loc: Loc | None = None,
                    uses: list[VarUse] | None = None) -> str:
    """Substitute variables in one string. Raises InterpolationError for `:?`/`?` and bad syntax."""
    if "$" not in text:
        return text
    out, _ = _parse(text, 0, env, loc, uses, stop=None)
    return out


def _parse(text: str, i: int, env: Mapping[str, str], loc: Loc | None,
           uses: list[VarUse] | None, stop: str | None) -> tuple[str, int]:
    out: list[str] = []
    n = len(text)
    while i < n:
        ch = text[i]
        if stop is not None and ch == stop:
            return "".join(out), i
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= n:
            out.append("$")
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt == "{":
            value, i = _braced(text, i + 2, env, loc, uses)
            out.append(value)
            continue
        m = _NAME.match(text, i + 1)
        if m:
            name = m.group(0)
            is_set = name in env
            if uses is not None:
                uses.append(VarUse(name, loc, False, is_set))
            out.append(env.get(name, ""))
            i = m.end()
            continue
        # A lone `$` followed by something that is not a name: Compose rejects it.
        raise InterpolationError(f"invalid interpolation format in {text!r}: a '$' must start a "
                                 "variable or be written '$$'",
                                 file=loc.file if loc else None, line=loc.line if loc else None,
                                 column=loc.column if loc else None,
                                 hint="Write a literal dollar sign as $$.")
    if stop is not None:
        raise InterpolationError(f"invalid interpolation format in {text!r}: missing '}}'",
                                 file=loc.file if loc else None, line=loc.line if loc else None,
                                 column=loc.column if loc else None, hint="Close the ${...}.")
    return "".join(out), i


def _braced(text: str, i: int, env: Mapping[str, str], loc: Loc | None,
            uses: list[VarUse] | None) -> tuple[str, int]:
    def err(msg: str) -> InterpolationError:
        return InterpolationError(msg, file=loc.file if loc else None,
                                  line=loc.line if loc else None,
                                  column=loc.column if loc else None,
                                  hint="Fix the ${...} expression.")

    m = _NAME.match(text, i)
    if not m:
        raise err(f"invalid interpolation format in {text!r}: expected a variable name after '${{'")
    name = m.group(0)
    i = m.end()
    is_set = name in env
    value = env.get(name)
    if i < len(text) and text[i] == "}":
        if uses is not None:
            uses.append(VarUse(name, loc, False, is_set))
        return value or "", i + 1
    for op in (":-", ":?", ":+", "-", "?", "+"):
        if text.startswith(op, i):
            break
    else:
        raise err(f"invalid interpolation format in {text!r}: unexpected "
                  f"{text[i:i + 1]!r} after ${{{name}")
    arg, j = _parse(text, i + len(op), env, loc, uses, stop="}")
    j += 1  # past the closing brace
    if uses is not None:
        uses.append(VarUse(name, loc, op[-1] in "-+", is_set))
    empty = not value
    if op == ":-":
        return (arg if empty else value), j
    if op == "-":
        return (arg if value is None else value), j
    if op == ":+":
        return ("" if empty else arg), j
    if op == "+":
        return ("" if value is None else arg), j
    if (op == ":?" and empty) or (op == "?" and value is None):
        raise InterpolationError(
            f"required variable {name} is missing a value" + (f": {arg}" if arg else ""),
            file=loc.file if loc else None, line=loc.line if loc else None,
            column=loc.column if loc else None,
            hint=f"Set {name} in the environment or in the project's .env file.")
    return value or "", j


def interpolate_tree(value: Any, env: Mapping[str, str], uses: list[VarUse],
                     skip: Callable[[tuple[Any, ...]], bool] | None = None,
                     path: tuple[Any, ...] = ()) -> Any:
    """Interpolate every string value (not keys) of a loaded document, keeping locations."""
    if isinstance(value, LDict):
        out = LDict()
        out.loc, out.reset, out.override = value.loc, value.reset, value.override
        out.key_locs = dict(value.key_locs)
        for k, v in value.items():
            sub = (*path, k)
            out[k] = v if skip and skip(sub) else interpolate_tree(v, env, uses, skip, sub)
        return out
    if isinstance(value, LList):
        out_l = LList()
        out_l.loc, out_l.reset, out_l.override = value.loc, value.reset, value.override
        out_l.item_locs = list(value.item_locs)
        for idx, v in enumerate(value):
            out_l.append(interpolate_tree(v, env, uses, skip, (*path, idx)))
        return out_l
    if isinstance(value, str):
        loc = getattr(value, "loc", None)
        result = interpolate_str(value, env, loc, uses)
        if result is value:
            return value
        s = LStr(result)
        s.loc = loc
        s.quoted = getattr(value, "quoted", None)
        s.raw = str(value)  # type: ignore[attr-defined]
        return s
    return value
