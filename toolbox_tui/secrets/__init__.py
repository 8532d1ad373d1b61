"""Secret values: what kind each one is and how to check or generate it (`kinds`), where values
live (`store`: the OS keyring or an explicit session store), which secrets a stack needs
(`inventory`), making them usable by Compose or swarm (`materialize`), rotation (`rotate`) and the
leak audit (`audit`).

A value never appears in argv, a child's environment, a log, an exception, JSON or a screen.

May import: `toolbox_tui.compose`, `toolbox_tui.engine` and the ground floor. (Inside this
package `import secrets` still means the standard library: imports are absolute.)
"""
