"""A project whose compose file and `.env` give secret-like variables their values (a literal, a
placeholder) beside one that is unset."""

from __future__ import annotations

from pathlib import Path


def given_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "compose.yaml").write_text(
        "services:\n  api:\n    image: busybox\n    environment:\n"
        "      AWS_ACCESS_KEY: AKIAIOSFODNN7EXAMPLE\n"
        "      RPC_SHARED_SECRET: ${RPC_SHARED_SECRET}\n"
        "      API_TOKEN: replace-me\n"
        "      SESSION_SECRET: ${SESSION_SECRET}\n")
    (root / ".env").write_text("RPC_SHARED_SECRET=changeme\n")
    return root
