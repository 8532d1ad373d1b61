"""The stack model: what a Compose project means, read the way Compose reads it.

YAML with the file, line and column of every value (`yaml_source`), interpolation, the keys the
specification allows (`schema`), Compose's merge rules (`merge`), includes and extends (`loader`),
the pieces the rest of the engine talks about (`refs`: services, ports, paths, secrets), the
`Stack` itself (`model`) and how a project is found and loaded (`project`, `manifest`,
`env_files`).

May import: the ground floor (`toolbox_tui.findings`, `sanitize`, `atomic_files`, `errors`,
`state_dir`). Nothing else of the engine: every other folder builds on this one.
"""
