"""Where toolbox-tui keeps what it writes for a repository and later reads back: fix runs
(backups and journals), the secrets record, the generated secrets override, the wizard's resume
state. `Stack.state_dir` is this folder for a loaded project.
"""

from __future__ import annotations

from pathlib import Path

STATE_DIR_NAME = ".toolbox-tui"
"""The folder's name, at the repository root (the manifest's folder, else the project dir)."""
SECRETS_OVERRIDE_NAME = "compose.secrets.yml"
"""The generated override that turns external secrets into file secrets for `docker compose`."""


def state_dir_for(root: Path) -> Path:
    """The state folder of the repository rooted at `root`."""
    return Path(root) / STATE_DIR_NAME


def secrets_override_for(root: Path) -> Path:
    """Where the generated secrets override of that repository lives."""
    return state_dir_for(root) / SECRETS_OVERRIDE_NAME


def is_secrets_override(path: Path) -> bool:
    """Whether `path` is a generated secrets override (in some repository's state folder)."""
    return path.name == SECRETS_OVERRIDE_NAME and path.parent.name == STATE_DIR_NAME
