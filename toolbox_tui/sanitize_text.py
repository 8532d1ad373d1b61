"""Minimal cleaning of text from other programs before it reaches a report line.

The full untrusted-text sanitizer for container output lives in `toolbox_tui.sanitize`; this
one is for short messages (Compose errors) in CLI reports: no escape sequences or controls.
"""

from __future__ import annotations

import re

_ESC = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)", re.S)
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: str) -> str:
    return _CTRL.sub("", _ESC.sub("", text))
