"""The headless face: `toolbox-tui COMMAND`, one module per command family, with `--json` and
exit codes for CI. `main` builds the parser and turns errors into messages and exit codes.

May import: every engine folder, and the faces (`toolbox_tui.screens`) only inside the commands
that open them (wizard, dashboard), so headless commands never load Textual.
"""
