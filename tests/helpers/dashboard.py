"""Reading the dashboard's services table in Pilot tests."""

from __future__ import annotations

from typing import Any


def cell(screen: Any, service: str, column: str) -> str:
    """The plain text of one cell of the services table (`column` is the column key)."""
    from textual.widgets import DataTable

    value = screen.query_one("#services", DataTable).get_cell(service, column)
    return getattr(value, "plain", str(value))
