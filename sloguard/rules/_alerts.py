"""Alert rules: one per severity, its tiers' long and short windows joined. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from sloguard.model import SLO, Severity, Tier
from sloguard.rules._rule import Rule
from sloguard.rules._text import (
    ALERT_NAME,
    RATIO,
    SEVERITY_LABEL,
    TOTAL,
    base_labels,
    budget_text,
    factor_text,
    number,
    prom_duration,
    selector,
    sloth_slo,
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
    own = slo.alerts.labels_for(severity)
    labels = base_labels(slo) | {
        "severity": str(severity),
        "sloth_severity": "page" if severity.pages else "ticket",
    }
    if own.get("severity", str(severity)) != str(severity):
        # The team's own labels win, as in Sloth's rules (``severity: critical``); sloguard's
        # severity stays in its own label, so the SEV1 and SEV2 alerts remain two alerts.
        labels[SEVERITY_LABEL] = str(severity)
    labels |= own
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
    annotations |= slo.alerts.annotations_for(severity)
    return Rule(
        alert=slo.alerts.name or ALERT_NAME,
        expr=expr,
        labels=MappingProxyType(labels),
        annotations=MappingProxyType(annotations),
    )


def absent_rules(slo: SLO) -> tuple[Rule, ...]:
    """Pyrra's absent alerts: ``absent(<selector>) == 1`` for each series the SLO reads, so a
    vanished exporter alerts even though a burn rate over no data never fires. One rule, the
    selectors joined with ``or`` (two rules of one name and labels would be duplicates)."""
    absent = slo.alerts.absent
    if absent is None:
        return ()
    pending = prom_duration(absent.for_seconds) if absent.for_seconds else ""
    annotations = {
        # Written out: an alert's $labels are its expression's, and absent() has few.
        "summary": f"{slo.service} {sloth_slo(slo)}: a series the SLO reads is absent",
        "description": (
            f"SLO {slo.name} of {slo.service} reads a series that is absent"
            + (f" (for {pending})" if pending else "")
            + ": its burn rates cannot be computed."
        ),
    }
    if slo.runbook_url:
        annotations["runbook_url"] = slo.runbook_url
    labels = MappingProxyType(base_labels(slo) | dict(absent.labels))
    expr = "\nor\n".join(f"absent({s}) == 1" for s in absent.selectors)
    return (
        Rule(
            alert=absent.name,
            expr=expr + "\n" if len(absent.selectors) > 1 else expr,
            labels=labels,
            annotations=MappingProxyType(annotations),
            for_=pending,
        ),
    )


def alert_rules(slo: SLO) -> tuple[Rule, ...]:
    by_severity: dict[Severity, list[Tier]] = {}
    for tier in slo.tiers:
        by_severity.setdefault(tier.severity, []).append(tier)
    burn = tuple(
        _alert_rule(slo, sev, by_severity[sev]) for sev in sorted(by_severity, reverse=True)
    )
    return burn + absent_rules(slo)
