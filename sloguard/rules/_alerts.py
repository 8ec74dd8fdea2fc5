"""Alert rules: one per severity, its tiers' long and short windows joined. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from sloguard.model import SLO, Severity, Tier
from sloguard.rules._rule import Rule
from sloguard.rules._text import (
    ALERT_NAME,
    RATIO,
    TOTAL,
    base_labels,
    budget_text,
    factor_text,
    number,
    prom_duration,
    selector,
)


def tier_threshold(slo: SLO, tier: Tier) -> float:
    """The error ratio a tier's windows must exceed: factor x budget."""
    return tier.factor(slo.period_seconds) * slo.budget


def _window_condition(slo: SLO, tier: Tier, seconds: int) -> str:
    sel = selector(slo)
    w = prom_duration(seconds)
    factor = factor_text(tier.factor(slo.period_seconds))
    cond = f"{RATIO}{w}{sel} > ({factor} * {budget_text(slo)})"
    if slo.min_events > 0 and slo.counts_events:
        # Low-traffic protection, as the evaluator applies it: the window must hold enough events.
        cond += f" and {TOTAL}{w}{sel} * {seconds} >= {number(slo.min_events)}"
    return f"max({cond}) without (sloth_window)"


def _tier_expr(slo: SLO, tier: Tier) -> str:
    short = _window_condition(slo, tier, tier.short_seconds)
    long = _window_condition(slo, tier, tier.long_seconds)
    return f"(\n    {short}\n    and\n    {long}\n)"


def _alert_rule(slo: SLO, severity: Severity, tiers: Sequence[Tier]) -> Rule:
    expr = "\nor\n".join(_tier_expr(slo, t) for t in tiers) + "\n"
    labels = base_labels(slo) | {
        "severity": str(severity),
        "sloth_severity": "page" if severity.pages else "ticket",
    }
    period = prom_duration(slo.period_seconds)
    how = "; ".join(
        f"{t.long}/{t.short} windows above {number(round(t.factor(slo.period_seconds), 4))}x"
        f" ({number(t.budget_percent)}% of the budget in {t.long})"
        for t in tiers
    )
    annotations = {
        "summary": (
            f"{severity}: {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} "
            f"burns its error budget too fast"
        ),
        "description": (
            f"SLO {slo.name} of {slo.service} ({number(slo.objective_percent)}% over {period})"
            f" burns its error budget too fast: {how}. "
            f"Error ratio in the short window: {{{{ $value | humanizePercentage }}}}."
            + (f" {slo.description.strip()}" if slo.description.strip() else "")
        ),
    }
    if slo.runbook_url:
        annotations["runbook_url"] = slo.runbook_url
    if slo.dashboard_url:
        annotations["dashboard_url"] = slo.dashboard_url
    return Rule(
        alert=ALERT_NAME,
        expr=expr,
        labels=MappingProxyType(labels),
        annotations=MappingProxyType(annotations),
    )


def alert_rules(slo: SLO) -> tuple[Rule, ...]:
    by_severity: dict[Severity, list[Tier]] = {}
    for tier in slo.tiers:
        by_severity.setdefault(tier.severity, []).append(tier)
    return tuple(
        _alert_rule(slo, sev, by_severity[sev]) for sev in sorted(by_severity, reverse=True)
    )
