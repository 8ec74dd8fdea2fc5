"""A grouped SLO's graphs from a real Prometheus: checkout (its outage) and catalog (quiet on
errors) as the two groups of one SLO. Each group's page draws its own lines, from one set of
range queries for the whole SLO, and every point equals the error ratio computed from the
scenario's samples (the harness' independent computation) divided by the budget."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from urllib.parse import quote

import httpx
import pytest

from harness import scenarios as sc
from harness.promserver import DAY
from sloguard.charts import Line
from sloguard.clock import ManualClock
from sloguard.metrics import Metrics
from sloguard.ports import Sample, Series
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.server import Readiness, Sources, build_app
from sloguard.server.graphs import BurnHistory, History
from sloguard.server.ui import Ui
from tests.support.prom import Served, grouped_slo
from tests.support.ui import FakeUiData, evaluation

pytestmark = pytest.mark.prometheus

MINUTE = 60
WINDOWS = 7  # the distinct windows of the default tiers


class Counted:
    """Forwards to Prometheus and counts the range queries."""

    def __init__(self, inner: PrometheusClient) -> None:
        self.inner = inner
        self.ranges = 0

    async def query(self, expr: str, at: float) -> list[Sample]:
        return await self.inner.query(expr, at)

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        self.ranges += 1
        return await self.inner.query_range(expr, start, end, step)


def _assert_equal(
    served: Served, service: str, line: Line, seconds: int, budget_left: bool
) -> None:
    assert line.points, f"{service} {line.window}: no points"
    for at, value in line.points:
        ratio = served.data.error_ratio(service, seconds, at)
        assert ratio is not None, (service, line.window, at)
        expected = 1 - ratio / 0.001 if budget_left else ratio / 0.001
        assert math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9), (service, at)


def test_each_group_draws_its_own_burn_equal_to_the_samples(incidents: Served) -> None:
    slo = grouped_slo(incidents, ("checkout", "catalog"))
    now = incidents.scenario.at(sc.OUTAGE_START + 15 * MINUTE)

    async def main() -> tuple[dict[str, History], int, str]:
        async with PrometheusClient(PrometheusConfig(url=incidents.url)) as client:
            source = Counted(client)
            history = BurnHistory(source, ManualClock(start=now).now)
            got: dict[str, History] = {}
            for service in ("checkout", "catalog"):
                drawn = await history.history(slo, {"service": service})
                assert drawn is not None
                got[service] = drawn
            key = 'http{service="checkout"}'
            ev = dataclasses.replace(evaluation(key, -1.0, 30.0), labels={"service": "checkout"})
            data = FakeUiData([ev], {key: slo})
            ui = Ui(data, history)
            readiness = Readiness(ManualClock(start=now), interval_seconds=30)
            app = build_app(Sources(Metrics().render, readiness, dict, extra_routes=ui.routes()))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                page = (await http.get("/slos/" + quote(key, safe="/"))).text
            return got, source.ranges, page

    got, ranges, page = asyncio.run(main())
    assert ranges == WINDOWS + 1  # one set for both groups (and the page view): cached per SLO
    for service, drawn in got.items():
        _assert_equal(incidents, service, drawn.budget, 30 * DAY, budget_left=True)
        tiers = sorted(slo.tiers, key=lambda t: t.severity, reverse=True)
        for lines, tier in zip(drawn.tiers, tiers, strict=True):
            for line, seconds in (
                (lines.long, tier.long_seconds),
                (lines.short, tier.short_seconds),
            ):
                _assert_equal(incidents, service, line, seconds, budget_left=False)
    checkout_5m = got["checkout"].tiers[0].short.points[-1][1]
    catalog_5m = got["catalog"].tiers[0].short.points[-1][1]
    assert checkout_5m > 14.4 > catalog_5m  # the outage burns one group only
    assert page.count('class="tier-history"') == 4
