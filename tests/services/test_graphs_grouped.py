"""A grouped SLO's graphs: one set of range queries answers every group, split by the group's
labels and cached per SLO; its page lists the groups, and each group's page draws its own."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from urllib.parse import quote

import httpx
import pytest

from sloguard import rules
from sloguard.burn import Evaluation
from sloguard.clock import ManualClock
from sloguard.metrics import Metrics
from sloguard.model import SLO
from sloguard.ports import Sample, Series
from sloguard.server import Readiness, Sources, build_app
from sloguard.server.graphs import BurnHistory
from sloguard.server.ui import Ui
from tests.support.ui import HOSTILE, FakeUiData, evaluation, slo

START = 1.7e9
WINDOWS = 7  # the distinct windows of the default tiers
RATIOS = {"eu": 0.02, "us": 0.0005}  # 20x and 0.5x a 99.9 % budget


def grouped(name: str = "checkout") -> SLO:
    return dataclasses.replace(slo(name), group_by=("region",))


class GroupedSource:
    """Answers every range query with one series per region (plus the recorded series' own
    labels when asked for them); the probe finds the rules when ``recorded``."""

    def __init__(self, recorded: bool = False) -> None:
        self.asked: list[str] = []
        self.recorded = recorded

    async def query(self, expr: str, at: float) -> list[Sample]:
        assert rules.INFO in expr
        hashes = [rules.sli_hash(grouped())] if self.recorded else []
        return [Sample({rules.HASH_LABEL: h}, 1.0) for h in hashes]

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        self.asked.append(expr)
        extra = {"sloth_id": "shop-checkout"} if expr.startswith(rules.RATIO) else {}
        return [
            Series({"region": region, **extra}, [(start + i * step, ratio) for i in range(5)])
            for region, ratio in RATIOS.items()
        ]


@pytest.mark.parametrize(
    ("group", "burn", "budget_left"),
    [
        pytest.param({"region": "eu"}, 20.0, -19.0, id="burning-group"),
        pytest.param({"region": "us"}, 0.5, 0.5, id="quiet-group"),
    ],
)
def test_each_group_gets_its_own_lines_from_one_set_of_queries(
    group: dict[str, str], burn: float, budget_left: float
) -> None:
    source = GroupedSource()
    history = BurnHistory(source, ManualClock(start=START).now)

    async def main() -> None:
        for other in ({"region": "eu"}, {"region": "us"}):  # both groups' pages, then this one
            await history.history(grouped(), other)
        got = await history.history(grouped(), group)
        assert got is not None
        assert got.budget.points[0][1] == pytest.approx(budget_left)
        assert all(
            v == pytest.approx(burn)
            for t in got.tiers
            for _, v in (*t.long.points, *t.short.points)
        )

    asyncio.run(main())
    assert len(source.asked) == WINDOWS + 1  # one set for the SLO, whichever group is viewed


@pytest.mark.parametrize(
    ("recorded", "first_query"),
    [
        pytest.param(False, "(e30d)\n/\n(t30d)", id="raw-indicator"),
        pytest.param(True, 'slo:sli_error:ratio_rate30d{sloth_id="shop-checkout"}', id="recorded"),
    ],
)
def test_grouped_slo_reads_recorded_series_when_its_rules_run(
    recorded: bool, first_query: str
) -> None:
    source = GroupedSource(recorded)
    history = BurnHistory(source, ManualClock(start=START).now)
    got = asyncio.run(history.history(grouped(), {"region": "eu"}))
    assert got is not None
    assert got.recorded is recorded
    assert source.asked[0] == first_query
    assert got.tiers[0].long.points[0][1] == pytest.approx(20.0)


def test_a_group_without_series_gets_empty_lines() -> None:
    history = BurnHistory(GroupedSource(), ManualClock(start=START).now)
    got = asyncio.run(history.history(grouped(), {"region": "asia"}))
    assert got is not None
    assert got.budget.points == ()
    assert all(t.long.points == () and t.short.points == () for t in got.tiers)


def _group_eval(region: str, budget: float, burn: float) -> Evaluation:
    ev = evaluation(f'checkout{{region="{region}"}}', budget, burn)
    return dataclasses.replace(ev, labels={"region": region})


def _get(path: str) -> httpx.Response:
    regions = [("us", 0.9, 0.5), ("eu", -19.0, 20.0), (HOSTILE, 0.5, 1.0)]
    evals = [_group_eval(*r) for r in regions]
    data = FakeUiData(evals, {ev.slo: grouped() for ev in evals})

    async def main() -> httpx.Response:
        clock = ManualClock(start=START)
        ui = Ui(data, BurnHistory(GroupedSource(), clock.now))
        readiness = Readiness(clock, interval_seconds=30)
        app = build_app(Sources(Metrics().render, readiness, dict, extra_routes=ui.routes()))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get(path)

    return asyncio.run(main())


def test_the_grouped_slo_page_lists_its_groups_worst_budget_first() -> None:
    reply = _get("/slos/checkout")
    assert reply.status_code == 200
    links = re.findall(r'<tr class="group">\s*<td><a href="([^"]*)"', reply.text)
    assert links == [
        "/slos/" + quote('checkout{region="eu"}', safe="/"),
        "/slos/" + quote(f'checkout{{region="{HOSTILE}"}}', safe="/"),
        "/slos/" + quote('checkout{region="us"}', safe="/"),
    ]
    assert HOSTILE not in reply.text
    assert "region=&lt;img src=x onerror=alert(1)&gt;" in reply.text
    assert "3 groups, worst budget first" in reply.text


@pytest.mark.parametrize(
    ("region", "left_now"),
    [
        pytest.param("eu", "-1900.0 % left now", id="burning-group"),
        pytest.param("us", "50.0 % left now", id="quiet-group"),
    ],
)
def test_a_group_page_draws_that_group_only(region: str, left_now: str) -> None:
    reply = _get("/slos/" + quote(f'checkout{{region="{region}"}}', safe="/"))
    assert reply.status_code == 200
    assert reply.text.count('class="tier-history"') == 4
    assert left_now in reply.text
    assert 'One group of <a href="/slos/checkout">checkout</a>' in reply.text


def test_an_unknown_slo_is_still_not_found() -> None:
    assert _get("/slos/payments").status_code == 404
