"""The doctor on the shared corpus of real projects (fresh and "as told"), measured in one run.

Per project: findings by verdict against `tests/checks/corpus_expected.py` (true = an expected
finding, false = a forbidden one, noise = true but of little use, unjudged = none of those),
split into failures and warnings; expected findings missing; the doctor's exit code against the
expected one and against `docker compose config`'s; lines of the default human report; time of
`doctor --no-engine --json` against `docker compose config --format json` (one run each).

Goals (issue 15): >= 95 % of failing and >= 90 % of warning findings true (of those judged);
no false failure on a project that comes up as it is.

    .venv/bin/python benchmarks/bench_corpus.py [PROJECT ...]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.checks.corpus_expected import EXPECTED, judge  # noqa: E402
from tests.helpers.corpus import CORPUS_DIR, corpus_available, load_projects, run_project  # noqa: E402


def main(argv: list[str]) -> int:
    if not corpus_available():
        print(f"the Compose corpus is not at {CORPUS_DIR}")
        return 2
    projects = [p for p in load_projects() if not argv or p.name in argv]
    head = (f"{'project':26} {'fail t/f/n/u':>13} {'warn t/f/n/u':>13} {'miss':>4} "
            f"{'exit':>4} {'want':>4} {'dcc':>3} {'lines':>5} {'time':>7}")
    print(head)
    print("-" * len(head))
    tot = {"fail": [0, 0, 0, 0], "warn": [0, 0, 0, 0]}
    missing = wrong_exit = 0
    with tempfile.TemporaryDirectory() as tmp:
        for p in projects:
            run = run_project(p, Path(tmp) / p.name.replace("+", "_"))
            v = judge(p.name, run.doctor["checks"])
            cells = {}
            for status in ("fail", "warn"):
                counts = [sum(c["status"] == status for c in v[k])
                          for k in ("true", "false", "noise", "unjudged")]
                tot[status] = [a + b for a, b in zip(tot[status], counts)]
                cells[status] = "/".join(map(str, counts))
            want = EXPECTED[p.name]["exit"]
            missing += len(v["missing"])
            wrong_exit += run.doctor_exit != want
            ratio = run.seconds_doctor / run.seconds_compose if run.seconds_compose else 0
            print(f"{p.name:26} {cells['fail']:>13} {cells['warn']:>13} {len(v['missing']):>4} "
                  f"{run.doctor_exit:>4} {want:>4} {run.compose_exit:>3} "
                  f"{len(run.human.splitlines()):>5} {ratio:>6.1f}x")
    print("-" * len(head))

    def share(c: list[int]) -> str:
        judged = c[0] + c[1] + c[2]
        return f"{(c[0] + c[2]) / judged * 100:.0f} % true of {judged} judged" if judged else "none judged"
    print(f"failing findings: {'/'.join(map(str, tot['fail']))} (t/f/n/u): {share(tot['fail'])}")
    print(f"warnings:         {'/'.join(map(str, tot['warn']))} (t/f/n/u): {share(tot['warn'])}")
    print(f"expected findings missing: {missing}; exit codes not as expected: {wrong_exit}")
    print("columns: exit = doctor's, want = expected, dcc = `docker compose config`'s; "
          "time = doctor --no-engine --json / docker compose config (one run, noisy)")
    ok = tot["fail"][1] == 0 and missing == 0 and wrong_exit == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
