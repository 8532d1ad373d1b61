"""toolbox-tui: take a Docker Compose stack from a fresh clone to a healthy, watched stack.

The `toolbox_tui` package is the engine (stack model, checks, fixes, secrets, engine access,
health and logs). It never imports Textual; the faces live in `toolbox_tui.screens` and
`toolbox_tui.styles` and are only imported by the interactive commands.
"""

__version__ = "0.1.0"
