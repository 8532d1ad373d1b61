"""Rewrite one YAML scalar in place, leaving every other byte of the file alone.

A fix that points a Compose reference at another path must not reformat the user's file: comments,
anchors, blank lines, quoting, key order and CRLF line endings all stay exactly as written. So
instead of load-modify-dump we splice: find the scalar's token in the original text, replace only
its characters (for a short-syntax volume `src:dst[:mode]` only the `src` part), re-encode in the
same quote style, and prove the result by re-parsing both documents and comparing them node by
node. Anything we cannot prove (block scalars, scalars spanning lines) is refused, not guessed.

The new text is taken literally as the YAML *value*: escaping `$` for Compose interpolation is the
caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import yaml

from toolbox_tui.errors import LocatedError

_BOM = b"\xef\xbb\xbf"
_STR_TAG = "tag:yaml.org,2002:str"
_PLAIN_BAD_FIRST = set("-?:,[]{}#&*!|>'\"%@`")
_FLOW_INDICATORS = set(",[]{}")
_LINE_BREAKS = set("\n\r\x85\u2028\u2029")
_DQ_ESCAPES = {"0": "\0", "a": "\x07", "b": "\x08", "t": "\t", "\t": "\t", "n": "\n",
               "v": "\x0b", "f": "\x0c", "r": "\r", "e": "\x1b", " ": " ", '"': '"',
               "\\": "\\", "/": "/", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}
_DQ_CODES = {"x": 2, "u": 4, "U": 8}


class EditError(LocatedError):
    """The edit cannot be made safely. The message is user-facing and names the location."""


@dataclass(frozen=True)
class ScalarEdit:
    """Replace the scalar whose node starts at 1-based `line`/`column` with `new_text`.

    With `volume_src`, the scalar is a short-syntax volume (`src:dst[:mode]`) and only `src` changes.
    The location may point at the node (its `&anchor` or `!tag` when it has one) or at the scalar.
    """

    line: int
    column: int
    new_text: str
    volume_src: bool = False


@dataclass(frozen=True)
class _Target:
    node: yaml.ScalarNode
    token: yaml.ScalarToken
    start: int  # character index of the scalar's first character (quote included)
    end: int  # character index just past it
    flow: bool  # inside a flow collection ([...] or {...})


# --- public API --------------------------------------------------------------------------------

def rewrite_scalar(data: bytes, line: int, column: int, new_text: str, *, volume_src: bool = False,
                   file: str | None = None) -> bytes:
    """`data` with the one scalar at `line:column` rewritten. Raises EditError when unsafe."""
    return rewrite_scalars(data, [ScalarEdit(line, column, new_text, volume_src)], file=file)


def rewrite_scalars(data: bytes, edits: Sequence[ScalarEdit], *, file: str | None = None) -> bytes:
    """Apply several scalar edits to one file in a single pass (locations refer to `data`)."""
    bom, text = _decode(data, file)
    nodes, tokens = _index(text, file)
    chosen: list[tuple[_Target, str, ScalarEdit]] = []
    seen: set[int] = set()
    for edit in edits:
        target = _find(edit, nodes, tokens, file)
        if target.start in seen:
            raise EditError(f"two edits for the same scalar at line {edit.line}", file, edit.line,
                            edit.column, "Combine them into one edit.")
        seen.add(target.start)
        chosen.append((target, _new_value(target, edit, file), edit))

    # Try the original style first, then the quoted ones; keep the first that re-parses correctly.
    pieces: list[tuple[int, int, str]] = []
    for target, new_value, edit in chosen:
        pieces.append((target.start, target.end, _encode_best(text, target, new_value, edit, file)))
    pieces.sort()
    out = bytearray(bom)
    raw = data[len(bom):]
    cursor_chars = 0
    cursor_bytes = 0
    for start, end, replacement in pieces:
        b_start = cursor_bytes + len(text[cursor_chars:start].encode("utf-8"))
        b_end = b_start + len(text[start:end].encode("utf-8"))
        out += raw[cursor_bytes:b_start]
        out += replacement.encode("utf-8")
        cursor_chars, cursor_bytes = end, b_end
    out += raw[cursor_bytes:]
    result = bytes(out)
    _verify(text, result[len(bom):].decode("utf-8"),
            {t.node.start_mark.index: v for t, v, _ in chosen}, file)
    return result


def scalar_at(data: bytes, line: int, column: int, *, file: str | None = None) -> tuple[str, str]:
    """(value, style) of the scalar at `line:column`; style is '', "'" or '"'."""
    _, text = _decode(data, file)
    nodes, tokens = _index(text, file)
    target = _find(ScalarEdit(line, column, ""), nodes, tokens, file)
    return target.token.value, (target.token.style or "")


def volume_src_length(value: str) -> int:
    """Length of the source part of a short-syntax volume `src:dst[:mode]`, as Compose splits it.

    A colon after a single drive letter (`C:\\data`) belongs to the source; `${VAR:-x}` is skipped.
    A value without a separator is all source.
    """
    depth = 0
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "$" and value[i + 1:i + 2] == "$":
            i += 2
            continue
        if ch == "$" and value[i + 1:i + 2] == "{":
            depth += 1
            i += 2
            continue
        if ch == "}" and depth:
            depth -= 1
        elif ch == ":" and not depth:
            if i == 1 and value[0].isalpha():
                i += 1
                continue
            return i
        i += 1
    return len(value)


# --- locating ----------------------------------------------------------------------------------

def _decode(data: bytes, file: str | None) -> tuple[bytes, str]:
    bom = _BOM if data.startswith(_BOM) else b""
    try:
        return bom, data[len(bom):].decode("utf-8")
    except UnicodeDecodeError:
        raise EditError(f"{file or 'the file'} is not valid UTF-8", file,
                        hint="Save the file as UTF-8 and plan again.") from None


def _index(text: str, file: str | None):
    try:
        tokens = list(yaml.scan(text, Loader=yaml.SafeLoader))
        nodes = list(_walk_all(yaml.compose_all(text, Loader=yaml.SafeLoader)))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise EditError(f"cannot parse YAML: {getattr(exc, 'problem', exc)}", file,
                        mark.line + 1 if mark else None, mark.column + 1 if mark else None,
                        "Fix the YAML syntax first.") from None
    return nodes, tokens


def _walk_all(docs: Iterable[yaml.Node | None]) -> Iterable[yaml.Node]:
    seen: set[int] = set()
    for doc in docs:
        if doc is None:
            continue
        stack = [doc]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            yield node
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    stack += [k, v]
            elif isinstance(node, yaml.SequenceNode):
                stack += list(node.value)


def _find(edit: ScalarEdit, nodes: list[yaml.Node], tokens: list[yaml.Token],
          file: str | None) -> _Target:
    line0, col0 = edit.line - 1, edit.column - 1
    by_end: dict[int, tuple[yaml.ScalarToken, bool]] = {}
    flow = 0
    for tok in tokens:
        if isinstance(tok, (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken)):
            flow += 1
        elif isinstance(tok, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)):
            flow = max(0, flow - 1)
        elif isinstance(tok, yaml.ScalarToken):
            by_end[tok.end_mark.index] = (tok, flow > 0)
    keys = {id(k) for n in nodes if isinstance(n, yaml.MappingNode) for k, _ in n.value}
    for node in nodes:
        found = by_end.get(node.end_mark.index) if isinstance(node, yaml.ScalarNode) else None
        if found is None or id(node) in keys:
            continue
        tok, in_flow = found
        at_node = (node.start_mark.line, node.start_mark.column) == (line0, col0)
        at_tok = (tok.start_mark.line, tok.start_mark.column) == (line0, col0)
        if not (at_node or at_tok):
            continue
        if tok.style in ("|", ">"):
            raise EditError("the value is a block scalar (| or >); refusing to rewrite it in place",
                            file, edit.line, edit.column,
                            "Edit the file by hand or choose the copy/symlink fix instead.")
        if tok.start_mark.line != tok.end_mark.line:
            raise EditError("the value spans several lines; refusing to rewrite it in place",
                            file, edit.line, edit.column,
                            "Put the value on one line, or choose the copy/symlink fix instead.")
        return _Target(node, tok, tok.start_mark.index, tok.end_mark.index, in_flow)
    for node in nodes:
        if (node.start_mark.line, node.start_mark.column) == (line0, col0) \
                and not isinstance(node, yaml.ScalarNode):
            raise EditError("the YAML node there is a mapping or list, not a single value",
                            file, edit.line, edit.column, "Plan again: the file may have changed.")
    if any(id(n) in keys and (n.start_mark.line, n.start_mark.column) == (line0, col0) for n in nodes):
        raise EditError("that is a mapping key, not a value", file, edit.line, edit.column,
                        "Plan again: the file may have changed.")
    raise EditError(f"no YAML value starts at line {edit.line}, column {edit.column}", file,
                    edit.line, edit.column, "The file changed since the plan; plan again.")


def _new_value(target: _Target, edit: ScalarEdit, file: str | None) -> str:
    value = target.token.value
    if not edit.volume_src:
        return edit.new_text
    n = volume_src_length(value)
    return edit.new_text + value[n:]


# --- encoding ----------------------------------------------------------------------------------

def _printable(ch: str) -> bool:
    o = ord(ch)
    return (ch in "\t\n\r\x85" or 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF
            or 0xE000 <= o <= 0xFFFD or 0x10000 <= o <= 0x10FFFF) and o != 0xFEFF


def _plain_ok(value: str, flow: bool) -> bool:
    if not value or value != value.strip(" \t") or value[0] in _PLAIN_BAD_FIRST:
        return False
    if any(ch in _LINE_BREAKS or ch == "\t" or not _printable(ch) for ch in value):
        return False
    if ": " in value or " #" in value or value.endswith(":"):
        return False
    if flow and any(ch in _FLOW_INDICATORS for ch in value):
        return False
    resolved = yaml.resolver.Resolver().resolve(yaml.ScalarNode, value, (True, False))
    return resolved == _STR_TAG


def _single_ok(value: str) -> bool:
    return all(_printable(ch) and ch not in _LINE_BREAKS for ch in value)


def _single_body(value: str) -> str:
    return value.replace("'", "''")


def _double_body(value: str) -> str:
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch in _LINE_BREAKS or ch == "\t" or not _printable(ch):
            o = ord(ch)
            out.append(f"\\x{o:02X}" if o <= 0xFF else f"\\u{o:04X}" if o <= 0xFFFF else f"\\U{o:08X}")
        else:
            out.append(ch)
    return "".join(out)


def _raw_offsets(raw: str, style: str | None) -> list[int]:
    """For a one-line scalar's raw text, the raw offset where each value character starts
    (plus one entry for the end), so a value prefix maps onto the raw text exactly."""
    if not style:
        return list(range(len(raw) + 1))
    offsets = []
    i = 1
    end = len(raw) - 1  # closing quote
    while i < end:
        offsets.append(i)
        if style == "'":
            i += 2 if raw[i] == "'" else 1
        elif raw[i] == "\\":
            code = raw[i + 1]
            i += 2 + _DQ_CODES.get(code, 0)
        else:
            i += 1
    offsets.append(end)
    return offsets


def _encode(text: str, target: _Target, new_value: str, edit: ScalarEdit, style: str) -> str | None:
    """Replacement raw text for the scalar in `style`, or None when that style cannot hold it."""
    old_raw = text[target.start:target.end]
    old_style = target.token.style or ""
    keep_tail = edit.volume_src and style == old_style
    if keep_tail:
        old_value = target.token.value
        n = volume_src_length(old_value)
        offsets = _raw_offsets(old_raw, old_style or None)
        if len(offsets) != len(old_value) + 1:
            keep_tail = False
    if style == "":
        if not _plain_ok(new_value, target.flow):
            return None
        if keep_tail:
            return edit.new_text + old_raw[offsets[n]:]
        return new_value
    if style == "'":
        if not _single_ok(new_value):
            return None
        if keep_tail:
            return "'" + _single_body(edit.new_text) + old_raw[offsets[n]:]
        return "'" + _single_body(new_value) + "'"
    if keep_tail:
        return '"' + _double_body(edit.new_text) + old_raw[offsets[n]:]
    return '"' + _double_body(new_value) + '"'


def _encode_best(text: str, target: _Target, new_value: str, edit: ScalarEdit,
                 file: str | None) -> str:
    old_style = target.token.style or ""
    styles = [old_style] + [s for s in ("'", '"') if s != old_style]
    for style in styles:
        raw = _encode(text, target, new_value, edit, style)
        if raw is None:
            continue
        candidate = text[:target.start] + raw + text[target.end:]
        try:
            _verify(text, candidate, {target.node.start_mark.index: new_value}, file)
        except EditError:
            continue
        return raw
    raise EditError(f"cannot write {new_value!r} as a YAML value here", file, edit.line, edit.column,
                    "Choose the copy or symlink fix instead.")


# --- verification ------------------------------------------------------------------------------

def _verify(old_text: str, new_text: str, expected: dict[int, str], file: str | None) -> None:
    """Re-parse both documents; every node must match except the targets (keyed by the old node's
    start index), which must hold their new values as strings. Raises EditError otherwise."""
    try:
        old_docs = list(yaml.compose_all(old_text, Loader=yaml.SafeLoader))
        new_docs = list(yaml.compose_all(new_text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise EditError(f"the edited file would not parse: {exc}", file,
                        hint="This is a bug in toolbox-tui; the file was not changed.") from None
    if len(old_docs) != len(new_docs):
        raise EditError("the edit would change the number of YAML documents", file)
    memo: set[tuple[int, int]] = set()
    for a, b in zip(old_docs, new_docs):
        _same(a, b, expected, memo, file)


def _same(a: Any, b: Any, expected: dict[int, str], memo: set[tuple[int, int]],
          file: str | None) -> None:
    stack = [(a, b)]
    while stack:
        a, b = stack.pop()
        key = (id(a), id(b))
        if key in memo:
            continue
        memo.add(key)
        if a is None or b is None:
            if a is not b:
                raise EditError("the edit would change the document structure", file)
            continue
        if type(a) is not type(b):
            raise EditError("the edit would change the document structure", file,
                            a.start_mark.line + 1, a.start_mark.column + 1)
        if isinstance(a, yaml.ScalarNode):
            if a.start_mark.index in expected:
                if b.value != expected[a.start_mark.index] or b.tag != _STR_TAG:
                    raise EditError("the edited value would not read back as written", file,
                                    a.start_mark.line + 1, a.start_mark.column + 1)
            elif a.value != b.value or a.tag != b.tag:
                raise EditError("the edit would change another value", file,
                                a.start_mark.line + 1, a.start_mark.column + 1)
            continue
        if a.tag != b.tag or len(a.value) != len(b.value):
            raise EditError("the edit would change the document structure", file,
                            a.start_mark.line + 1, a.start_mark.column + 1)
        if isinstance(a, yaml.MappingNode):
            for (ka, va), (kb, vb) in zip(a.value, b.value):
                stack += [(ka, kb), (va, vb)]
        else:
            stack += list(zip(a.value, b.value))
