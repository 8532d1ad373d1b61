from toolbox_tui.cli import main

raise SystemExit(main())
