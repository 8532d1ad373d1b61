"""Make untrusted text (container logs, names, labels, health-check output) safe to display.

Anything a container prints can try to drive the user's terminal: retitle the window (OSC 0/2),
clear the screen (`ESC[2J`), plant hyperlinks (OSC 8), smuggle device-control strings (DCS, SOS,
PM, APC), or use 8-bit C1 controls. And a Textual widget that renders *markup* would run
`[@click=app.quit]`. So every untrusted string goes through this module before a widget sees it,
and the faces render the result as `rich.text.Text`, never as markup.

Kept: printable text, tab, and — only in `sanitize_line(keep_sgr=True)` — SGR colour sequences
(`ESC[...m`), which the log view turns into styles with `Text.from_ansi`. Dropped: every other
escape sequence (whole, including its payload and terminator), C0 controls except tab, DEL, C1
controls (U+0080-U+009F) and Unicode bidi overrides. Invalid UTF-8 decodes with U+FFFD.
Long lines are cut with a visible marker so one 90,000-character line cannot freeze a view.
"""

from __future__ import annotations

import hashlib
import re

DEFAULT_MAX_LINE = 4096
"""Longest line (in characters, after sanitizing) shown before it is cut with a marker."""

TRUNCATION_MARKER = " … [+{n:,} chars]"
"""Appended to a cut line; `n` is how many characters were dropped."""

_ST = r"(?:\x1b\\|\x9c)"  # string terminator, 7-bit or 8-bit
_UNSAFE = re.compile(
    r"""
      (?P<sgr>(?:\x1b\[|\x9b)[0-9;:]*m)                   # SGR colour: kept on request
    | (?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|""" + _ST + r"""|(?=\x1b)|$)   # OSC ... BEL|ST
    | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:""" + _ST + r"""|(?=\x1b)|$)  # DCS SOS PM APC
    | (?:\x1b\[|\x9b)[0-?]*[ -/]*(?:[@-~]|$)              # any other CSI (or a cut-off one)
    | \x1b[ -/]*[0-~]?                                    # nF/Fp/Fe/Fs escapes, a lone ESC
    | [\x00-\x08\x0a-\x1f\x7f-\x9f]                       # C0 (not tab), DEL, C1
    | [\u202a-\u202e\u2066-\u2069]                        # bidi embeddings/overrides/isolates
    """,
    re.VERBOSE,
)
_NEEDS_WORK = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Anything `_UNSAFE` could act on; most log lines contain none and skip the big regex."""
_SGR_ONLY = re.compile(r"(?:\x1b\[|\x9b)[0-9;:]*m")
_TRAILING_PARTIAL_SGR = re.compile(r"\x1b(?:\[[0-9;:]*)?$")


def decode(data: bytes | bytearray | memoryview | str) -> str:
    """UTF-8 text from bytes; invalid sequences become U+FFFD instead of raising."""
    if isinstance(data, str):
        return data
    return bytes(data).decode("utf-8", "replace")


def _keep_sgr(match: re.Match[str]) -> str:
    sgr = match.group("sgr")
    if sgr is None:
        return ""
    return sgr if sgr.startswith("\x1b") else "\x1b[" + sgr[1:]


def sanitize_line(text: bytes | str, *, keep_sgr: bool = True,
                  max_len: int | None = DEFAULT_MAX_LINE) -> str:
    """One display line: unsafe sequences and controls removed, cut to `max_len` characters.

    `text` should be a single line (the caller splits on newlines); any newline or carriage return
    left in it is dropped, never displayed. With `keep_sgr` the SGR colour sequences survive (as
    7-bit `ESC[...m`); `max_len` counts visible characters, not the kept SGR bytes.
    """
    s = decode(text)
    if max_len is not None and len(s) > 8 * max_len + 64:
        # Bound the regex work on a huge line before cleaning; the count is fixed up below.
        dropped_raw = len(s) - 8 * max_len
        s = s[: 8 * max_len]
    else:
        dropped_raw = 0
    if _NEEDS_WORK.search(s) is not None:
        s = _UNSAFE.sub(_keep_sgr if keep_sgr else "", s)
    if max_len is None:
        return s
    return truncate(s, max_len, extra_dropped=dropped_raw)


def truncate(s: str, max_len: int = DEFAULT_MAX_LINE, *, extra_dropped: int = 0) -> str:
    """`s` cut to `max_len` visible characters (SGR sequences do not count) plus the marker."""
    has_sgr = "\x1b" in s
    visible = len(_SGR_ONLY.sub("", s)) if has_sgr else len(s)
    if visible <= max_len and not extra_dropped:
        return s
    if visible <= max_len:
        return s + TRUNCATION_MARKER.format(n=extra_dropped)
    if not has_sgr:
        cut = s[:max_len]
    else:
        out: list[str] = []
        count = 0
        pos = 0
        for m in _SGR_ONLY.finditer(s):
            chunk = s[pos:m.start()]
            if count + len(chunk) >= max_len:
                out.append(chunk[: max_len - count])
                count = max_len
                break
            out.append(chunk)
            out.append(m.group(0))
            count += len(chunk)
            pos = m.end()
        else:
            out.append(s[pos: pos + (max_len - count)])
        cut = _TRAILING_PARTIAL_SGR.sub("", "".join(out)) + ("\x1b[0m")
    return cut + TRUNCATION_MARKER.format(n=visible - max_len + extra_dropped)


def strip_all(text: bytes | str, *, max_len: int | None = DEFAULT_MAX_LINE) -> str:
    """Plain text: like `sanitize_line` but SGR colours are removed too (names, labels...)."""
    return sanitize_line(text, keep_sgr=False, max_len=max_len)


def display_name(raw: str, *, max_len: int = 64) -> str:
    """A name from the engine (a Compose service label...) safe to show *and* still unique.

    Plain names come back unchanged. When cleaning changed the name (controls, escape sequences,
    bidi overrides removed, or cut), a short digest of the raw name is appended (`web ~3f2a1c`),
    so a container labelled `web\\u202e` never passes for the real `web`, and two long names that
    share their first `max_len` characters stay two rows.
    """
    shown = strip_all(raw, max_len=max_len)
    if shown == raw:
        return shown
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return f"{shown} ~{digest}" if shown.strip() else f"~{digest}"


def sanitize_oneline(text: bytes | str, *, max_len: int | None = 512, sep: str = " ⏎ ") -> str:
    """Multi-line untrusted text (health-check output) folded into one plain line."""
    s = decode(text)
    parts = [strip_all(p, max_len=None).strip() for p in re.split(r"\r\n|\r|\n", s)]
    joined = sep.join(p for p in parts if p)
    return truncate(joined, max_len) if max_len is not None else joined


def sanitize_lines(text: bytes | str, *, keep_sgr: bool = False,
                   max_len: int | None = DEFAULT_MAX_LINE) -> list[str]:
    """Multi-line untrusted text as a list of safe lines."""
    return [sanitize_line(p, keep_sgr=keep_sgr, max_len=max_len)
            for p in re.split(r"\r\n|\n", decode(text))]


def plain_text(text: bytes | str) -> str:
    """Multi-line text from another program (a Compose error, a report detail) made safe for a
    terminal report: every line stripped of escape sequences and controls, none truncated."""
    return "\n".join(sanitize_lines(text, keep_sgr=False, max_len=None))
