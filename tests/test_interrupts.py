"""Interrupts never land inside an import: the headless commands load modules lazily (and so do
docker, keyring and httpx), and a KeyboardInterrupt raised in the import machinery is printed as
"Exception ignored" with a traceback and lost, or leaves the import lock held (a CI run failed on
the traceback: SIGINT 0.2 s into `secrets materialize`, inside `http`'s enum set-up).

Real processes and real signals: a child installs the commands' handler, imports a module whose
own code signals the process, and must finish that import before the interrupt comes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[1])
    from toolbox_tui.cli.entry import route_interrupts
    route_interrupts()
    try:
        import slow_module
        print("after-import", flush=True)
        time.sleep(5)
        print("no-interrupt", flush=True)
    except KeyboardInterrupt as exc:
        tb = exc.__traceback__
        frames = []
        while tb is not None:
            frames.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        print("interrupt", exc, "in-import" if any(f.startswith("<frozen importlib") or
              f.endswith("slow_module.py") for f in frames) else "outside", flush=True)
        print("module-complete" if getattr(sys.modules.get("slow_module"), "DONE", False)
              else "module-partial", flush=True)
""")

MODULE = textwrap.dedent("""
    import os, signal, time
    os.kill(os.getpid(), signal.{sig})
    # the handler has run by now (the next bytecode); the module's work goes on
    for _ in range(50):
        time.sleep(0.002)
    class Flags:  # class creation under the signal: `__set_name__` wrapping in earlier runs
        x = property(lambda self: 1)
    DONE = True
""")


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_signal_inside_an_import_is_raised_after_it(sig, tmp_path):
    (tmp_path / "slow_module.py").write_text(MODULE.format(sig=sig))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], capture_output=True,
                          text=True, timeout=30)
    out = proc.stdout.split("\n")
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert "no-interrupt" not in out, "the deferred signal was never raised"
    assert f"interrupt {sig} outside" in out, (out, proc.stderr)
    assert "module-complete" in out, out


def test_signal_outside_an_import_is_raised_at_once(tmp_path):
    child = textwrap.dedent("""
        import os, signal, time
        from toolbox_tui.cli.entry import route_interrupts
        route_interrupts()
        t = time.monotonic()
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
            print("no-interrupt")
        except KeyboardInterrupt as exc:
            print("interrupt", exc, round(time.monotonic() - t, 1))
    """)
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=30)
    assert proc.stdout.strip() == "interrupt SIGTERM 0.0", (proc.stdout, proc.stderr)
