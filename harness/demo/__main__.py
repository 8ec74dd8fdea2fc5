"""``python -m harness.demo``: see :mod:`harness.demo`."""

import sys

from harness.demo.live import main

if __name__ == "__main__":
    sys.exit(main())
