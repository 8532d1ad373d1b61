"""Untrusted text: what a container prints must not drive the terminal or run Textual actions."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, strategies as st

from toolbox_tui.sanitize import (
    DEFAULT_MAX_LINE, decode, sanitize_line, sanitize_lines, sanitize_oneline, strip_all, truncate,
)

HOSTILE = (
    "A\x1b]0;pwned title\x07"            # OSC title, BEL terminator
    "B\x1b]2;other title\x1b\\"          # OSC title, ST terminator
    "C\x1b[2J"                           # clear screen
    "D\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\"  # OSC 8 hyperlink
    "E\x1bPq#0;2;0;0;0#1;2;100;100;0\x1b\\"  # DCS (sixel)
    "F\x1bX sos payload \x1b\\G\x1b^pm\x1b\\H\x1b_apc\x1b\\"
    "I\u009b31m\u0085\u009d0;c1 title\u009c"  # C1 CSI/NEL/OSC
    "J\x00\x01\x08\x0b\x0c\x0d\x7f"       # C0 + DEL
    "K[@click=app.quit]"
)


def _no_controls(s: str, allow_esc_sgr: bool = False) -> None:
    if allow_esc_sgr:
        s = re.sub(r"\x1b\[[0-9;:]*m", "", s)
    assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]", s), repr(s)


def test_hostile_sequences_are_dropped_whole() -> None:
    out = strip_all(HOSTILE)
    assert out == "ABCDlinkEFGHIJK[@click=app.quit]"
    # with colours kept, only the (8-bit) SGR survives, normalised to 7-bit
    assert sanitize_line(HOSTILE) == "ABCDlinkEFGHI\x1b[31mJK[@click=app.quit]"
    for word in ("pwned", "title", "evil", "sos", "payload", "pm", "apc", "2J", "#0;2"):
        assert word not in out
    _no_controls(out)


def test_sgr_kept_only_when_asked() -> None:
    line = "\x1b[1;31merror\x1b[0m plain \x1b[38;2;1;2;3mrgb\x1b[m"
    assert sanitize_line(line) == line
    assert strip_all(line) == "error plain rgb"
    # 8-bit CSI SGR is normalised to the 7-bit form
    assert sanitize_line("\u009b32mok") == "\x1b[32mok"


def test_other_csi_dropped_even_with_sgr_kept() -> None:
    assert sanitize_line("a\x1b[?1049hb\x1b[10;20Hc\x1b[6nd\x1b[31me") == "abcd\x1b[31me"


def test_unterminated_sequences_swallow_to_end() -> None:
    assert sanitize_line("ok\x1b]0;never ends") == "ok"
    assert sanitize_line("ok\x1bPdcs never ends") == "ok"
    assert sanitize_line("ok\x1b[12") == "ok"
    assert sanitize_line("ok\x1b") == "ok"
    # an OSC cut short by the next ESC does not eat the text after that sequence
    assert sanitize_line("a\x1b]0;t\x1b[2Jb") == "ab"


def test_tab_kept_and_bidi_dropped() -> None:
    assert sanitize_line("a\tb") == "a\tb"
    assert sanitize_line("user\u202egnp.exe") == "usergnp.exe"


def test_invalid_utf8_replaced() -> None:
    assert decode(b"ok \xff\xfe end") == "ok \ufffd\ufffd end"
    # raw C1 bytes are invalid UTF-8: they become U+FFFD, never controls
    out = sanitize_line(b"x\x9b2Jy\x85z")
    assert "\x9b" not in out and "\x85" not in out
    assert out.startswith("x") and out.endswith("z")


def test_long_line_truncated_with_marker() -> None:
    out = sanitize_line("x" * 90_000)
    assert out.startswith("x" * DEFAULT_MAX_LINE)
    assert out.endswith(f"[+{90_000 - DEFAULT_MAX_LINE:,} chars]")
    assert len(out) < DEFAULT_MAX_LINE + 40


def test_truncate_counts_visible_chars_only() -> None:
    s = "\x1b[31m" + "a" * 10 + "\x1b[0m" + "b" * 10
    out = truncate(s, 15)
    assert re.sub(r"\x1b\[[0-9;]*m", "", out).startswith("a" * 10 + "b" * 5)
    assert out.endswith("[+5 chars]")
    assert truncate("short", 15) == "short"


def test_oneline_and_lines() -> None:
    assert sanitize_oneline("line1\r\nline2\n\x1b[31mred\x1b[0m\n") == "line1 ⏎ line2 ⏎ red"
    assert sanitize_lines(b"a\x07\nb\x1b[2J\n") == ["a", "b", ""]


@given(st.text())
def test_property_no_controls_survive(s: str) -> None:
    _no_controls(strip_all(s, max_len=None))
    _no_controls(sanitize_line(s, max_len=None), allow_esc_sgr=True)


@given(st.binary(max_size=300))
def test_property_bytes_never_raise(b: bytes) -> None:
    out = sanitize_line(b)
    _no_controls(out, allow_esc_sgr=True)


@pytest.mark.parametrize("n", [0, 1, 100, 4096, 4097, 40_000, 200_000])
def test_property_length_bounded(n: int) -> None:
    out = strip_all("é" * n)
    assert len(out) <= DEFAULT_MAX_LINE + 40
