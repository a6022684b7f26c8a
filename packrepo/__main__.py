"""``python -m packrepo``: the same command line as ``packrepo``."""

import sys

from packrepo.cli import main

sys.exit(main())
