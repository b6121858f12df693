"""``python -m watchkeeper`` runs the command-line interface."""

from watchkeeper.cli import main

raise SystemExit(main())
