"""The unit every check produces, and how a set of them becomes an exit code.

A `Check` crosses from the engine to both faces (the CLI report and the wizard), so it is a
small frozen dataclass with plain values: paths are absolute strings, never Path objects,
so `--json` output and screens show exactly the same thing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

AREAS = ("prereq", "compose", "paths", "secrets", "env", "overrides", "docs")
"""Report order of the areas."""

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"
STATUSES = (PASS, FAIL, WARN, SKIP)
"""`fail` makes the exit code 1; `warn` is reported but allowed; `skip` means not evaluated."""

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Check:
    """One evaluated check: what was looked at, whether it holds, and what to do if not."""

    id: str
    """Stable identifier (`paths.missing.redis.volumes.0`); `fix --choose ID=...` refers to it."""
    area: str
    severity: str
    status: str
    title: str
    detail: str = ""
    hint: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None
    service: str | None = None
    path: str | None = None
    candidates: tuple[str, ...] = ()
    data: tuple[tuple[str, Any], ...] = field(default=())
    """Extra machine-readable facts (key, value) pairs; kept hashable."""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["candidates"] = list(self.candidates)
        out["data"] = {k: v for k, v in self.data}
        return out

    @property
    def where(self) -> str:
        """`file:line:col` when known, for messages."""
        if not self.file:
            return ""
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return where

    def extra(self, key: str, default: Any = None) -> Any:
        for k, v in self.data:
            if k == key:
                return v
        return default


KIND_TEXT = {
    "docs.missing": "references to missing files",
    "paths.bind": "bind mount sources that do not exist (Docker creates empty directories)",
    "secrets.plain_env": "secrets passed as plain environment variables",
    "env.unset": "variables used without a default that are not set",
    "env.placeholder": "placeholder values still in the env file",
    "overrides.ports": "ports published on all interfaces",
}
"""How the human report names a group of warnings of one kind."""


def kind_of(check: Check) -> str:
    """The kind of a finding, for grouping: its id up to the second dot (`docs.missing`)."""
    return ".".join(check.id.split(".")[:2])


def summarize(checks: Iterable[Check]) -> dict[str, int]:
    counts = {s: 0 for s in STATUSES}
    for c in checks:
        counts[c.status] = counts.get(c.status, 0) + 1
    counts["total"] = sum(counts[s] for s in STATUSES)
    return counts


def exit_code(checks: Iterable[Check]) -> int:
    """0 when nothing fails (warnings allowed), 1 when at least one check fails."""
    return 1 if any(c.status == FAIL for c in checks) else 0
