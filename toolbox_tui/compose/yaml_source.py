"""Load YAML while remembering where every value came from.

Compose files are loaded with PyYAML's safe constructor (so anchors, aliases and `<<` merge keys
behave exactly as YAML 1.1 says), but every mapping, sequence and string carries the file, line and
column of its node. An aliased value keeps the location of its anchor, which is what a fix must edit.
Compose's `!reset` and `!override` tags are understood.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from toolbox_tui.errors import LocatedError
from toolbox_tui.safe_read import COMPOSE, Kind, ReadRefused, read_bytes

MAX_NODES = 2_000_000
"""Upper bound on nodes after alias expansion: stops billion-laughs documents before they explode."""
MAX_EXPANDED_BYTES = 64 * 1024 * 1024
"""Upper bound on the text (keys and values) after alias expansion and interpolation."""
MAX_DEPTH = 500
"""Deepest YAML nesting accepted (deeper documents are refused naming the file and line)."""


@dataclass(frozen=True)
class Loc:
    """1-based line and column of a YAML node in a file."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class LoadError(LocatedError):
    """A file could not be read or parsed."""


class LStr(str):
    """A string that knows where it was written."""

    loc: Loc | None = None
    quoted: str | None = None  # the YAML style ('"', "'", None for plain)


class LDict(dict):
    """A mapping that knows where it and each of its keys were written."""

    loc: Loc | None = None
    reset: bool = False  # `!reset` tag: drop what earlier files set
    override: bool = False  # `!override` tag: replace instead of merging

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.key_locs: dict[Any, Loc] = {}

    def key_loc(self, key: Any) -> Loc | None:
        return self.key_locs.get(key) or self.loc


class LList(list):
    """A sequence that knows where it and each item were written."""

    loc: Loc | None = None
    reset: bool = False
    override: bool = False

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        self.item_locs: list[Loc | None] = []

    def item_loc(self, i: int) -> Loc | None:
        if 0 <= i < len(self.item_locs) and self.item_locs[i] is not None:
            return self.item_locs[i]
        return self.loc


def loc_of(value: Any) -> Loc | None:
    return getattr(value, "loc", None)


def _mark(file: str, node: yaml.Node, text: str | None = None) -> Loc:
    """Where the node's value starts: after any `&anchor` and `!tag` in front of it, so an edit
    at this location touches the value, not the anchor. `text` is the document (marks from
    libyaml carry a character index but no buffer)."""
    m = node.start_mark
    line, col = m.line + 1, m.column + 1
    buf = text if text is not None else getattr(m, "buffer", None)
    ptr = getattr(m, "index", None)
    if isinstance(buf, str) and ptr is not None and ptr < len(buf) and buf[ptr] in "&!":
        i = ptr
        while i < len(buf) and buf[i] in "&!":
            while i < len(buf) and buf[i] not in " \t\r\n":
                i += 1
            while i < len(buf) and buf[i] in " \t":
                i += 1
            if i < len(buf) and buf[i] in "\r\n":
                break  # the value starts on a later line; keep the anchor's position
            col = m.column + 1 + (i - ptr)
    return Loc(file, line, col)


class _Constructor(yaml.constructor.SafeConstructor):
    file = "<string>"
    text: str | None = None

    def _loc(self, node: yaml.Node) -> Loc:
        return _mark(self.file, node, self.text)

    def construct_yaml_str(self, node: yaml.ScalarNode) -> LStr:  # type: ignore[override]
        s = LStr(super().construct_scalar(node))
        s.loc = self._loc(node)
        s.quoted = node.style
        return s

    def construct_yaml_map(self, node: yaml.MappingNode):  # type: ignore[override]
        data = LDict()
        data.loc = self._loc(node)
        yield data
        # flatten_mapping resolves `<<` merges; key nodes keep their own marks.
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found an unhashable key", key_node.start_mark)
            if isinstance(key, LStr):
                key = str(key)
            data[key] = self.construct_object(value_node, deep=True)
            data.key_locs[key] = self._loc(key_node)

    def construct_yaml_seq(self, node: yaml.SequenceNode):  # type: ignore[override]
        data = LList()
        data.loc = self._loc(node)
        yield data
        for child in node.value:
            data.append(self.construct_object(child, deep=True))
            data.item_locs.append(self._loc(child))

    def construct_reset(self, node: yaml.Node) -> Any:
        value = self._construct_tagged(node)
        value.reset = True
        return value

    def construct_override(self, node: yaml.Node) -> Any:
        value = self._construct_tagged(node)
        value.override = True
        return value

    def _construct_tagged(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            node.tag = "tag:yaml.org,2002:map"
            value = LDict()
            value.loc = self._loc(node)
            gen = self.construct_yaml_map(node)
            value = next(gen)
            for _ in gen:
                pass
            return value
        if isinstance(node, yaml.SequenceNode):
            gen = self.construct_yaml_seq(node)
            value = next(gen)
            for _ in gen:
                pass
            return value
        # `!reset null` / `!reset ""` on a scalar: an empty sequence marks the reset.
        value = LList()
        value.loc = self._loc(node)
        return value


_Constructor.add_constructor("tag:yaml.org,2002:str", _Constructor.construct_yaml_str)
_Constructor.add_constructor("tag:yaml.org,2002:map", _Constructor.construct_yaml_map)
_Constructor.add_constructor("tag:yaml.org,2002:seq", _Constructor.construct_yaml_seq)
_Constructor.add_constructor("!reset", _Constructor.construct_reset)
_Constructor.add_constructor("!override", _Constructor.construct_override)


class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,
              yaml.composer.Composer, _Constructor, yaml.resolver.Resolver):
    def __init__(self, stream: str, file: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Constructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self.file = file


try:
    from yaml.cyaml import CParser as _CParser
except ImportError:  # PyYAML built without libyaml: the pure-Python parser gives the same marks
    _CParser = None

if _CParser is not None:
    class _CLoader(_CParser, _Constructor, yaml.resolver.Resolver):  # type: ignore[misc, valid-type]
        """libyaml's scanner and parser (about 10x faster) with our located constructor."""

        def __init__(self, stream: str, file: str) -> None:
            _CParser.__init__(self, stream)
            _Constructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self.file = file
            self.text = stream


def _make_loader(text: str, file: str):
    if _CParser is not None:
        return _CLoader(text, file)
    loader = _Loader(text, file)
    loader.text = text
    return loader


class ExpansionBudget:
    """The one budget of a project load, counted on the *expanded* result: every node and every
    byte of text that alias expansion (YAML `*ref`, `<<`) and interpolation (`${...}`) produce.

    A 15 KB file can alias one interpolated string millions of times, or nest `${A:-${A:-...}}`
    hundreds deep; both stop here with an error naming the file and line, before any memory or
    recursion limit is reached. `load_yaml` charges each document's expanded size; interpolation
    charges what each substitution adds, once per use (an aliased string is used many times).
    """

    def __init__(self, max_nodes: int = MAX_NODES, max_bytes: int = MAX_EXPANDED_BYTES) -> None:
        self.max_nodes = max_nodes
        """Most nodes all documents may expand to."""
        self.max_bytes = max_bytes
        """Most bytes of text (keys and values) all documents may expand to."""
        self.nodes = 0
        """Nodes charged so far."""
        self.bytes = 0
        """Bytes charged so far."""

    def room(self) -> int:
        """Bytes that may still be produced."""
        return self.max_bytes - self.bytes

    def charge(self, nodes: int, nbytes: int, file: str | None, line: int | None = None,
               column: int | None = None) -> None:
        self.nodes += nodes
        self.bytes += nbytes
        if self.nodes > self.max_nodes or self.bytes > self.max_bytes:
            raise self.exceeded(file, line, column)

    def exceeded(self, file: str | None, line: int | None = None,
                 column: int | None = None) -> LoadError:
        return LoadError("aliases and ${...} interpolation expand "
                         f"to more than {self.max_nodes:,} nodes or {self.max_bytes // (1024 * 1024)} "
                         "MiB of text (a 'billion laughs' document)", file=file, line=line,
                         column=column, hint="Remove the anchors or variables that repeat each "
                                             "other (aliases of aliases, huge values used many times).")


def too_deep(file: str | None, line: int | None, what: str, limit: int) -> LoadError:
    """The located error for nesting past `limit` (YAML collections or `${...}` expressions)."""
    return LoadError(f"{what} nesting is deeper than {limit} levels", file=file, line=line,
                     hint="Flatten the document." if what == "YAML" else
                          "Nest fewer ${...} defaults inside each other.")


def _expanded_size(node: yaml.Node, memo: dict[int, tuple[int, int]], file: str,
                   depth: int = 0) -> tuple[int, int]:
    """(nodes, bytes of scalar text) the node has once aliases are expanded (memoised per node,
    so a billion-laughs document is measured without being expanded)."""
    key = id(node)
    if key in memo:
        return memo[key]
    if depth > MAX_DEPTH:
        raise too_deep(file, node.start_mark.line + 1, "YAML", MAX_DEPTH)
    memo[key] = (1, 0)  # guards against recursive aliases
    nodes, size = 1, 0
    if isinstance(node, yaml.ScalarNode):
        size = len(node.value)
    else:
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                children += (k, v)
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        for child in children:
            n, b = _expanded_size(child, memo, file, depth + 1)
            nodes, size = nodes + n, size + b
            if nodes > MAX_NODES or size > MAX_EXPANDED_BYTES:
                break
    memo[key] = (nodes, size)
    return nodes, size


def _charge_document(node: yaml.Node, file: str, budget: ExpansionBudget) -> None:
    """Charge the document's expanded size; past the budget, the error names the innermost node
    that alone is too large (where the repetition is written)."""
    memo: dict[int, tuple[int, int]] = {}
    nodes, size = _expanded_size(node, memo, file)
    if nodes + budget.nodes <= budget.max_nodes and size + budget.bytes <= budget.max_bytes:
        budget.charge(nodes, size, file)
        return

    def over(n: yaml.Node) -> bool:
        c, b = memo.get(id(n), (0, 0))
        return c > budget.max_nodes - budget.nodes or b > budget.max_bytes - budget.bytes

    here = node
    for _ in range(MAX_DEPTH):
        kids = ([x for kv in here.value for x in kv] if isinstance(here, yaml.MappingNode)
                else list(here.value) if isinstance(here, yaml.SequenceNode) else [])
        nxt = next((k for k in kids if over(k)), None)
        if nxt is None:
            break
        here = nxt
    raise budget.exceeded(file, here.start_mark.line + 1, here.start_mark.column + 1)


def read_text(path: Path, kind: Kind = COMPOSE) -> str:
    """Read a project file (bounded, regular files only: `toolbox_tui.safe_read`) as UTF-8, with
    errors that say what to do."""
    try:
        raw = read_bytes(path, kind)
    except ReadRefused as exc:
        raise LoadError(exc.message, file=exc.file, hint=exc.hint) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise LoadError(f"{kind.what} {path} is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                        file=str(path), line=line, column=col,
                        hint="Save the file as UTF-8.") from None


def load_yaml(path: Path, text: str | None = None, budget: ExpansionBudget | None = None) -> Any:
    """Parse one YAML document with locations. Raises LoadError with file:line:col on any problem.
    The document's expanded size is charged to `budget` (a fresh one when not given)."""
    file = str(path)
    if text is None:
        text = read_text(path, COMPOSE)
    loader = None
    try:
        loader = _make_loader(text, file)
        node = loader.get_single_node()
        if node is None:
            return None
        _charge_document(node, file, budget if budget is not None else ExpansionBudget())
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        source_line = ""
        if line:
            lines = text.splitlines()
            if 0 < line <= len(lines):
                # the file is untrusted text: no escape sequences or bidi controls on the
                # terminal, and no multi-megabyte line echoed back
                from toolbox_tui.sanitize import strip_all

                source_line = strip_all(lines[line - 1], max_len=200)
        msg = f"invalid YAML: {problem}"
        if source_line:
            msg += f"\n    {line} | {source_line}\n    {' ' * len(str(line))} | {' ' * ((col or 1) - 1)}^"
        raise LoadError(msg, file=file, line=line, column=col,
                        hint="Fix the YAML syntax at that position.") from None
    except yaml.reader.ReaderError as exc:
        raise LoadError(f"invalid character in YAML: {exc.reason} (position {exc.position})",
                        file=file, hint="Remove control characters from the file.") from None
    except yaml.YAMLError as exc:
        raise LoadError(f"invalid YAML: {exc}", file=file, hint="Fix the YAML syntax.") from None
    except RecursionError:
        raise LoadError("YAML nesting is too deep to load", file=file,
                        hint="Flatten the document.") from None
    finally:
        if loader is not None:
            loader.dispose()
