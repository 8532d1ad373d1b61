"""`up` to all-healthy vs `docker compose up -d --wait`, same stack, same run.

Each round (order alternated to spread warm-up effects):
  baseline  `docker compose up -d --wait`, then `down -v`
  engine    `startup.compose_up` + `health_wait.wait_healthy` in this process (what the wizard runs)
  cli       `toolbox-tui up` as a subprocess (adds interpreter start, stack load, doctor, secrets)
and prints medians, the ratios to the baseline (goal: engine <= 1.1) and the absolute numbers.

The stack is a generated 13-service busybox stack with health checks and `depends_on:
service_healthy` chains (the shape of the example stack, without secrets so Compose's `--wait`
can run it unaided). Needs the engine, Compose v2 and the local test image:

    TBX_IMAGE=toolbox-tui/busybox:test python benchmarks/bench_up.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toolbox_tui.lifecycle.health import wait_healthy  # noqa: E402
from toolbox_tui.lifecycle.startup import ProjectRef, compose_up  # noqa: E402

# (service, port, dependencies) - the example stack's graph
GRAPH = [
    ("postgres", 5432, []), ("redis", 6379, []), ("backend", 8009, ["postgres", "redis"]),
    ("dashboard", 80, ["backend"]), ("mcp-server", 9877, ["redis"]),
    ("agent-coordinator", 8888, ["postgres", "redis"]), ("celery-worker", 8101, ["backend"]),
    ("celery-beat", 8102, ["backend"]), ("celery-flower", 5555, ["celery-worker"]),
    ("roblox-sync", 34872, ["backend"]), ("prometheus", 9090, []), ("loki", 3100, []),
    ("grafana", 3000, ["prometheus", "loki"]),
]


def stack_yaml(image: str) -> str:
    lines = ["services:"]
    for name, port, deps in GRAPH:
        lines += [
            f"  {name}:",
            f"    image: {image}",
            "    init: true",
            f"    command: [\"sh\", \"-c\", \"mkdir -p /tmp/www && echo ok > /tmp/www/health && "
            f"exec httpd -f -p {port} -h /tmp/www\"]",
            "    healthcheck:",
            f"      test: [\"CMD\", \"wget\", \"-q\", \"-O-\", \"http://127.0.0.1:{port}/health\"]",
            "      interval: 2s",
            "      timeout: 2s",
            "      retries: 15",
            "      start_period: 2s",
        ]
        if deps:
            lines.append("    depends_on:")
            for d in deps:
                lines += [f"      {d}:", "        condition: service_healthy"]
    return "\n".join(lines) + "\n"


def compose(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "compose", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def down(base: list[str]) -> float:
    t0 = time.perf_counter()
    compose([*base, "down", "-v", "--remove-orphans", "--timeout", "5"])
    return time.perf_counter() - t0


def run_baseline(base: list[str]) -> float:
    t0 = time.perf_counter()
    proc = compose([*base, "up", "-d", "--wait", "--wait-timeout", "120"])
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"baseline failed: {proc.stderr.strip()[-400:]}")
    return took


def run_engine(base: list[str], client) -> float:
    t0 = time.perf_counter()
    ref = ProjectRef.from_compose(base)
    up = compose_up(ref)
    if not up.ok:
        raise SystemExit(f"engine up failed: {up.error}")
    result = wait_healthy(ref, client, timeout=120)
    took = time.perf_counter() - t0
    if not result.ok:
        raise SystemExit(f"engine wait failed: {result.not_ready}")
    return took


def run_cli(base: list[str], cwd: str) -> float:
    exe = Path(sys.executable).with_name("toolbox-tui")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "toolbox_tui"]
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, *base, "--json", "up", "--timeout", "120"], capture_output=True,
                          text=True, cwd=cwd, timeout=300, stdin=subprocess.DEVNULL)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"toolbox-tui up failed ({proc.returncode}): {proc.stderr[-600:]}")
    try:
        doc = json.loads(proc.stdout)
        print(f"         cli inside: total {doc['elapsed']:.2f} s = compose up "
              f"{doc['compose_up']['elapsed']:.2f} s + wait {doc['wait']['elapsed']:.2f} s + checks",
              flush=True)
    except (ValueError, KeyError):
        pass
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-cli", action="store_true", help="skip the `toolbox-tui up` subprocess runs")
    opts = ap.parse_args()
    import docker

    image = os.environ.get("TBX_IMAGE", "toolbox-tui/busybox:test")
    client = docker.from_env(timeout=60)
    client.images.get(image)
    name = f"tbxtest-bench-{secrets.token_hex(3)}"
    times: dict[str, list[float]] = {"baseline": [], "engine": [], "cli": []}
    downs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="tbx-bench-") as tmp:
        f = Path(tmp) / "compose.yaml"
        f.write_text(stack_yaml(image))
        base = ["-p", name, "-f", str(f)]
        down(base)
        try:
            for r in range(opts.rounds):
                order = ["baseline", "engine", "cli"] if r % 2 == 0 else ["cli", "engine", "baseline"]
                for kind in order:
                    if kind == "cli" and opts.no_cli:
                        continue
                    if kind == "baseline":
                        t = run_baseline(base)
                    elif kind == "engine":
                        t = run_engine(base, client)
                    else:
                        t = run_cli(base, tmp)
                    times[kind].append(t)
                    downs.append(down(base))
                    print(f"round {r + 1}: {kind:<8} {t:6.2f} s", flush=True)
        finally:
            down(base)
    med = {k: statistics.median(v) for k, v in times.items() if v}
    print()
    print(f"stack: {len(GRAPH)} services with health checks, depends_on chains (image {image})")
    print(f"rounds: {opts.rounds}; down -v median {statistics.median(downs):.2f} s")
    for k in ("baseline", "engine", "cli"):
        if k in med:
            vals = ", ".join(f"{t:.2f}" for t in times[k])
            ratio = med[k] / med["baseline"]
            print(f"{k:<9} median {med[k]:6.2f} s  ratio {ratio:4.2f}  ({vals})")
    ratio = med["engine"] / med["baseline"]
    print(f"\nengine/baseline ratio {ratio:.2f} (goal <= 1.1): {'OK' if ratio <= 1.1 else 'OVER'}")
    return 0 if ratio <= 1.1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
