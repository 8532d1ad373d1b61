"""Time and peak memory of the installed command on two hostile repositories (issue 14, 7 and 8).

Run: `python benchmarks/bench_untrusted_input.py`. Prints, for each case, seconds and peak RSS of
`toolbox-tui fix` (plan only), next to a baseline measured in the same run:

- a missing bind source whose only candidate is a 1.5 GB (sparse) file: the plan hashes it,
  streamed; baseline `sha256sum` of the same file (ratio of times; RSS should stay flat);
- a 2 KB Compose file whose aliases repeat one interpolated string ~1.8M times (just under the
  node budget, so it loads): baseline the same file with the string written without `${...}`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = str(Path(sys.executable).with_name("toolbox-tui"))
BASE = "services:\n  app:\n    image: busybox\n"


def measure(argv: list[str], cwd: Path) -> tuple[float, int, int]:
    """(seconds, peak RSS in MB, exit code) of one run, in a fresh wrapper process."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter();"
             "p = subprocess.run(sys.argv[1:], capture_output=True);"
             "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
             " p.returncode)")
    out = subprocess.run([sys.executable, "-c", probe, *argv], cwd=cwd, capture_output=True,
                         text=True, timeout=600, env={**os.environ, "NO_COLOR": "1"}).stdout.split()
    return float(out[0]), int(out[1]) // 1024, int(out[2])


def aliases(string: str) -> str:
    lines = [f'x-s: &s "{string}"', "x-l0: &l0 [" + ", ".join(["*s"] * 12) + "]"]
    for i in range(1, 5):
        lines.append(f"x-l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 12) + "]")
    return "\n".join(lines) + "\n" + BASE + "    command: [" + ", ".join(["*l4"] * 6) + "]\n"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="tbx-bench-untrusted-") as tmp:
        root = Path(tmp, "repo")
        (root / "other").mkdir(parents=True)
        (root / ".git").mkdir()
        (root / "compose.yaml").write_text(BASE + "    volumes:\n      - ./conf/app.conf:/etc/app.conf\n")
        subprocess.run(["truncate", "-s", "1500M", str(root / "other" / "app.conf")], check=True)
        t = time.perf_counter()
        subprocess.run(["sha256sum", str(root / "other" / "app.conf")], capture_output=True, check=True)
        base = time.perf_counter() - t
        secs, rss, code = measure([EXE, "fix"], root)
        print(f"1.5 GB candidate: fix (plan) {secs:.2f} s, peak RSS {rss} MB, exit {code}; "
              f"sha256sum {base:.2f} s; ratio {secs / base:.2f}")

        root2 = Path(tmp, "aliases")
        root2.mkdir()
        (root2 / ".git").mkdir()
        (root2 / "compose.yaml").write_text(aliases("${A:-${B:-${C:-ab}}}"))
        (root2 / "plain.yaml").write_text(aliases("ab"))
        p_secs, p_rss, _ = measure([EXE, "-f", "plain.yaml", "fix"], root2)
        secs, rss, code = measure([EXE, "fix"], root2)
        print(f"1.8M aliased interpolated strings: fix (plan) {secs:.2f} s, peak RSS {rss} MB, "
              f"exit {code}; without ${{...}} {p_secs:.2f} s, {p_rss} MB; ratio {secs / p_secs:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
