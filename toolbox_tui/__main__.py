from toolbox_tui.cli.entry import entry

entry()
