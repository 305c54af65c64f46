"""``python -m n2d.cli``: the same as the ``n2d`` command."""

from n2d.cli import main

raise SystemExit(main())
