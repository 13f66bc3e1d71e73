"""python -m sahelsim: the command-line interface."""

from sahelsim.cli.main import main

raise SystemExit(main())
