"""The doctor and every check it runs, each producing `findings.Check`s.

`doctor` runs them in one call for the CLI and the wizard: prerequisites (`prereq`, `ports`),
Compose's own verdict (`compose`), host paths (`paths`, with candidates from `repo_index`),
secrets, the environment (`env`), weakening overrides (`overrides`), docs references (`docs`) and
the production checklist `up --mode prod` runs (`prod_checklist`).

May import: `toolbox_tui.compose`, `toolbox_tui.engine` and the ground floor.
"""
