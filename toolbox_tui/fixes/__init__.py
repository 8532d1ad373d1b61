"""Fixing what the path checks found: the options per finding (`options`), a plan with previews
(`plan`), applying it atomically with backups, a journal and undo (`apply`, `undo`, `runs`, in the
user's private state folder), every write and removal through directories opened from the
repository root without following links (`anchored`), and byte-exact edits of YAML scalars
(`yaml_edit`).

May import: `toolbox_tui.compose`, `toolbox_tui.checks` and the ground floor.
"""
