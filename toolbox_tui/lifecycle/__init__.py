"""A stack's life on the engine: starting it with per-service progress (`startup`), waiting until
it is healthy from engine events (`health`), explaining what did not come up (`diagnosis`) and
proving it works (`verify`).

May import: `toolbox_tui.compose`, `toolbox_tui.checks`, `toolbox_tui.secrets`,
`toolbox_tui.engine` and the ground floor.
"""
