"""``make demo`` (``python -m harness.demo``): a recorded night with an outage, replayed by
``sloguard run --replay-from ... --speed N`` against a real Prometheus, paging local receivers
that enforce the vendors' contracts; about two minutes, then everything is stopped and checked.

* :mod:`harness.demo.story` - the history (31 days, four services), the SLOs, the config;
* :mod:`harness.demo.live` - runs the pieces and the live view; :func:`main`;
* :mod:`harness.demo.view` - the evaluation table and the arrival lines;
* :mod:`harness.demo.checks` - what must have happened (the exit status) and the summary.
"""

from harness.demo.live import main

__all__ = ["main"]
