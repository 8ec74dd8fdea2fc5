"""The reliability review (sloguard.report): episodes, timings and ordering. Pure."""

from __future__ import annotations

import json

import pytest

from sloguard.charts import Line, TierLines
from sloguard.model import SLO, RatioIndicator
from sloguard.periods import Calendar, CalendarUnit
from sloguard.records import EpisodeRecord, Transition
from sloguard.report import (
    Graphs,
    as_html,
    as_json,
    as_markdown,
    build,
    group_labels,
    onset,
    render,
    review,
)

DAY = 86400
START = 1_717_200_000.0  # 2024-06-01
END = START + 28 * DAY  # four weeks
SLO_ = SLO("checkout-availability", "checkout", 99.9, 30 * DAY, RatioIndicator("e", "t"))


def episode(
    id_: str, declared: float, peak: str, burn_seconds: float, pages: int, resolved: float | None
) -> EpisodeRecord:
    paged = [
        Transition(declared + i, "declared" if i == 0 else "escalated", peak, None, True, "")
        for i in range(pages)
    ]
    ticket = Transition(declared, "declared", "SEV3", None, True, "")  # a ticket is no page
    transitions = (*paged, ticket)
    return EpisodeRecord(
        id=id_, slo=SLO_.name, declared_at=declared, resolved_at=resolved, peak=peak,
        transitions=transitions, burn_started_at=declared - 60, burn_seconds=burn_seconds,
    )  # fmt: skip


EPISODES = [
    episode("before", START - DAY, "SEV1", 9e9, 1, START - DAY + 600),  # outside the period
    episode("small", START + DAY, "SEV2", 0.02 * 30 * DAY, 1, START + DAY + 1800),
    episode("big", START + 2 * DAY, "SEV1", 0.10 * 30 * DAY, 2, START + 2 * DAY + 3600),
    episode("open", START + 27 * DAY, "SEV3", 0.01 * 30 * DAY, 0, None),
]


def test_review_of_a_period() -> None:
    r = review(SLO_.name, SLO_, 0.0005, EPISODES, START, END)
    assert r.availability_percent == pytest.approx(99.95)
    assert r.met is True
    assert r.budget_spent == pytest.approx(0.5 * 28 / 30)  # 0.5x for 28 of 30 days
    assert [e.id for e in r.episodes] == ["big", "small", "open"]  # most budget first
    big = r.episodes[0]
    assert big.budget_spent == pytest.approx(0.10)
    assert (big.time_to_detect_seconds, big.time_to_resolve_seconds) == (60, 3600)
    assert r.episodes[2].time_to_resolve_seconds is None
    assert r.episodes_by_severity == {"SEV1": 1, "SEV2": 1, "SEV3": 1}
    assert r.pages_per_week == pytest.approx(3 / 4)  # 2 + 1 pages over four weeks


@pytest.mark.parametrize(
    ("ratios", "order"),
    [
        pytest.param({"a": 0.0001, "b": 0.002, "c": None}, ["b", "a", "c"], id="worst-first"),
        pytest.param({"a": 0.001, "b": 0.001}, ["a", "b"], id="ties-by-name"),
    ],
)
def test_worst_first(ratios: dict[str, float | None], order: list[str]) -> None:
    reviews = [review(k, SLO_, v, [], START, END) for k, v in ratios.items()]
    assert [r.slo for r in build(START, END, reviews).slos] == order


def test_renderings() -> None:
    report = build(START, END, [review(SLO_.name, SLO_, 0.002, EPISODES, START, END)])
    body = json.loads(render(report, "json"))
    assert body == json.loads(json.dumps(as_json(report)))
    assert body["from"] == "2024-06-01T00:00:00Z"
    assert body["slos"][0]["objective_met"] is False
    md = as_markdown(report)
    assert (
        "| checkout-availability | 99.800% | 99.9% | 186.7% | 1 SEV1, 1 SEV2, 1 SEV3 | 0.8 |" in md
    )
    assert "| checkout-availability | big | SEV1 | 10.0% | 1m | 1h | 2 |" in md
    assert "<td>big</td>" in render(report, "html")


@pytest.mark.parametrize(
    ("ratios", "expected"),
    [
        pytest.param([0.0005, 0.0005, 0.5, 1.0, 1.0], 120.0, id="last-run-start"),
        pytest.param([0.5, 0.0005, 0.5, 0.5], 120.0, id="an-earlier-run-does-not-count"),
        pytest.param([0.5, 0.5], 0.0, id="burning-from-the-first-point"),
        pytest.param([0.5, 0.0005], None, id="not-burning-at-the-end"),
        pytest.param([], None, id="no-points"),
    ],
)
def test_onset(ratios: list[float], expected: float | None) -> None:
    assert onset([(60.0 * i, r) for i, r in enumerate(ratios)], 0.001) == expected


def test_time_to_detect_from_the_data_onset() -> None:
    r = review(SLO_.name, SLO_, 0.001, EPISODES, START, END, {"big": START + 2 * DAY - 300})
    big = next(e for e in r.episodes if e.id == "big")
    assert big.time_to_detect_seconds == 300  # not the 60 s the daemon saw


@pytest.mark.parametrize(
    ("key", "labels"),
    [
        pytest.param("checkout-availability", {}, id="ungrouped"),
        pytest.param('shop{service="ledger"}', {"service": "ledger"}, id="one-label"),
        pytest.param('shop{region="eu",tier=""}', {"region": "eu", "tier": ""}, id="two-labels"),
    ],
)
def test_group_labels(key: str, labels: dict[str, str]) -> None:
    assert group_labels(key) == labels


GRAPHS = Graphs(
    Line("30d", tuple((START + 3600 * i, 1.0 - 0.01 * i) for i in range(10))),
    tuple(
        TierLines(
            sev,
            Line("1h", tuple((START + 3600 * i, 20.0 * (i % 2)) for i in range(10))),
            Line("5m", tuple((START + 3600 * i, 5.0) for i in range(10))),
            14.4,
        )
        for sev in ("SEV1", "SEV2")
    ),
)


def test_a_group_is_a_row_of_its_own() -> None:
    key = 'checkout-availability{region="eu"}'
    report = build(START, END, [review(key, SLO_, 0.002, [], START, END)])
    (row,) = as_json(report)["slos"]
    assert (row["slo"], row["name"], row["group"]) == (key, SLO_.name, {"region": "eu"})
    assert f"| {key} | 99.800% |" in as_markdown(report)


def test_html_draws_each_key_inline_and_escapes() -> None:
    hostile = 'checkout-availability{region="<script>alert(1)</script>"}'
    reviews = [
        review(hostile, SLO_, 0.002, EPISODES, START, END, graphs=GRAPHS),
        review(SLO_.name, SLO_, None, [], START, END),
    ]
    page = as_html(build(START, END, reviews))
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    assert page.count('<svg class="budget-history"') == 1
    assert page.count('<svg class="tier-history"') == 2
    assert page.count("<polyline") == 1 + 2 * 2
    assert 'aria-label="SEV1 burn rate over time"' in page
    assert '<h4 class="tier-title">SEV2: 1h and 5m, threshold 14.4x</h4>' in page
    assert "No graphs (an SLO without burn tiers or budget)." in page  # nothing to draw
    assert "<style>" in page  # self-contained: nothing to fetch
    assert "http" not in page


JUNE, JULY = START, START + 30 * DAY  # 2024-06-01 and 2024-07-01, UTC
MONTHLY = SLO(
    "checkout-monthly", "checkout", 99.9, 30 * DAY, RatioIndicator("e", "t"),
    calendar=Calendar(CalendarUnit.MONTH),
)  # fmt: skip


@pytest.mark.parametrize(
    ("start", "end", "spent", "label"),
    [
        pytest.param(JUNE, JULY, 0.5, "checkout-monthly (June 2024)", id="whole-june"),
        pytest.param(
            JUNE,
            JUNE + 10 * DAY,
            0.5 * 10 / 30,
            "checkout-monthly (June 2024, 2024-06-01T00:00:00Z to 2024-06-11T00:00:00Z)",
            id="first-ten-days",
        ),
        pytest.param(
            JULY,
            JULY + 31 * DAY,
            0.5,
            "checkout-monthly (July 2024)",
            id="whole-july-its-31-days",
        ),
    ],
)
def test_a_calendar_row_spends_its_own_periods_budget(
    start: float, end: float, spent: float, label: str
) -> None:
    r = review(MONTHLY.name, MONTHLY, 0.0005, [], start, end)
    assert r.budget_spent == pytest.approx(spent)
    assert r.label == label
    assert r.span == (start, end)
    assert f"| {label} |" in as_markdown(build(start, end, [r]))
    row = as_json(build(start, end, [r]))["slos"][0]
    assert row["calendar_period"]["name"] == label.split("(", 1)[1].rstrip(")")


def test_an_episode_of_a_calendar_slo_spends_its_months_budget() -> None:
    first = episode("july", JULY + DAY, "SEV1", 0.1 * 31 * DAY, 1, None)
    r = review(MONTHLY.name, MONTHLY, 0.0, [first], JULY, JULY + 31 * DAY)
    assert r.episodes[0].budget_spent == pytest.approx(0.1)  # of July's 31 days
