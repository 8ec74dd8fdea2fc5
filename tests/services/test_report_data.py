"""What `sloguard report` reads for a grouped SLO (sloguard.cli._report_data), from a fake
source: a key per group, each episode's onset from its own group's series, a graph per key."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest

from sloguard.cli._report_data import Measured, error_ratios, graphs, onsets, reviews
from sloguard.ports import QUERY_TENANT, Sample, Series
from sloguard.records import EpisodeRecord
from tests.support.sources import DAY, ratio_slo

SHOP = ratio_slo("shop", group_by=("region",))
EU, US = 'shop{region="eu"}', 'shop{region="us"}'
T = 1_717_200_000.0
_WINDOW = re.compile(r"\[(\w+)\]")


class GroupedSource:
    """Answers the grouped ratio of every window: eu at 2x the budget, us at 0.5x; over time
    eu burns from T - 600, us from T - 120 (so a swapped series shows)."""

    def __init__(self, regions: tuple[str, ...] = ("us", "eu")) -> None:
        self.regions = regions
        self.asked: list[str] = []

    async def query(self, expr: str, at: float) -> list[Sample]:
        assert "sum by (region)" in expr, expr  # read grouped, as the daemon does
        self.asked.append(expr)
        level = {"eu": 0.002, "us": 0.0005}
        return [Sample({"region": r}, level[r]) for r in self.regions]

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        assert "sum by (region)" in expr, expr
        self.asked.append(expr)
        onset = {"eu": T - 600, "us": T - 120}
        times = [start + step * i for i in range(int((end - start) / step) + 1)]
        return [
            Series({"region": r}, [(t, 0.5 if t >= onset[r] else 0.0) for t in times])
            for r in self.regions
        ]


@pytest.mark.parametrize(
    ("regions", "expected"),
    [
        pytest.param(("us", "eu"), [(EU, 0.002), (US, 0.0005)], id="a-key-per-group"),
        pytest.param((), [("shop", None)], id="no-group-one-empty-row"),
    ],
)
def test_error_ratios(regions: tuple[str, ...], expected: list[tuple[str, float | None]]) -> None:
    got = asyncio.run(error_ratios(GroupedSource(regions), [SHOP], T - 7 * DAY, T))
    assert got == [Measured(k, SHOP, v, (T - 7 * DAY, T)) for k, v in expected]


def test_each_episode_onset_from_its_own_group() -> None:
    episodes = [
        EpisodeRecord(id="e1", slo=EU, declared_at=T, resolved_at=None, peak="SEV1"),
        EpisodeRecord(id="u1", slo=US, declared_at=T, resolved_at=None, peak="SEV3"),
    ]
    assert asyncio.run(onsets(GroupedSource(), SHOP, episodes)) == {"e1": T - 600, "u1": T - 120}


def test_a_graph_per_key() -> None:
    source = GroupedSource()
    drawn = asyncio.run(graphs(source, SHOP, [EU, US, 'shop{region="gone"}'], T - DAY, T))
    windows = [_WINDOW.search(e).group(1) for e in source.asked]  # type: ignore[union-attr]
    assert windows == ["30d", "5m", "30m", "1h", "2h", "6h", "1d", "3d"]  # one query each
    eu = drawn[EU]
    assert eu.budget.window == "30d"
    assert eu.budget.points[-1][1] == pytest.approx(1 - 0.5 / 0.001)
    assert [(t.severity, t.long.window, t.short.window) for t in eu.tiers][:2] == [
        ("SEV1", "1h", "5m"),
        ("SEV2", "6h", "30m"),
    ]
    assert eu.tiers[0].long.points[-1][1] == pytest.approx(500.0)  # 0.5 / 0.001
    assert drawn['shop{region="gone"}'].budget.points == ()  # no series: drawn as "no data"


def test_reviews_give_each_group_its_episodes() -> None:
    def ep(id_: str, key: str, declared: float) -> EpisodeRecord:
        return EpisodeRecord(
            id=id_, slo=key, declared_at=declared, resolved_at=declared + 600, peak="SEV2"
        )

    recorded = [
        ep("e1", EU, T - DAY),
        ep("e2", EU, T - 2 * DAY),
        ep("u1", US, T - DAY),
        ep("old", US, T - 30 * DAY),  # before the period
        ep("ap", 'shop{region="ap"}', T - DAY),  # a group with no series at the end
        ep("other", "checkout", T - DAY),  # another SLO's
    ]
    got = asyncio.run(reviews(GroupedSource(), [SHOP], recorded, T - 7 * DAY, T, drawn=False))
    rows = {r.slo: r for r in got}
    assert list(rows) == [EU, US, 'shop{region="ap"}']
    found = [sorted(e.id for e in r.episodes) for r in rows.values()]
    assert found == [["e1", "e2"], ["u1"], ["ap"]]
    assert rows[EU].error_ratio == 0.002
    assert rows['shop{region="ap"}'].error_ratio is None
    assert rows['shop{region="ap"}'].group == {"region": "ap"}
    assert all(r.graphs is None for r in got)


class TenantSource(GroupedSource):
    """Also records the tenant each query is asked in."""

    def __init__(self) -> None:
        super().__init__()
        self.tenants: list[str | None] = []

    async def query(self, expr: str, at: float) -> list[Sample]:
        self.tenants.append(QUERY_TENANT.get())
        return await super().query(expr, at)

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        self.tenants.append(QUERY_TENANT.get())
        return await super().query_range(expr, start, end, step)


def test_every_read_of_an_slo_is_asked_in_its_tenant() -> None:
    """An SLO of another Mimir/Cortex tenant is reported from that tenant's series, as the
    daemon evaluates it: its ratios, onsets and graphs."""
    source = TenantSource()
    mine = dataclasses.replace(SHOP, tenant="team-a")
    recorded = [EpisodeRecord(id="e1", slo=EU, declared_at=T - DAY, resolved_at=T, peak="SEV2")]
    asyncio.run(reviews(source, [mine], recorded, T - 7 * DAY, T, drawn=True))
    assert len(source.tenants) >= 3
    assert set(source.tenants) == {"team-a"}
