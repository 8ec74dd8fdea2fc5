"""What metrics and ``/api/v1/slos`` show of a daemon's ticks, between and across them.

A regular tick evaluates every SLO; a fast tick only a few. What is shown is the last regular
tick's evaluations with the fresher ones of the fast ticks since laid over them, so metrics
and the status API keep every SLO. Kept per daemon, and handed over on a reload until the new
configuration's first tick.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sloguard.burn import Evaluation
from sloguard.gate import decide, decision_json, policy_from_query
from sloguard.lifecycle import EpisodeState
from sloguard.model import SLO, Severity
from sloguard.sink import MetricsSink
from sloguard.views import evaluation_json


@dataclass(slots=True)
class Shown:
    """What metrics and ``/api/v1/slos`` show: the last regular tick's evaluations, with the
    fresher ones of the fast ticks since laid over them (a fast tick evaluates only a few)."""

    at: float | None = None
    evaluations: list[Evaluation] = field(default_factory=list)
    slos_by_key: dict[str, SLO] = field(default_factory=dict)
    prometheus_up: bool = True
    open_episodes: dict[Severity, int] = field(default_factory=dict)
    episodes: list[Mapping[str, Any]] = field(default_factory=list)
    # With replicas: the SLOs other replicas evaluate, as they last committed them.
    shared: list[tuple[Evaluation, SLO]] = field(default_factory=list)

    def update(
        self,
        at: float,
        evaluations: Sequence[Evaluation],
        slos_by_key: Mapping[str, SLO],
        *,
        prometheus_up: bool,
        open_states: Iterable[EpisodeState],
        fast: bool,
        shared: Sequence[tuple[Evaluation, SLO]] = (),
    ) -> None:
        """Take one tick's results: a regular tick replaces them, a fast one lays over.
        ``shared``: other replicas' SLOs from the store (a regular tick re-reads them)."""
        if fast and self.at is not None:
            fresh = {ev.slo: ev for ev in evaluations}
            kept = [fresh.pop(ev.slo, ev) for ev in self.evaluations]
            self.evaluations = [*kept, *fresh.values()]
            self.slos_by_key = {**self.slos_by_key, **slos_by_key}
        else:
            self.at = at
            self.evaluations = list(evaluations)
            self.slos_by_key = dict(slos_by_key)
            self.shared = list(shared)
        self.prometheus_up = prometheus_up
        opened = [s for s in open_states if s.open]
        self.open_episodes = {}
        for state in opened:
            sev = state.shown_severity
            self.open_episodes[sev] = self.open_episodes.get(sev, 0) + 1
        self.episodes = [s.to_json() for s in opened]

    def publish(self, metrics: MetricsSink) -> None:
        metrics.observe_evaluations(self.evaluations, self.slos_by_key)
        metrics.set_prometheus_up(self.prometheus_up)
        metrics.set_open_episodes(self.open_episodes)

    def status(self) -> dict[str, Any]:
        """The body of ``/api/v1/slos``."""
        if self.at is None:
            return {"evaluated_at": None, "slos": [], "episodes": []}
        return {
            "evaluated_at": self.at,
            "prometheus_up": self.prometheus_up,
            "slos": [
                *(evaluation_json(ev, self.slos_by_key.get(ev.slo)) for ev in self.evaluations),
                *(evaluation_json(ev, slo) for ev, slo in self.shared),
            ],
            "episodes": list(self.episodes),
        }

    def gate(self, query: Mapping[str, Sequence[str]]) -> tuple[int, dict[str, Any]]:
        """``/api/v1/gate``: the HTTP status and body of the deploy gate on the last tick, over
        this replica's SLOs and, with replicas, the ones other replicas last committed.

        200 whether allowed or not, 503 when the answer cannot be known (no tick yet, no data,
        Prometheus unreachable) unless the query allows unknowns, 400 for a bad query.
        """
        try:
            policy = policy_from_query(query)
        except ValueError as exc:
            return 400, {"error": str(exc), "allowed": False, "reasons": [str(exc)], "at": None}
        # A standby (or a replica holding other shards) judges what the holders committed:
        # its answer is the holder's at the same instant, so a pipeline may ask any replica.
        evaluations = [*self.evaluations, *(ev for ev, _ in self.shared)]
        slos = {**self.slos_by_key, **{ev.slo: slo for ev, slo in self.shared}}
        decision = decide(evaluations, slos, policy)
        status = 503 if decision.unknown and not decision.allowed else 200
        return status, decision_json(decision, self.at)


def committed(state: EpisodeState) -> Evaluation:
    """What another replica last committed of a key, as an evaluation to show: its severity,
    budget and error at its last evaluation; burn rates stay with the replica that read them
    (they are not stored)."""
    return Evaluation(
        slo=state.slo,
        at=state.last_at if state.last_at is not None else 0.0,
        severity=state.severity,
        burn_rates=MappingProxyType({}),
        error_budget_remaining=state.last_budget_remaining,
        time_to_exhaustion_seconds=None,
        error=state.error,
    )


__all__ = ["Shown", "committed"]
