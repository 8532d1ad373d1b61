"""The live stack-health dashboard: the `screen` (services, health, logs, events, actions), the
`log_view` that renders only the visible lines, and the app that shows the screen on its own.

Its data comes from `toolbox_tui.live.stack.LiveStack` through messages posted from background
threads; tests post the same messages.
"""
