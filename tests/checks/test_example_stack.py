"""The bundled example stack (examples/toolboxai) is broken exactly as designed, and only that.

Pure tests pin the layout the doctor's tests rely on (what exists, what is missing, what the
override weakens). Engine tests prove that real Compose accepts the files, that `up` fails the way
the seed's stack fails, and that the stack really comes up healthy once fixed by hand.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers.machine import EXAMPLE_DIR


COMPOSE_DIR = EXAMPLE_DIR / "infrastructure" / "docker" / "compose"

SERVICES = {
    "postgres", "redis", "backend", "dashboard", "mcp-server", "agent-coordinator",
    "celery-worker", "celery-beat", "celery-flower", "roblox-sync", "prometheus", "grafana", "loki",
}
SECRETS = {
    "db_password", "redis_password", "database_url", "redis_url", "jwt_secret", "openai_api_key",
    "anthropic_api_key", "roblox_api_key", "roblox_client_secret", "langcache_api_key",
    "backup_encryption_key", "aws_access_key", "aws_secret_key",
}

PRESENT = [
    ".toolbox-tui.yml",
    "README.md",
    ".env.docker.example",
    "apps/backend/main.py",
    "infrastructure/docker/compose/docker-compose.yml",
    "infrastructure/docker/compose/docker-compose.dev.yml",
    "infrastructure/docker/compose/docker-compose.prod.yml",
    "infrastructure/docker/config/postgres-init.sql",
    "infrastructure/docker/redis.conf",
    "infrastructure/docker/dockerfiles/backend.Dockerfile",
    "infrastructure/docker/secrets.example/README.md",
    "infrastructure/docker/start-docker-dev.sh",
    "infrastructure/monitoring/prometheus.yml",
    "infrastructure/monitoring/alert_rules.yml",
    "roblox/Config/default.project.json",
]
"""Files the example ships (several of them in the wrong place for the compose file)."""

# (where the compose file mounts it from, relative to the compose dir) -> where it really is
MISPLACED = {
    "config/postgres-init.sql": "infrastructure/docker/config/postgres-init.sql",
    "config/redis.conf": "infrastructure/docker/redis.conf",
    "../../config/rojo/default.project.json": "roblox/Config/default.project.json",
}

MISSING = [
    "infrastructure/docker/compose/config",
    "infrastructure/config",
    "infrastructure/docker/scripts/complete-setup-2025.sh",
    "infrastructure/docker/config/environment.env",
]
"""Paths the compose files or the README name that do not exist, by design."""


def load(name: str) -> dict:
    return yaml.safe_load((COMPOSE_DIR / name).read_text(encoding="utf-8"))


# --- pure ------------------------------------------------------------------------------------

@pytest.mark.parametrize("rel", PRESENT)
def test_shipped_file_exists(rel: str) -> None:
    assert (EXAMPLE_DIR / rel).is_file(), rel


@pytest.mark.parametrize("rel", MISSING)
def test_designed_gap_is_missing(rel: str) -> None:
    assert not (EXAMPLE_DIR / rel).exists(), f"{rel} must stay missing: the doctor's tests rely on it"


def test_no_env_file_anywhere() -> None:
    assert [p for p in EXAMPLE_DIR.rglob(".env")] == []


def test_start_script_is_executable() -> None:
    assert os.access(EXAMPLE_DIR / "infrastructure/docker/start-docker-dev.sh", os.X_OK)


def test_manifest() -> None:
    m = yaml.safe_load((EXAMPLE_DIR / ".toolbox-tui.yml").read_text(encoding="utf-8"))
    assert m["version"] == 1 and m["project_name"] == "toolboxai"
    assert (EXAMPLE_DIR / m["compose_dir"]) == COMPOSE_DIR
    for mode, files in m["modes"].items():
        for f in files:
            assert (COMPOSE_DIR / f).is_file(), (mode, f)
    assert (EXAMPLE_DIR / m["env_template"]).is_file()
    assert not (EXAMPLE_DIR / m["env_file"]).exists()
    assert set(m["secrets"]) <= SECRETS
    assert all(u.startswith("http://127.0.0.1:") for u in m["urls"].values())


def test_env_template_keys() -> None:
    text = (EXAMPLE_DIR / ".env.docker.example").read_text(encoding="utf-8")
    keys = dict(line.split("=", 1) for line in text.splitlines()
                if line.strip() and not line.lstrip().startswith("#"))
    assert keys["POSTGRES_USER"] == "toolboxai" and keys["POSTGRES_DB"] == "toolboxai"
    assert keys["ENVIRONMENT"] == "development" and keys["LOG_LEVEL"] == "info"
    assert "#" in text  # comments are part of the template


def test_readme_names_missing_script_and_env_file() -> None:
    text = (EXAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    assert "./infrastructure/docker/scripts/complete-setup-2025.sh" in text
    assert "infrastructure/docker/config/environment.env" in text
    assert "infrastructure/docker/start-docker-dev.sh" in text


def test_base_file_services_images_and_secrets() -> None:
    base = load("docker-compose.yml")
    assert set(base["services"]) == SERVICES
    assert set(base["secrets"]) == SECRETS
    assert all(s == {"external": True} for s in base["secrets"].values())
    used: set[str] = set()
    for name, svc in base["services"].items():
        assert svc["image"] == "${TBX_IMAGE:-busybox:1.36}", name
        assert svc["read_only"] is True and svc["tmpfs"] == ["/tmp", "/www"], name  # from x-common
        assert svc["healthcheck"]["interval"] == "2s", name  # from x-healthcheck
        used.update(svc.get("secrets", []))
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)
    assert used == SECRETS
    assert base["services"]["backend"]["environment"]["POSTGRES_USER"] == "${POSTGRES_USER}"


def test_base_file_mounts_from_the_wrong_places() -> None:
    base = load("docker-compose.yml")["services"]
    sources = []
    for svc in base.values():
        for v in svc.get("volumes", []):
            sources.append(v["source"] if isinstance(v, dict) else v.split(":")[0])
    for mounted_from, real in MISPLACED.items():
        assert mounted_from in [s.removeprefix("./") for s in sources], mounted_from
        assert not (COMPOSE_DIR / mounted_from).exists(), mounted_from
        assert (EXAMPLE_DIR / real).is_file(), real
    for good in ("../../monitoring/prometheus.yml", "../../monitoring/alert_rules.yml"):
        assert good in sources and (COMPOSE_DIR / good).is_file()
    roblox = base["roblox-sync"]["volumes"][0]
    assert roblox["type"] == "bind" and "bind" not in roblox  # long syntax, no create_host_path


def test_dev_override_weakens_the_base() -> None:
    dev = load("docker-compose.dev.yml")["services"]
    backend = dev["backend"]
    assert backend["read_only"] is False and backend["user"] == "root"
    assert backend["secrets"] == [] and backend["cap_add"] == ["SYS_PTRACE"]
    assert backend["environment"]["DEBUG"] == "true"
    assert "../../../apps/backend:/app" in backend["volumes"]
    assert (COMPOSE_DIR / "../../../apps/backend").is_dir()
    assert "/var/run/docker.sock:/var/run/docker.sock:ro" in dev["agent-coordinator"]["volumes"]
    assert dev["celery-flower"]["ports"] == ["${FLOWER_PORT:-5555}:5555"]


def test_prod_override_only_hardens() -> None:
    prod = load("docker-compose.prod.yml")["services"]
    assert set(prod) == SERVICES
    for name, svc in prod.items():
        assert svc["read_only"] is True, name
        assert svc["deploy"]["resources"]["limits"]["memory"], name
        assert not {"user", "ports", "volumes", "cap_add", "privileged", "secrets"} & set(svc), name


# --- real Compose ----------------------------------------------------------------------------

def compose(args: list[str], cwd: Path, image: str, timeout: float = 180,
            check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "COMPOSE_"))}
    env["TBX_IMAGE"] = image
    proc = subprocess.run(["docker", "compose", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check:
        assert proc.returncode == 0, f"docker compose {' '.join(args)}:\n{proc.stderr}"
    return proc


@pytest.mark.engine
@pytest.mark.parametrize("mode", ["dev", "prod"])
def test_compose_config_accepts_the_example(compose_ready, test_image, mode) -> None:
    files = ["-f", "docker-compose.yml", "-f", f"docker-compose.{mode}.yml"]
    proc = compose([*files, "config", "--format", "json"], COMPOSE_DIR, test_image)
    warnings = [line for line in proc.stderr.splitlines() if "variable is not set" in line]
    assert {v for v in ("POSTGRES_USER", "POSTGRES_DB") if any(v in w for w in warnings)} == {
        "POSTGRES_USER", "POSTGRES_DB"}
    model = json.loads(proc.stdout)
    assert set(model["services"]) == SERVICES
    assert all(s.get("external") for s in model["secrets"].values())
    assert {s["image"] for s in model["services"].values()} == {test_image}


@pytest.mark.engine
def test_compose_keeps_backend_secrets_despite_empty_list(compose_ready, test_image) -> None:
    """The seed believes `secrets: []` in the dev override disables secrets. Compose merges
    sequences, so the backend keeps all twelve; only `secrets: !reset []` would drop them."""
    files = ["-f", "docker-compose.yml", "-f", "docker-compose.dev.yml"]
    model = json.loads(compose([*files, "config", "--format", "json"], COMPOSE_DIR,
                               test_image).stdout)
    backend = {s["source"] for s in model["services"]["backend"]["secrets"]}
    assert len(backend) == 12 and backend < SECRETS


@pytest.mark.engine
def test_up_fails_on_external_secrets(compose_ready, test_image, docker_client, example_copy,
                                      project_name, cleanup_project) -> None:
    """Compose refuses external secrets at container create ("unsupported external secret", not
    the seed's "not found"). Its create code rejects them whether or not the engine is a swarm
    manager: swarm secrets reach only `docker stack deploy`, never `docker compose up`."""
    cdir = example_copy / "infrastructure/docker/compose"
    cleanup_project(project_name, files=[cdir / "docker-compose.yml",
                                         cdir / "docker-compose.dev.yml"], project_dir=cdir)
    proc = compose(["-p", project_name, "-f", "docker-compose.yml", "-f", "docker-compose.dev.yml",
                    "up", "-d"], cdir, test_image, check=False)
    assert proc.returncode != 0
    assert "unsupported external secret" in proc.stderr


def fix_by_hand(root: Path) -> Path:
    """What a careful human does to the example: returns the override file it wrote."""
    cdir = root / "infrastructure/docker/compose"
    for mounted_from, real in MISPLACED.items():
        dest = (cdir / mounted_from).resolve()
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / real, dest)
    sdir = root / "secrets"
    sdir.mkdir(mode=0o700)
    lines = ["secrets:"]
    for name in sorted(SECRETS):
        (sdir / name).write_text(secrets.token_hex(16), encoding="utf-8")
        (sdir / name).chmod(0o600)
        lines += [f"  {name}: !override", f"    file: ../../../secrets/{name}"]
    # Ephemeral host ports (still on 127.0.0.1) so the test never collides with anything else.
    model = load("docker-compose.yml")["services"]
    lines.append("services:")
    for name, svc in model.items():
        targets = [p.rsplit(":", 1)[1] for p in svc.get("ports", [])]
        if name == "celery-flower":
            targets = ["5555"]
        if targets:
            lines += [f"  {name}:", "    ports: !override"]
            lines += [f'      - "127.0.0.1::{t}"' for t in targets]
    override = cdir / "handfix.override.yml"
    override.write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copyfile(root / ".env.docker.example", cdir / ".env")
    return override


@pytest.mark.engine
@pytest.mark.slow
def test_fixed_by_hand_the_example_comes_up_healthy(compose_ready, test_image, docker_client,
                                                    example_copy, project_name,
                                                    cleanup_project) -> None:
    cdir = example_copy / "infrastructure/docker/compose"
    override = fix_by_hand(example_copy)
    files = ["-f", "docker-compose.yml", "-f", "docker-compose.dev.yml", "-f", override.name]
    cleanup_project(project_name, files=[cdir / f for f in files[1::2]], project_dir=cdir)
    started = time.monotonic()
    up = compose(["-p", project_name, *files, "up", "-d", "--wait", "--wait-timeout", "120"],
                 cdir, test_image, timeout=240, check=False)
    elapsed = time.monotonic() - started
    ps = compose(["-p", project_name, *files, "ps", "--format", "json"], cdir, test_image).stdout
    rows = [json.loads(line) for line in ps.splitlines() if line.strip()]
    assert up.returncode == 0, f"up failed after {elapsed:.1f}s:\n{up.stderr}\n{ps}"
    assert {r["Service"] for r in rows} == SERVICES
    assert all(r["Health"] == "healthy" for r in rows), ps
    port = compose(["-p", project_name, *files, "port", "dashboard", "80"], cdir,
                   test_image).stdout.strip()
    assert port.startswith("127.0.0.1:")
    backend = docker_client.containers.get(f"{project_name}-backend-1")
    assert len(backend.exec_run(["ls", "/run/secrets"]).output.split()) == 12
