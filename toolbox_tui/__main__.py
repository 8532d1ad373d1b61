from toolbox_tui.cli.main import entry

entry()
