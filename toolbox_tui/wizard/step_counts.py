"""How many failing findings each later wizard step has to fix: one rule for the Prerequisites
step's "Later steps" line and for what the Paths and Secrets steps list, so the count said on one
step is the count found on the next. No textual here.
"""

from __future__ import annotations

from typing import Iterable

from toolbox_tui.findings import FAIL, Check


def later_step(check: Check) -> str | None:
    """The step that lists a failing `check` for fixing, or None (one rule for every step's count:
    the Prerequisites step's "Later steps" line and the Paths step's own list agree). Paths lists
    what the fix planner handles (`fixes.plan.fixable`: not a path that is wrong because a
    variable is unset); Secrets asks for every secret the stack needs."""
    from toolbox_tui.fixes.plan import fixable

    if check.status != FAIL:
        return None
    if fixable(check):
        return "Paths"
    return "Secrets" if check.area == "secrets" else None


def later_counts(checks: Iterable[Check]) -> dict[str, int]:
    """Failing findings per later step, in step order (see `later_step`)."""
    out = {"Paths": 0, "Secrets": 0}
    for c in checks:
        step = later_step(c)
        if step:
            out[step] += 1
    return {k: n for k, n in out.items() if n}
