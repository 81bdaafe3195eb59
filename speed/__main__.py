"""``python -m speed``: run the speed layer (same as ``oryxpy speed``)."""

import sys

from oryxpy.cli import main

sys.exit(main(["speed", *sys.argv[1:]]))
