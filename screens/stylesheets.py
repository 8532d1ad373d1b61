"""Stylesheets of the faces, read from the installed `toolbox_tui.styles` package (one `.tcss`
per screen plus the shared ones), so they are found the same way in a wheel and in a checkout."""

from __future__ import annotations

from importlib import resources


def load_css(name: str) -> str:
    """The text of stylesheet `name` (e.g. `dashboard.tcss`)."""
    return resources.files("toolbox_tui.styles").joinpath(name).read_text(encoding="utf-8")
