"""Compose variable interpolation: `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:?msg}`,
`${VAR?msg}`, `${VAR:+x}`, `${VAR+x}` and `$$`, with nested defaults, as compose-go does it.

Every use of a variable is recorded with its location so the doctor can say "POSTGRES_USER is used
at docker-compose.yml:41 without a default and is not set anywhere".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from toolbox_tui.compose.yaml_source import (
    ExpansionBudget, LDict, LList, LoadError, Loc, LStr, too_deep,
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_NESTING = 64
"""Deepest `${A:-${B:-...}}` nesting accepted (compose files in the wild nest two or three)."""


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
                    uses: list[VarUse] | None = None, budget: ExpansionBudget | None = None) -> str:
    """Substitute variables in one string. Raises InterpolationError for `:?`/`?` and bad syntax,
    and a located LoadError when the result would be more text than `budget` has room for or the
    `${...}` nest deeper than MAX_NESTING. Nothing is charged here: `interpolate_tree` charges
    each use of the result."""
    if "$" not in text:
        return text
    room = (budget if budget is not None else ExpansionBudget()).room() + len(text)
    out, _ = _parse(text, 0, env, loc, uses, stop=None, room=room, depth=0)
    return out


def _parse(text: str, i: int, env: Mapping[str, str], loc: Loc | None,
           uses: list[VarUse] | None, stop: str | None, room: int, depth: int) -> tuple[str, int]:
    out: list[str] = []
    produced = 0  # characters in `out`, checked against `room` as they are produced
    n = len(text)
    while i < n:
        if produced > room:
            raise ExpansionBudget().exceeded(loc.file if loc else None, loc.line if loc else None,
                                             loc.column if loc else None)
        ch = text[i]
        if stop is not None and ch == stop:
            return "".join(out), i
        if ch != "$":
            out.append(ch)
            produced += 1
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
            if depth >= MAX_NESTING:
                raise too_deep(loc.file if loc else None, loc.line if loc else None,
                               "${...}", MAX_NESTING)
            value, i = _braced(text, i + 2, env, loc, uses, room - produced, depth + 1)
            out.append(value)
            produced += len(value)
            continue
        m = _NAME.match(text, i + 1)
        if m:
            name = m.group(0)
            is_set = name in env
            if uses is not None:
                uses.append(VarUse(name, loc, False, is_set))
            out.append(env.get(name, ""))
            produced += len(out[-1])
            i = m.end()
            continue
        # A lone `$` followed by something that is not a name: Compose rejects it.
        raise InterpolationError(f"invalid interpolation format in {text!r}: a '$' must start a "
                                 "variable or be written '$$'",
                                 file=loc.file if loc else None, line=loc.line if loc else None,
                                 column=loc.column if loc else None,
                                 hint="Write a literal dollar sign as $$.")
    if produced > room:
        raise ExpansionBudget().exceeded(loc.file if loc else None, loc.line if loc else None,
                                         loc.column if loc else None)
    if stop is not None:
        raise InterpolationError(f"invalid interpolation format in {text!r}: missing '}}'",
                                 file=loc.file if loc else None, line=loc.line if loc else None,
                                 column=loc.column if loc else None, hint="Close the ${...}.")
    return "".join(out), i


def _braced(text: str, i: int, env: Mapping[str, str], loc: Loc | None,
            uses: list[VarUse] | None, room: int, depth: int) -> tuple[str, int]:
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
    arg, j = _parse(text, i + len(op), env, loc, uses, stop="}", room=room, depth=depth)
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
                     path: tuple[Any, ...] = (), budget: ExpansionBudget | None = None) -> Any:
    """Interpolate every string value (not keys) of a loaded document, keeping locations.

    An aliased string is one object used many times: it is interpolated once (its variable uses
    recorded once), and what interpolation adds is charged to `budget` at every use, since every
    use is text the expanded document holds.
    """
    return _Tree(env, uses, skip, budget if budget is not None else ExpansionBudget()).walk(value, path)


class _Tree:
    def __init__(self, env: Mapping[str, str], uses: list[VarUse],
                 skip: Callable[[tuple[Any, ...]], bool] | None, budget: ExpansionBudget) -> None:
        self.env, self.uses, self.skip, self.budget = env, uses, skip, budget
        self.done: dict[int, tuple[str, Any]] = {}
        """id(raw string) -> (raw, result): the raw object is kept so its id stays unique."""

    def walk(self, value: Any, path: tuple[Any, ...]) -> Any:
        if isinstance(value, LDict):
            out = LDict()
            out.loc, out.reset, out.override = value.loc, value.reset, value.override
            out.key_locs = dict(value.key_locs)
            for k, v in value.items():
                sub = (*path, k)
                out[k] = v if self.skip and self.skip(sub) else self.walk(v, sub)
            return out
        if isinstance(value, LList):
            out_l = LList()
            out_l.loc, out_l.reset, out_l.override = value.loc, value.reset, value.override
            out_l.item_locs = list(value.item_locs)
            for idx, v in enumerate(value):
                out_l.append(self.walk(v, (*path, idx)))
            return out_l
        if isinstance(value, str):
            return self._string(value)
        return value

    def _string(self, value: str) -> Any:
        if "$" not in value:
            return value
        loc = getattr(value, "loc", None)
        hit = self.done.get(id(value))
        if hit is not None and hit[0] is value:
            result = hit[1]
        else:
            text = interpolate_str(value, self.env, loc, self.uses, self.budget)
            result = value
            if text is not value:
                result = LStr(text)
                result.loc = loc
                result.quoted = getattr(value, "quoted", None)
                result.raw = str(value)  # type: ignore[attr-defined]
            self.done[id(value)] = (value, result)
        grown = len(result) - len(value)
        if grown > 0:
            self.budget.charge(0, grown, loc.file if loc else None, loc.line if loc else None,
                               loc.column if loc else None)
        return result
