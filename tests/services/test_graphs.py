"""The detail page's burn-rate-over-time graph: range queries, the cache's lifetime, the SVG."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest

from sloguard.clock import ManualClock
from sloguard.errors import SourceUnavailable
from sloguard.metrics import Metrics
from sloguard.ports import Sample, Series
from sloguard.server import Readiness, Sources, build_app
from sloguard.server.graphs import BurnHistory, plot
from sloguard.server.ui import Ui
from tests.support.ui import FakeUiData, evaluation, slo

START = 1.7e9


class RangeSource:
    """Answers every range query with an error ratio of 0.02 (20x a 99.9 % budget)."""

    def __init__(self, fail: bool = False) -> None:
        self.asked: list[str] = []
        self.fail = fail

    async def query(self, expr: str, at: float) -> list[Sample]:
        raise AssertionError("the graphs make range queries only")

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        self.asked.append(expr)
        if self.fail:
            raise SourceUnavailable("connection refused")
        return [Series({}, [(start + i * step, 0.02) for i in range(5)])]


@pytest.mark.parametrize(
    ("advance_seconds", "queries"),
    [
        pytest.param(0, 2, id="second-view-cached"),
        pytest.param(59, 2, id="within-lifetime"),
        pytest.param(60, 4, id="lifetime-over-refetched"),
    ],
)
def test_two_range_queries_per_slo_cached_for_the_lifetime(
    advance_seconds: float, queries: int
) -> None:
    clock = ManualClock(start=START)
    source = RangeSource()
    history = BurnHistory(source, clock.now, ttl_seconds=60)
    target = slo("checkout")

    async def main() -> None:
        first = await history.lines(target)
        assert [line.window for line in first] == ["1h", "5m"]  # SEV1's windows
        assert first[0].points[0][1] == pytest.approx(20.0)
        assert first[0].threshold == pytest.approx(14.4)
        clock.advance(advance_seconds)
        await history.lines(target)

    asyncio.run(main())
    assert len(source.asked) == queries
    assert source.asked[0] == "(e1h) / (t1h)"


def test_grouped_slos_are_not_drawn() -> None:
    source = RangeSource()
    history = BurnHistory(source, ManualClock().now)
    grouped = dataclasses.replace(slo("checkout"), group_by=("region",))
    assert asyncio.run(history.lines(grouped)) == []
    assert source.asked == []


def test_plot_scales_into_the_box() -> None:
    lines = asyncio.run(BurnHistory(RangeSource(), ManualClock(start=START).now).lines(slo("x")))
    plots = plot(lines, width=600, height=200)
    first = plots[0].points.split()
    assert first[0].startswith("0.0,")
    assert first[-1].startswith("600.0,")
    assert 0 < plots[0].threshold_y < 200


@pytest.mark.parametrize(
    ("fail", "has_graph"),
    [pytest.param(False, True, id="drawn"), pytest.param(True, False, id="prometheus-down")],
)
def test_detail_page_draws_the_history(fail: bool, has_graph: bool) -> None:
    async def main() -> httpx.Response:
        clock = ManualClock(start=START)
        data = FakeUiData([evaluation("checkout", 0.5, 20.0)], {"checkout": slo("checkout")})
        ui = Ui(data, BurnHistory(RangeSource(fail), clock.now))
        readiness = Readiness(clock, interval_seconds=30)
        app = build_app(Sources(Metrics().render, readiness, dict, extra_routes=ui.routes()))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/slos/checkout")

    reply = asyncio.run(main())
    assert reply.status_code == 200
    assert ('id="burn-history"' in reply.text) is has_graph
    assert reply.text.count("<polyline") == (2 if has_graph else 0)
