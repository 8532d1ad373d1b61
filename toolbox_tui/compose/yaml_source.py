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

MAX_BYTES = 16 * 1024 * 1024
"""Compose files above this size are refused before parsing (Compose itself is not meant for them)."""
MAX_NODES = 2_000_000
"""Upper bound on nodes after alias expansion: stops billion-laughs documents before they explode."""


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


def _expanded_size(node: yaml.Node, memo: dict[int, int], depth: int = 0) -> int:
    """Number of nodes the document has once aliases are expanded (memoised per node)."""
    key = id(node)
    if key in memo:
        return memo[key]
    if depth > 500:
        raise LoadError("YAML nesting is deeper than 500 levels", hint="Flatten the document.")
    memo[key] = 1  # guards against recursive aliases
    size = 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            size += _expanded_size(k, memo, depth + 1) + _expanded_size(v, memo, depth + 1)
            if size > MAX_NODES:
                break
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            size += _expanded_size(v, memo, depth + 1)
            if size > MAX_NODES:
                break
    memo[key] = size
    return size


def read_text(path: Path, what: str = "file") -> str:
    """Read a user file as UTF-8 with errors that say what to do."""
    shown = str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise LoadError(f"{what} {shown} does not exist", file=shown,
                        hint="Check the path (and -f/--project-dir), or create the file.") from None
    except OSError as exc:
        raise LoadError(f"cannot read {what} {shown}: {exc.strerror}", file=shown) from None
    if path.is_dir():
        raise LoadError(f"{what} {shown} is a directory, not a file", file=shown,
                        hint="Point at the file inside it.")
    if st.st_size > MAX_BYTES:
        raise LoadError(f"{what} {shown} is {st.st_size // (1024 * 1024)} MB; refusing files over "
                        f"{MAX_BYTES // (1024 * 1024)} MB", file=shown,
                        hint="This does not look like a Compose file; check -f.")
    try:
        raw = path.read_bytes()
    except PermissionError:
        raise LoadError(f"permission denied reading {what} {shown}", file=shown,
                        hint="Fix the file's permissions or run as a user who can read it.") from None
    except OSError as exc:
        raise LoadError(f"cannot read {what} {shown}: {exc.strerror}", file=shown) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise LoadError(f"{what} {shown} is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                        file=shown, line=line, column=col,
                        hint="Save the file as UTF-8.") from None


def load_yaml(path: Path, text: str | None = None) -> Any:
    """Parse one YAML document with locations. Raises LoadError with file:line:col on any problem."""
    file = str(path)
    if text is None:
        text = read_text(path, "Compose file")
    loader = None
    try:
        loader = _make_loader(text, file)
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_NODES:
            raise LoadError(f"{file}: aliases expand to more than {MAX_NODES:,} nodes "
                            "(a 'billion laughs' document)", file=file,
                            hint="Remove the recursive anchors.")
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
