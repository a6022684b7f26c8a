"""``python -m gates``: see :mod:`gates.cli`."""

from gates.cli import main

raise SystemExit(main())
