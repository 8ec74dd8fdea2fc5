"""Objectives and budgets are decimals: the generated rules write them exactly (issue 15, bug 7)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
import yaml

from sloguard.model import SLO, RatioIndicator, Severity, Tier
from sloguard.rules import render_rules, rule_groups

DAY = 86400


def _slo(objective: float) -> SLO:
    return SLO(
        name="api-availability",
        service="api",
        objective_percent=objective,
        period_seconds=30 * DAY,
        indicator=RatioIndicator("sum(rate(e[{{.window}}]))", "sum(rate(t[{{.window}}]))"),
    )


def _exprs(objective: float) -> dict[str, str]:
    doc = yaml.safe_load(render_rules(rule_groups([_slo(objective)]), "x.yaml"))
    return {r["record"]: r["expr"] for g in doc["groups"] for r in g["rules"] if "record" in r}


@pytest.mark.parametrize(
    ("objective", "ratio", "budget"),
    [
        pytest.param(99.95, "0.9995", "0.0005", id="99.95"),
        pytest.param(99.9, "0.999", "0.001", id="99.9"),
        pytest.param(99.0, "0.99", "0.01", id="99"),
        pytest.param(99.99, "0.9999", "0.0001", id="99.99"),
        pytest.param(95.5, "0.955", "0.045", id="95.5"),
        pytest.param(99.999, "0.99999", "0.00001", id="99.999-no-exponent"),
    ],
)
def test_objective_and_budget_written_exactly(objective: float, ratio: str, budget: str) -> None:
    exprs = _exprs(objective)
    assert exprs["slo:objective:ratio"] == f"vector({ratio})"
    assert exprs["slo:error_budget:ratio"] == f"vector({budget})"


def test_alert_thresholds_use_the_exact_budget() -> None:
    doc = yaml.safe_load(render_rules(rule_groups([_slo(99.95)]), "x.yaml"))
    alerts = [r["expr"] for g in doc["groups"] for r in g["rules"] if "alert" in r]
    assert "(14.4 * 0.0005)" in alerts[0]
    assert "99999" not in "".join(alerts)
    assert "0000000" not in "".join(alerts)


def test_burn_rate_factors_from_repeating_budget_percentages_are_written_round() -> None:
    tier = Tier(Severity.SEV1, 3600, 300, float(Decimal(14) * 3600 / (28 * DAY) * 100))
    slo = dataclasses.replace(_slo(99.95), period_seconds=28 * DAY, tiers=(tier,))
    doc = yaml.safe_load(render_rules(rule_groups([slo]), "x.yaml"))
    [alert] = [r["expr"] for g in doc["groups"] for r in g["rules"] if "alert" in r]
    assert "(14 * 0.0005)" in alert
