"""``python -m batch``: the batch layer (same as ``oryxpy batch``)."""

import sys

from oryxpy.cli import main

sys.exit(main(["batch", *sys.argv[1:]]))
