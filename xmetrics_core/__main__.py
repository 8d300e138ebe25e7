"""``python -m xmetrics_core fetch …`` (see :mod:`xmetrics_core.cli`)."""

from __future__ import annotations

import sys

from xmetrics_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
