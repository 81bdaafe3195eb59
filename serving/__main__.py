"""``python -m serving``: the same as ``oryxpy serving``."""

import sys

from oryxpy.cli import main

sys.exit(main(["serving", *sys.argv[1:]]))
