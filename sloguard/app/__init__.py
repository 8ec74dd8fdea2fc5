"""The composition root: builds a daemon from its config. Wiring only.

* :func:`open_daemon` builds the parts from a :class:`~sloguard.config.DaemonConfig` (SLOs,
  Prometheus client, notifiers, state database, the tick and the delivery) as one
  :class:`Parts`, and closes them on exit;
* :meth:`Parts.once` is one tick plus one delivery pass (``sloguard run --once [--at]``);
* :func:`serve` opens the HTTP endpoint and runs a :class:`~sloguard.supervisor.Supervisor`
  until it is stopped; :func:`run_daemon` is ``sloguard run``: the supervisor drives the parts
  of each (re)loaded configuration, all reporting to one :class:`~sloguard.metrics.Metrics`.
"""

from sloguard.app._parts import (
    Parts,
    evaluator,
    load_daemon,
    open_daemon,
    open_state,
    paging_policy,
    retry_policy,
)
from sloguard.app._serve import DaemonView, run_daemon, serve

__all__ = [
    "DaemonView",
    "Parts",
    "evaluator",
    "load_daemon",
    "open_daemon",
    "open_state",
    "paging_policy",
    "retry_policy",
    "run_daemon",
    "serve",
]
