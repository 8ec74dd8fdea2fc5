"""``python -m sloguard.demo``: see :mod:`sloguard.demo`."""

import sys

from sloguard.demo.live import main

if __name__ == "__main__":
    sys.exit(main())
