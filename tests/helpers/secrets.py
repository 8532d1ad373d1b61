"""Helpers shared by the secret tests: a small project on disk, running the CLI, keyring clean-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

COMPOSE = """\
services:
  app:
    image: ${TBX_IMAGE:-toolbox-tui/busybox:test}
    command: ["sh", "-c", "sleep 3600"]
    stop_grace_period: 1s  # PID 1 sh ignores SIGTERM: stop would wait 10 s
    secrets: [db_password, database_url, openai_api_key]
    environment:
      POSTGRES_USER: app
      POSTGRES_DB: appdb
secrets:
  db_password:
    external: true
  database_url:
    external: true
  openai_api_key:
    external: true
"""

MANIFEST = """\
project_name: {name}
secrets:
  db_password: {{kind: password}}
  database_url:
    derive: "postgresql://${{POSTGRES_USER}}:${{db_password}}@postgres:5432/${{POSTGRES_DB}}"
  openai_api_key: {{optional_in_dev: true}}
"""


def make_project(root: Path, name: str, compose: str = COMPOSE, manifest: str | None = MANIFEST) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "compose.yml").write_text(compose)
    if manifest is not None:
        (root / ".toolbox-tui.yml").write_text(manifest.format(name=name))
    return root


def run_cli(args: list[str], cwd: Path, *, stdin: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    run_env = dict(os.environ if env is None else env)
    run_env.pop("TOOLBOX_TUI_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "toolbox_tui", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, env=run_env, timeout=timeout)


def cli_json(args: list[str], cwd: Path, **kw: Any) -> dict[str, Any]:
    proc = run_cli([*args, "--json"], cwd, **kw)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def purge_keyring(project: str) -> None:
    """Delete every keyring entry toolbox-tui made for `project` (tests only)."""
    import keyring

    from toolbox_tui.secrets.store import KeyringStore, service_name

    KeyringStore(service_name(project), keyring.get_keyring()).purge()
