"""Evaluate many SLOs at one pinned instant: plan the queries, ask them, decode the answers.
(Service layer.)

* planning (``_plan``, PromQL text in ``_promql``): each SLO's queries per window, sent as one
  combined query per SLO (``_combine``); identical ones are asked once, however many SLOs share
  them;
* asking (``_ask``, ``_combine``): the distinct queries concurrently (bounded), all at the same
  ``time=``; a combined answer is split back into the answer of each query;
* decoding (``_decode``): the one function, :func:`evaluate_planned`, that turns answers into
  :class:`~sloguard.burn.Evaluation` objects; failures stay per SLO. Its shortcut for an SLO
  read wholly from plain recorded numbers (``evaluate_plain``) is pinned to it by a test;
* recorded series (``_recorded``): SLOs whose ``sloguard generate`` rules run in Prometheus are
  read from them, one query per series name for every SLO, answered by ``sloth_id``
  (``ports.BulkSource``);
* the fast path's trigger (``_crossing``): has a long window crossed its factor?
* tenants (``_tenants``): the SLOs of each Mimir/Cortex tenant planned and asked apart, under it;

:class:`Engine` ties them together and holds the memos of one daemon's lifetime (``_engine``);
nothing is cached at module level.
"""

from sloguard.engine._ask import DEFAULT_CONCURRENCY
from sloguard.engine._combine import Combined, combined
from sloguard.engine._decode import evaluate_planned, group_key
from sloguard.engine._engine import AUTO_DIRECT_MAX_SLOS, Engine, auto_direct_windows, run
from sloguard.engine._plan import (
    BUCKET_CHECK_RANGE,
    Plan,
    SloPlan,
    combine,
    plan_slo,
    without_calendar_period,
)
from sloguard.engine._promql import bucket_selector, group_expr
from sloguard.engine._recorded import PROBE, Recorded, bulk_query

__all__ = [
    "AUTO_DIRECT_MAX_SLOS",
    "BUCKET_CHECK_RANGE",
    "DEFAULT_CONCURRENCY",
    "PROBE",
    "Combined",
    "Engine",
    "Plan",
    "Recorded",
    "SloPlan",
    "auto_direct_windows",
    "bucket_selector",
    "bulk_query",
    "combine",
    "combined",
    "evaluate_planned",
    "group_expr",
    "group_key",
    "plan_slo",
    "run",
    "without_calendar_period",
]
