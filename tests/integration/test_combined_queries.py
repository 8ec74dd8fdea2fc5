"""On a real Prometheus, one combined query per SLO, one merged query for many SLOs of the
same shape, and an error ratio divided from its two halves, give exactly what one query per
window gave: the same burn rates, budgets and
severities (``==``), at instants through an outage, for the scenario's SLOs, the example
definitions and the Sloth conformance corpus; at most one query per SLO per tick, and a fleet
of same-shape SLOs far fewer."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from harness import scenarios as sc
from harness.promserver import DAY, availability_slo, latency_slo
from sloguard.burn import Evaluation
from sloguard.engine import Engine, Plan, combined, run
from sloguard.model import SLO, LatencyIndicator, RatioIndicator, Severity
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.spec import load
from tests.support.prom import Served
from tests.support.sources import Counting, one_by_one

pytestmark = pytest.mark.prometheus
ROOT = Path(__file__).parents[2]
MIN = 60


def _corpus() -> list[SLO]:
    """The example definitions and the Sloth corpus (their metrics are absent here: what
    matters is that Prometheus takes every union and that nothing changes)."""
    paths = [ROOT / "slo_definitions", ROOT / "tests" / "data" / "conformance" / "sloth"]
    return list(load(paths, check_duplicates=False).slos)


def _slos(served: Served) -> list[SLO]:
    s = served.scenario
    job = f'job="{s.job}"'
    grouped = SLO(
        name="http",
        service="shop",
        objective_percent=99.9,
        period_seconds=30 * DAY,
        indicator=RatioIndicator(
            errors=f'sum(rate(http_requests_total{{{job},code=~"5.."}}[{{{{.window}}}}]))',
            total=f"sum(rate(http_requests_total{{{job}}}[{{{{.window}}}}]))",
        ),
        group_by=("service",),
    )
    scenario_slos = [availability_slo(s, svc.name) for svc in s.services]
    catalog = latency_slo(s, "catalog")
    assert isinstance(catalog.indicator, LatencyIndicator)
    # No series at all (a regex character in its name): NO_DATA, merged or not.
    ghost = catalog.indicator.selector.replace('"catalog"', '"ghost.v1"')
    ghosts = [
        availability_slo(s, "ghost.v1"),
        replace(
            catalog, name="ghost-latency", indicator=replace(catalog.indicator, selector=ghost)
        ),
    ]
    return [*scenario_slos, catalog, grouped, *ghosts, *_corpus()]


def _per_slo(plan: Plan) -> Plan:
    """``plan`` without merging (nor ratios divided from their halves): each SLO's queries as
    its own combined query, as before."""
    asks = {c.text: c for c in (combined(sp.queries) for sp in plan.slos if sp.queries)}
    return replace(plan, asks=tuple(asks.values()), merged=(), derived=())


def _evaluate(url: str, plan: Plan, at: float) -> tuple[list[Evaluation], int]:
    async def go() -> tuple[list[Evaluation], int]:
        async with PrometheusClient(PrometheusConfig(url=url)) as client:
            source = Counting(client)
            return await run(plan, source, at), len(source.asked)

    return asyncio.run(go())


@pytest.mark.parametrize(
    "offset",
    [
        pytest.param(sc.OUTAGE_START - MIN, id="before-outage"),
        pytest.param(sc.OUTAGE_START + MIN, id="outage-first-minute"),
        pytest.param(sc.OUTAGE_START + 10 * MIN, id="during-outage"),
        pytest.param(sc.OUTAGE_END + 4 * MIN, id="5m-not-yet-clear"),
        pytest.param(sc.OUTAGE_END + 30 * MIN + 7, id="30m-clear-2h-burning"),
    ],
)
def test_combined_queries_change_no_number(incidents: Served, offset: int) -> None:
    slos = _slos(incidents)
    at = incidents.scenario.at(offset) + 7
    plan = Engine().plan(slos)
    merged, asked = _evaluate(incidents.url, plan, at)
    each, asked_each = _evaluate(incidents.url, one_by_one(plan), at)
    per_slo, asked_per_slo = _evaluate(incidents.url, _per_slo(plan), at)
    assert merged == each == per_slo
    assert [e.error for e in merged if e.error] == []
    assert asked == plan.query_count  # no union was refused and asked again query by query
    assert asked < asked_per_slo <= len(slos)  # at most one query per SLO per tick (target: 2)
    assert asked_each == len(plan.queries) > 10 * asked_per_slo
    assert {m.label for m in plan.merged} >= {"service"}, "the scenario's SLOs were merged"
    if offset >= sc.OUTAGE_START + 10 * MIN:
        checkout = merged[0]  # the scenario's checkout (slo_definitions has its own too)
        assert checkout.slo == "checkout-availability"
        assert checkout.severity != Severity.OK, "the instants show the outage"


def test_a_fleet_of_one_shape_is_one_query(incidents: Served) -> None:
    s = incidents.scenario
    names = [svc.name for svc in s.services] + [f"svc{i:03d}" for i in range(60)]
    slos = [availability_slo(s, name) for name in names]
    at = s.at(sc.OUTAGE_START + 10 * MIN) + 7
    plan = Engine().plan(slos)
    merged, asked = _evaluate(incidents.url, plan, at)
    per_slo, asked_per_slo = _evaluate(incidents.url, _per_slo(plan), at)
    assert merged == per_slo
    assert (asked, asked_per_slo) == (1, len(slos))  # 16 merged queries, combined into one
    assert merged[0].severity != Severity.OK, "checkout's outage shows"
    assert {e.severity for e in merged[len(s.services) :]} == {Severity.NO_DATA}
