"""Write tests/durations.json from a run's JUnit XML: how long each slow test took, so the next
runs start the longest files first (conftest's pytest_collection_modifyitems) and no worker is
left running a 30 s test while the others are idle at the end.

    TBX_JUNIT=/tmp/junit bash scripts/test.sh && python3 scripts/update_durations.py /tmp/junit-*.xml

Only tests of 3 s or more are kept (the rest keep their file order, after them). A stale file is
harmless: a test it does not name runs in its place, one it names that is gone is ignored.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_S = 3.0


def nodeid(classname: str, name: str) -> str:
    """JUnit's `tests.pkg.test_mod.Class` + `test[x]@group` as pytest's node id."""
    parts = classname.split(".")
    for cut in range(len(parts), 0, -1):
        path = Path(*parts[:cut]).with_suffix(".py")
        if (ROOT / path).is_file():
            return "::".join([path.as_posix(), *parts[cut:], name.split("@", 1)[0]])
    return "::".join([classname, name])


def main(paths: list[str]) -> int:
    found: dict[str, float] = {}
    for p in paths:
        for case in ET.parse(p).iter("testcase"):
            seconds = float(case.get("time") or 0)
            if seconds >= MIN_S:
                found[nodeid(case.get("classname", ""), case.get("name", ""))] = round(seconds, 1)
    out = ROOT / "tests" / "durations.json"
    out.write_text(json.dumps(dict(sorted(found.items())), indent=1) + "\n", encoding="utf-8")
    print(f"{out.relative_to(ROOT)}: {len(found)} tests of {MIN_S:g} s or more")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
