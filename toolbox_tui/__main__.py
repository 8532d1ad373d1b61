from toolbox_tui.cli import entry

entry()
