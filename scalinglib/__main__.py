"""``python -m scalinglib``: the command line (see :mod:`scalinglib.cli`)."""

import sys

from .cli import main

sys.exit(main())
