"""Noticing that the project changed on disk while the wizard is open: the files a loaded stack
came from, their hashes when it was read, and `ProjectChanged` (work planned on the old content
is refused, nothing written).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from toolbox_tui.errors import EXIT_FAIL, ToolboxError

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack


class ProjectChanged(ToolboxError):
    """A project file changed on disk after the wizard read it: work planned on the old content is
    refused (nothing written). User-facing; `files` are the paths that changed."""

    exit_code = EXIT_FAIL

    def __init__(self, files: Sequence[str], doing: str, hint: str = "") -> None:
        self.files = tuple(files)
        super().__init__(f"{', '.join(self.files)} changed on disk since {doing}; nothing was written")
        self.hint = hint or "press r to re-check (the project is read again)"


def source_files(stack: Stack) -> list[Path]:
    """Every file the loaded model came from: compose files (includes, extends, the secrets
    override), the env files that fed interpolation, the manifest."""
    out: list[Path] = []
    for f in list(stack.files) + list(stack.env_files):
        out.append(Path(f))
    for f in stack.file_docs:
        out.append(Path(f))
    manifest = stack.manifest
    if manifest is not None:
        out.append(Path(manifest.path))
    # the env file is watched before it exists: it may appear
    env_file = manifest.env_file if manifest is not None else None
    out.append(Path(env_file) if env_file is not None else Path(stack.project_dir) / ".env")
    return list(dict.fromkeys(out))


def fingerprint(stack: Stack) -> dict[str, str | None]:
    """sha256 of each source file now (None: gone or unreadable)."""
    from toolbox_tui.atomic_files import sha256_file

    out: dict[str, str | None] = {}
    for f in source_files(stack):
        try:
            out[str(f)] = sha256_file(f)
        except OSError:
            out[str(f)] = None
    return out
