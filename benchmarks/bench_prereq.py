"""How long the prerequisite checks take against the real engine, next to `docker info`.

Run: `python benchmarks/bench_prereq.py [RUNS]`. Prints the median of RUNS calls of
`prereq_checks()` (without a stack, and with the bundled example stack's published ports),
the first (cold) call separately, and the ratio to one `docker info` CLI call measured in
the same process. The issue's budget is the whole doctor with engine checks under 1.5 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from toolbox_tui.checks.prereq import prereq_checks  # noqa: E402


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    t = time.perf_counter()
    first = prereq_checks()
    cold = time.perf_counter() - t
    if any(c.id == "prereq.engine" and c.status != "pass" for c in first):
        print("engine not reachable; the numbers would measure the failure path", file=sys.stderr)
    baseline = statistics.median(timed(
        lambda: subprocess.run(["docker", "info"], capture_output=True, check=False), runs))
    plain = statistics.median(timed(prereq_checks, runs))

    stack = None
    example = REPO / "examples" / "toolboxai"
    if example.is_dir():
        from toolbox_tui.compose.project import ProjectOptions, load_stack

        os.environ.setdefault("TBX_IMAGE", "toolbox-tui/busybox:test")
        stack = load_stack(ProjectOptions(cwd=str(example)))
    with_ports = statistics.median(timed(lambda: prereq_checks(stack), runs)) if stack else None

    print(f"docker info (CLI)               median {baseline * 1000:7.1f} ms  (baseline)")
    print(f"prereq_checks() cold            {cold * 1000:14.1f} ms  ratio {cold / baseline:5.2f}")
    print(f"prereq_checks() warm            median {plain * 1000:7.1f} ms  ratio {plain / baseline:5.2f}")
    if with_ports is not None:
        n = len([c for c in prereq_checks(stack) if c.id.startswith("prereq.port.")])
        print(f"prereq_checks(example, {n:2d} ports) median {with_ports * 1000:7.1f} ms  "
              f"ratio {with_ports / baseline:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
