"""``python -m cli``: the ``stashql`` command without its script."""

from __future__ import annotations

from cli.main import main

raise SystemExit(main())
