"""``python -m n2d``: the ``n2d`` command line, for environments without the script on PATH."""

import sys

from n2d.cli import main

if __name__ == "__main__":
    sys.exit(main())
