"""What the dashboard watches while a stack runs: service states from the event stream
(`events`), CPU and memory (`stats`), the multiplexed, sanitized logs (`logs`), HTTP health
probes (`http_probe`), and `stack`, which bundles them for a face.

May import: `toolbox_tui.compose`, `toolbox_tui.engine`, `toolbox_tui.lifecycle` and the ground
floor.
"""
