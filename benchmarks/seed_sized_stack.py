"""Generate a Compose project the size of the seed's (13 services, ~1,000-line base file and
~400-line dev override) with anchors, long environment blocks, labels and healthchecks."""

from __future__ import annotations

from pathlib import Path

SERVICES = ["postgres", "redis", "backend", "dashboard", "mcp-server", "agent-coordinator",
            "celery-worker", "celery-beat", "celery-flower", "roblox-sync", "prometheus",
            "grafana", "loki"]


def generate(root: Path) -> Path:
    compose = root / "infrastructure/docker/compose"
    compose.mkdir(parents=True, exist_ok=True)
    base = ["# Generated seed-sized stack", "x-common: &common", "  restart: unless-stopped",
            "  logging:", "    driver: json-file", "    options:", "      max-size: 10m",
            "x-hc: &hc", "  interval: 10s", "  timeout: 5s", "  retries: 5", "", "services:"]
    dev = ["services:"]
    for i, name in enumerate(SERVICES):
        port = 8000 + i
        base += [f"  {name}:", "    <<: *common", "    image: ${TBX_IMAGE:-busybox:1.36}",
                 f"    container_name: seed-{name}", "    environment:"]
        base += [f"      {name.upper().replace('-', '_')}_SETTING_{k}: ${{SETTING_{k}:-value{k}}}" for k in range(30)]
        base += ["    labels:"] + [f"      com.example.{name}.label{k}: \"v{k}\"" for k in range(12)]
        base += ["    volumes:", f"      - ./config/{name}.conf:/etc/{name}/{name}.conf:ro",
                 f"      - {name}-data:/data", "    ports:", f"      - \"127.0.0.1:{port}:{port}\"",
                 "    healthcheck:", "      <<: *hc",
                 f"      test: [\"CMD\", \"wget\", \"-q\", \"-O-\", \"http://127.0.0.1:{port}/health\"]",
                 "    secrets:", "      - db_password", "      - jwt_secret",
                 "    deploy:", "      resources:", "        limits:", "          memory: 512M",
                 "    # ---------------------------------------------------------------", ""]
        dev += [f"  {name}:", "    environment:"]
        dev += [f"      DEV_{k}: \"true\"" for k in range(20)]
        dev += ["    volumes:", f"      - ../../../apps/{name}:/app", ""]
    base += ["volumes:"] + [f"  {n}-data: {{}}" for n in SERVICES]
    base += ["secrets:", "  db_password:", "    external: true", "  jwt_secret:", "    external: true"]
    (compose / "docker-compose.yml").write_text("\n".join(base) + "\n")
    (compose / "docker-compose.dev.yml").write_text("\n".join(dev) + "\n")
    return compose


if __name__ == "__main__":
    import sys

    c = generate(Path(sys.argv[1]))
    for f in ("docker-compose.yml", "docker-compose.dev.yml"):
        print(f, len((c / f).read_text().splitlines()), "lines")
