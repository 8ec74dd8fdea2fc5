"""``sloguard backtest``: what the daemon would have done over a past range (service layer).

Public API::

    replay(slos, source, options, policies, progress=) -> Result     (async)
    Options(start, end, step, lifecycle, max_points_per_query, concurrency, budget_step, ...)
    Policy(name, tiers)                  tiers=None: each SLO's own tiers ("spec")
    load_policy(path) -> Policy          a YAML list of tiers, located errors (SpecError)
    check_policy(policy, slos)           tiers that cannot apply to an SLO -> SpecError
    load_incidents(path, slos) -> list[Incident]
    score(result, incidents) -> list[Score]   precision, recall, detection delay, reset time
    result_json(result, scores) -> dict

See docs/backtest.md for the definitions of every figure.
"""

from sloguard.backtest._inputs import Incident, check_policy, load_incidents, load_policy
from sloguard.backtest._model import (
    PROMETHEUS_MAX_POINTS,
    SPEC_POLICY,
    Episode,
    KeySeries,
    Options,
    Policy,
    Result,
    SeverityChange,
    budget_step_for,
)
from sloguard.backtest._replay import one_tenant, replay
from sloguard.backtest._report import result_json
from sloguard.backtest._score import IncidentMatch, Score, score

__all__ = [
    "PROMETHEUS_MAX_POINTS",
    "SPEC_POLICY",
    "Episode",
    "Incident",
    "IncidentMatch",
    "KeySeries",
    "Options",
    "Policy",
    "Result",
    "Score",
    "SeverityChange",
    "budget_step_for",
    "check_policy",
    "load_incidents",
    "load_policy",
    "one_tenant",
    "replay",
    "result_json",
    "score",
]
