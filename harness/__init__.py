"""sloguard's test harness, beside the product and never inside it.

* :mod:`harness.receivers` - local receivers that enforce the real contracts of PagerDuty,
  Opsgenie, Standard Webhooks and Slack (``contracts/``, with the vendors' licence files);
* :mod:`harness.promserver` and :mod:`harness.scenarios` - a real Prometheus filled with
  synthetic history;
* :mod:`harness.faultproxy`, :mod:`harness.chaos` and :mod:`harness.soak` - faults injected into
  sloguard running as a real process;
* :mod:`harness.clock` - a virtual clock for tests of timing;
* :mod:`harness.demo` - ``make demo``.

Neither ``pip install .`` nor the container image carries it: it runs from a checkout (the
repository root on ``sys.path``) and needs the ``test`` extra (jsonschema, standardwebhooks).
sloguard never imports it; an import contract in pyproject.toml says so.
"""
