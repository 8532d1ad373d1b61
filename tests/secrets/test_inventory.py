"""Inventory from compose secrets, service environments, the env template and manifest hints."""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.helpers.secrets import make_project

from toolbox_tui.secrets import kinds as sk  # noqa: E402
from toolbox_tui.compose.project import ProjectOptions, load_stack  # noqa: E402
from toolbox_tui.secrets.inventory import build_inventory, find, resolve  # noqa: E402
from toolbox_tui.secrets.store import SessionStore  # noqa: E402

COMPOSE = """\
services:
  backend:
    image: busybox
    secrets: [db_password, database_url, tls_cert]
    environment:
      JWT_SECRET: ${JWT_SECRET:-}
      JWT_SECRET_FILE: /run/secrets/jwt
      REDIS_PASSWORD_PATH: /x
      LOG_LEVEL: info
  worker:
    image: busybox
    secrets:
      - source: db_password
        target: pw
    environment:
      - OPENAI_API_KEY=${OPENAI_API_KEY:-}
  tools:
    image: busybox
    profiles: [tools]
    secrets: [unused_token]
secrets:
  db_password:
    external: true
  database_url:
    environment: DATABASE_URL
  tls_cert:
    file: ./certs/server.pem
  unused_token:
    external: true
"""

MANIFEST = """\
project_name: {name}
env_template: .env.example
secrets:
  database_url:
    derive: "postgresql://${{POSTGRES_USER}}:${{db_password}}@postgres:5432/app"
  OPENAI_API_KEY: {{optional_in_dev: true, hint: "from platform.openai.com"}}
"""


def _stack(tmp_path: Path):
    name = f"tbxtest-{secrets.token_hex(4)}"
    root = make_project(tmp_path, name, COMPOSE, MANIFEST)
    (root / ".env.example").write_text("POSTGRES_USER=app\nSTRIPE_SECRET_KEY=\nDEBUG=1\n")
    return load_stack(ProjectOptions(cwd=str(root)), environ={"POSTGRES_USER": "app"})


def test_inventory_sources_kinds_and_users(tmp_path: Path) -> None:
    entries = build_inventory(_stack(tmp_path))
    names = [e.name for e in entries]
    # compose secrets first, then variables
    assert names[:4] == ["database_url", "db_password", "tls_cert", "unused_token"]
    db = find(entries, "db_password")
    assert db.definition == "external" and db.kind == sk.PASSWORD and db.used_by == ("backend", "worker")
    url = find(entries, "database_url")
    assert url.definition == "environment" and url.env_name == "DATABASE_URL" and url.derive
    assert not url.generate
    cert = find(entries, "tls_cert")
    assert cert.kind == sk.CERTIFICATE and cert.definition == "file" and cert.file.endswith("certs/server.pem")
    assert find(entries, "unused_token").used_by == ()  # only a disabled profile uses it
    jwt = find(entries, "JWT_SECRET")
    assert jwt.sources == ("environment",) and jwt.env_vars == (("backend", "JWT_SECRET"),)
    assert jwt.kind == sk.TOKEN
    oai = find(entries, "openai_api_key")  # case-insensitive merge of variable and manifest hint
    assert oai.optional_in_dev and oai.hint and oai.used_by == ("worker",) and oai.kind == sk.API_KEY
    assert set(oai.sources) == {"environment", "manifest"}
    stripe = find(entries, "STRIPE_SECRET_KEY")
    assert stripe.sources == ("env_template",)
    for absent in ("JWT_SECRET_FILE", "REDIS_PASSWORD_PATH", "LOG_LEVEL", "POSTGRES_USER", "DEBUG"):
        assert find(entries, absent) is None, absent


def test_resolve_store_derivation_placeholder(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    entries = build_inventory(stack)
    store = SessionStore()
    values, status = resolve(stack, entries, store, mode="dev")
    assert not status["db_password"].set
    assert status["database_url"].missing_parts == ("db_password",)
    assert status["OPENAI_API_KEY"].store == "placeholder" and values["OPENAI_API_KEY"] == sk.PLACEHOLDER
    assert status["tls_cert"].set is False  # the file does not exist
    store.set("db_password", "p@ss word 1234")
    values, status = resolve(stack, entries, store, mode="prod")
    assert status["db_password"].store == "session"
    assert values["database_url"] == "postgresql://app:p%40ss%20word%201234@postgres:5432/app"
    assert status["database_url"].store == "derived"
    assert "OPENAI_API_KEY" not in values  # no placeholders in prod
