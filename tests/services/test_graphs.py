"""The detail page's graphs over time: range queries, recorded series when present, the
cache's lifetime, the SVG."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from datetime import UTC, datetime
from typing import ClassVar

import httpx
import pytest

from sloguard import rules
from sloguard.charts import Line, chart
from sloguard.clock import ManualClock
from sloguard.durations import format_duration
from sloguard.errors import SourceUnavailable
from sloguard.metrics import Metrics
from sloguard.periods import Calendar, CalendarUnit
from sloguard.ports import Sample, Series
from sloguard.server import Readiness, Sources, build_app
from sloguard.server.graphs import BurnHistory
from sloguard.server.ui import Ui
from tests.support.ui import FakeUiData, evaluation, slo

START = 1.7e9
WINDOWS = 7  # the distinct windows of the default tiers (6h is used twice)


class RangeSource:
    """Answers every range query with an error ratio of 0.02 (20x a 99.9 % budget); the
    recorded-series probe finds the rules of the SLOs in ``recorded``."""

    def __init__(self, fail: bool = False, recorded: tuple[str, ...] = ()) -> None:
        self.asked: list[str] = []
        self.spans: list[float] = []
        self.probes = 0
        self.fail = fail
        self.recorded = recorded

    async def query(self, expr: str, at: float) -> list[Sample]:
        assert rules.INFO in expr, "the graphs' only instant query is the recorded probe"
        self.probes += 1
        if self.fail:
            raise SourceUnavailable("connection refused")
        return [
            Sample({rules.HASH_LABEL: rules.sli_hash(slo(name))}, 1.0)
            for name in self.recorded
            if f'"{name}"' in expr or f'"shop-{name}"' in expr
        ]

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        self.asked.append(expr)
        self.spans.append(end - start)
        if self.fail:
            raise SourceUnavailable("connection refused")
        return [Series({}, [(start + i * step, 0.02) for i in range(5)])]


@pytest.mark.parametrize(
    ("advance_seconds", "queries"),
    [
        pytest.param(0, WINDOWS + 1, id="second-view-cached"),
        pytest.param(59, WINDOWS + 1, id="within-lifetime"),
        pytest.param(60, 2 * (WINDOWS + 1), id="lifetime-over-refetched"),
    ],
)
def test_one_range_query_per_window_and_one_for_the_budget_cached_for_the_lifetime(
    advance_seconds: float, queries: int
) -> None:
    clock = ManualClock(start=START)
    source = RangeSource()
    history = BurnHistory(source, clock.now, ttl_seconds=60)

    async def main() -> None:
        first = await history.history(slo("checkout"))
        assert first is not None
        assert [(t.severity, t.long.window, t.short.window) for t in first.tiers] == [
            ("SEV1", "1h", "5m"),
            ("SEV2", "6h", "30m"),
            ("SEV3", "1d", "2h"),
            ("SEV3", "3d", "6h"),
        ]
        assert first.tiers[0].long.points[0][1] == pytest.approx(20.0)
        assert first.tiers[0].threshold == pytest.approx(14.4)
        assert first.tiers[3].threshold == pytest.approx(1.0)
        assert first.budget.window == "30d"
        assert first.budget.points[0][1] == pytest.approx(1 - 20.0)  # 20x overspent
        assert not first.recorded
        clock.advance(advance_seconds)
        await history.history(slo("checkout"))

    asyncio.run(main())
    assert len(source.asked) == queries
    assert source.asked[0] == "(e30d)\n/\n(t30d)"  # the budget, over the whole period
    assert source.spans[0] == 30 * 86400
    assert "(e5m)\n/\n(t5m)" in source.asked
    assert source.spans[1] == 6 * 3600


@pytest.mark.parametrize(
    ("recorded", "budget_query"),
    [
        pytest.param((), "(e30d)\n/\n(t30d)", id="raw-indicator-without-rules"),
        pytest.param(
            ("checkout",), 'slo:sli_error:ratio_rate30d{sloth_id="shop-checkout"}', id="recorded"
        ),
    ],
)
def test_recorded_series_are_read_when_their_rules_run(
    recorded: tuple[str, ...], budget_query: str
) -> None:
    source = RangeSource(recorded=recorded)
    history = BurnHistory(source, ManualClock(start=START).now)
    got = asyncio.run(history.history(slo("checkout")))
    assert got is not None
    assert got.recorded is bool(recorded)
    assert source.asked[0] == budget_query
    assert source.probes == 1


@pytest.mark.parametrize(
    ("values", "marks", "top", "bottom"),
    [
        pytest.param((0.5, 2.0), (1.0,), 2.2, 0.0, id="burn-over-threshold"),
        pytest.param((0.1, 0.2), (14.4,), 14.4 * 1.1, 0.0, id="threshold-sets-the-scale"),
        pytest.param((1.0, -1.0), (0.0,), 1.2, -1.2, id="overspent-budget-below-zero"),
    ],
)
def test_chart_scales_every_value_and_mark_into_the_box(
    values: tuple[float, ...], marks: tuple[float, ...], top: float, bottom: float
) -> None:
    line = Line("1h", tuple((START + i * 60, v) for i, v in enumerate(values)))
    drawn = chart([line], marks, width=600, height=200)
    assert drawn is not None
    points = drawn.lines[0].points.split()
    assert points[0].startswith("0.0,")
    assert points[-1].startswith("600.0,")
    assert drawn.top == pytest.approx(top)
    assert drawn.bottom == pytest.approx(bottom)
    assert all(0 <= float(p.split(",")[1]) <= 200 for p in points)
    assert all(0 <= y <= 200 for y in drawn.marks)
    assert drawn.lines[0].last == values[-1]


def test_chart_draws_the_points_within_the_asked_time_scale() -> None:
    # A 30-day period whose data began 3 days before its end: drawn at the right tenth.
    end = START + 30 * 86400
    line = Line("30d", ((end - 3 * 86400, 1.0), (end, 0.5)))
    drawn = chart([line], [0.0], width=600, start=START, end=end)
    assert drawn is not None
    assert [p.split(",")[0] for p in drawn.lines[0].points.split()] == ["540.0", "600.0"]


def test_chart_of_nothing_is_none() -> None:
    assert chart([Line("1h", ())], [1.0]) is None


@pytest.mark.parametrize(
    ("fail", "has_graphs"),
    [pytest.param(False, True, id="drawn"), pytest.param(True, False, id="prometheus-down")],
)
def test_detail_page_draws_the_budget_and_every_tier(fail: bool, has_graphs: bool) -> None:
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
    assert ('id="budget-history"' in reply.text) is has_graphs
    assert reply.text.count('class="tier-history"') == (4 if has_graphs else 0)
    assert reply.text.count("<polyline") == (1 + 4 * 2 if has_graphs else 0)
    if has_graphs:
        assert "SEV1: 1h and 5m, threshold 14.40" in reply.text
        assert "-1900.0 % left now" in reply.text


class PeriodSource:
    """Every step of the period at 0.2 % errors (2x a 99.9 % budget), 10 events a second; no
    recorded rules. Instant queries answer the part of a step up to now."""

    def __init__(self) -> None:
        self.ranges: list[tuple[str, float, float, float]] = []
        self.instants: list[str] = []

    def _value(self, expr: str) -> float:
        return 10.0 if expr.startswith("t") else 0.002

    async def query(self, expr: str, at: float) -> list[Sample]:
        if rules.INFO in expr:
            return []
        self.instants.append(expr)
        return [Sample({}, self._value(expr))]

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        self.ranges.append((expr, start, end, step))
        count = round((end - start) / step) + 1
        return [Series({}, [(start + i * step, self._value(expr)) for i in range(count)])]


def test_a_calendar_slos_budget_graph_starts_at_its_period_start() -> None:
    march_1 = datetime(2024, 3, 1, tzinfo=UTC).timestamp()
    now = march_1 + 10 * 86400 + 1234.0  # 10 days and a bit of March's 31 gone
    monthly = dataclasses.replace(slo("checkout"), calendar=Calendar(CalendarUnit.MONTH))
    source = PeriodSource()
    got = asyncio.run(BurnHistory(source, ManualClock(start=now).now).history(monthly))
    assert got is not None
    assert got.budget_from == march_1
    assert got.budget.window == "calendar month (UTC)"
    step = math.ceil((now - march_1) / 120)  # 120 points
    window = format_duration(step)
    asked = {expr: (start, end) for expr, start, end, _ in source.ranges}
    ratio = asked[f"(e{window})\n/\n(t{window})"]
    assert ratio == asked[f"t{window}"]
    assert ratio[0] == march_1 + step  # the steps tile the period from its start
    assert len(source.instants) == 2  # the rest of the last step, up to now
    first_at, _ = got.budget.points[0]
    assert first_at == march_1 + step
    last_at, last = got.budget.points[-1]
    assert last_at == now
    assert last == pytest.approx(1 - 2 * (now - march_1) / (31 * 86400))


class GroupedPeriodSource(PeriodSource):
    """PeriodSource's answers for two regions: eu at its errors, us at half of them."""

    SHARE: ClassVar[dict[str, float]] = {"eu": 1.0, "us": 0.5}

    def _scaled(self, expr: str, region: str) -> float:
        value = self._value(expr)
        return value if expr.startswith("t") else value * self.SHARE[region]

    async def query(self, expr: str, at: float) -> list[Sample]:
        if rules.INFO in expr:
            return []
        self.instants.append(expr)
        return [Sample({"region": r}, self._scaled(expr, r)) for r in self.SHARE]

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        self.ranges.append((expr, start, end, step))
        count = round((end - start) / step) + 1
        return [
            Series({"region": r}, [(start + i * step, self._scaled(expr, r)) for i in range(count)])
            for r in self.SHARE
        ]


@pytest.mark.parametrize(("region", "burn"), [("eu", 2.0), ("us", 1.0)])
def test_a_grouped_calendar_slos_groups_each_get_their_budget_graph(
    region: str, burn: float
) -> None:
    march_1 = datetime(2024, 3, 1, tzinfo=UTC).timestamp()
    now = march_1 + 10 * 86400 + 1234.0
    monthly = dataclasses.replace(
        slo("checkout"), calendar=Calendar(CalendarUnit.MONTH), group_by=("region",)
    )
    source = GroupedPeriodSource()
    history = BurnHistory(source, ManualClock(start=now).now)
    got = asyncio.run(history.history(monthly, {"region": region}))
    assert got is not None
    assert got.budget_from == march_1
    last_at, last = got.budget.points[-1]
    assert last_at == now
    assert last == pytest.approx(1 - burn * (now - march_1) / (31 * 86400))
    asked = len(source.ranges) + len(source.instants)
    asyncio.run(history.history(monthly, {"region": "eu" if region == "us" else "us"}))
    assert len(source.ranges) + len(source.instants) == asked  # the other group: cached
