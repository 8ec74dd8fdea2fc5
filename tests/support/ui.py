"""Evaluations, SLOs and episode records for the UI's tests: built, not mocked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sloguard.burn import Evaluation, TierDecision, TierState
from sloguard.model import DEFAULT_TIERS, SLO, RatioIndicator, Severity
from sloguard.records import Delivery, EpisodeRecord, Transition

HOSTILE = "<img src=x onerror=alert(1)>"


def slo(name: str, service: str = "shop", description: str = "", **labels: str) -> SLO:
    return SLO(
        name=name,
        service=service,
        objective_percent=99.9,
        period_seconds=30 * 86400,
        indicator=RatioIndicator(errors="e{{.window}}", total="t{{.window}}"),
        description=description,
        labels=labels,
        owner={"team": "payments"},
        runbook_url="https://runbooks.example/checkout",
    )


def evaluation(key: str, budget: float | None, burn: float, at: float = 1.7e9) -> Evaluation:
    """An evaluation whose every window burns at ``burn``; SEV1 fires when it is >= 14.4."""
    period = 30 * 86400
    decisions = []
    for tier in DEFAULT_TIERS:
        factor = tier.factor(period)
        state = TierState.FIRING if burn >= factor else TierState.CLEAR
        decisions.append(TierDecision(tier, factor, burn, burn, state))
    firing = [d.tier.severity for d in decisions if d.state is TierState.FIRING]
    windows = sorted({w for t in DEFAULT_TIERS for w in (t.long_seconds, t.short_seconds)})
    return Evaluation(
        slo=key,
        at=at,
        severity=max(firing, default=Severity.OK),
        burn_rates=dict.fromkeys(windows, burn),
        error_budget_remaining=budget,
        time_to_exhaustion_seconds=None if budget is None else 3600.0,
        tiers=tuple(decisions),
    )


def dead_episode(episode_id: str = "ep-1", slo_key: str = "checkout") -> EpisodeRecord:
    return EpisodeRecord(
        id=episode_id,
        slo=slo_key,
        declared_at=1.7e9,
        resolved_at=None,
        peak="SEV1",
        transitions=(Transition(1.7e9, "TRIGGERED", "SEV1", None, True, "burn 20x over 1h/5m"),),
        deliveries=(
            Delivery(
                "pagerduty", "TRIGGERED", "dead", 5, 1.7e9, 1.7e9 + 60, "HTTP 400: bad key", 400
            ),
            Delivery("slack", "TRIGGERED", "delivered", 1, 1.7e9, 1.7e9 + 1, "", 200),
            Delivery(
                "webhook", "TRIGGERED", "pending", 2, 1.7e9, None, "timed out", None, 1.7e9 + 120
            ),
        ),
    )


@dataclass
class FakeUiData:
    """The UI's data source over lists held in memory."""

    evals: Sequence[Evaluation] = ()
    slos: Mapping[str, SLO] = field(default_factory=dict)
    records: list[EpisodeRecord] = field(default_factory=list)

    def evaluations(self) -> tuple[Sequence[Evaluation], Mapping[str, SLO]]:
        return self.evals, self.slos

    def episodes(self) -> list[EpisodeRecord]:
        return list(self.records)

    def episode(self, episode_id: str) -> EpisodeRecord | None:
        return next((e for e in self.records if e.id == episode_id), None)
