"""Every thread the package starts is a daemon, and none comes from a ThreadPoolExecutor.

The interpreter joins non-daemon and executor threads when it exits. An interrupted command
whose helper thread was blocked for good (a signal inside an import in the main thread can leave
Python's import lock held; the helper's next import then waits forever) never ended: seen as
`toolbox-tui up` still running 180 s after SIGHUP, its main thread in `_python_exit` joining the
engine-connect executor thread. `toolbox_tui.background.start` is the one way to run work aside.
"""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*(ROOT / "toolbox_tui").rglob("*.py"), *(ROOT / "screens").rglob("*.py")])


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            yield name, node


def test_no_executor_and_every_thread_a_daemon() -> None:
    bad = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        rel = path.relative_to(ROOT)
        for name, node in _calls(tree):
            if name in ("ThreadPoolExecutor", "ProcessPoolExecutor"):
                bad.append(f"{rel}:{node.lineno}: {name} (its threads are joined at exit)")
            if name == "Thread":
                daemon = [k for k in node.keywords if k.arg == "daemon"]
                if not (daemon and isinstance(daemon[0].value, ast.Constant) and daemon[0].value.value is True):
                    bad.append(f"{rel}:{node.lineno}: Thread without daemon=True")
    assert SOURCES and not bad, bad


def test_background_start_hands_over_result_and_error_and_is_a_daemon() -> None:
    from toolbox_tui import background

    seen: list[bool] = []

    def work(x: int) -> int:
        seen.append(threading.current_thread().daemon)
        return x * 2

    assert background.start(work, 21, name="t").result(timeout=5) == 42
    assert seen == [True]

    def boom() -> None:
        raise ValueError("no")

    f = background.start(boom, name="t")
    assert isinstance(f.exception(timeout=5), ValueError)



def test_a_blocked_background_call_does_not_keep_the_process_alive() -> None:
    """The hang, in small: work that never returns; the interpreter still exits at once."""
    import subprocess
    import sys

    code = ("import threading; from toolbox_tui import background; "
            "background.start(threading.Event().wait, name='stuck'); print('bye')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout == "bye\n", proc.stderr
