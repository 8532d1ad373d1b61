"""Doctor speed on a seed-sized stack (13 services, ~900+330 lines), measured in one run.

Goals (issue 2): `doctor` without engine checks within 3x `docker compose config` on the same
files; with engine checks under 1.5 s. Both timed as the user runs them (fresh processes),
alternating, median of N rounds.

    .venv/bin/python benchmarks/bench_doctor.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from seed_sized_stack import generate  # noqa: E402


def timed(argv: list[str], cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    exe = shutil.which("toolbox-tui", path=os.path.dirname(sys.executable)) or "toolbox-tui"
    with tempfile.TemporaryDirectory() as tmp:
        compose = generate(Path(tmp))
        files = ["-f", "docker-compose.yml", "-f", "docker-compose.dev.yml"]
        lines = sum(len((compose / f).read_text().splitlines()) for f in files[1::2])
        base, ours, engine = [], [], []
        timed([exe, "doctor", *files, "--no-engine", "--json"], compose)  # warm caches
        for _ in range(args.rounds):
            base.append(timed(["docker", "compose", *files, "config", "--format", "json"], compose))
            ours.append(timed([exe, "doctor", *files, "--no-engine", "--json"], compose))
            engine.append(timed([exe, "doctor", *files, "--json"], compose))
    b, o, e = (statistics.median(x) for x in (base, ours, engine))
    ratio = o / b
    print(f"stack: 13 services, {lines} lines in 2 files; {args.rounds} rounds, medians")
    print(f"docker compose config        {b * 1000:7.0f} ms")
    print(f"toolbox-tui doctor --no-engine {o * 1000:5.0f} ms   ratio {ratio:.2f}x  (goal <= 3x)  "
          f"{'PASS' if ratio <= 3 else 'FAIL'}")
    print(f"toolbox-tui doctor (engine)  {e * 1000:7.0f} ms   (goal < 1500 ms)  {'PASS' if e < 1.5 else 'FAIL'}")
    return 0 if ratio <= 3 and e < 1.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
