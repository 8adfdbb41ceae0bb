"""`python -m harness`: see harness.entry.cli."""

from harness.entry.cli import main

raise SystemExit(main())
