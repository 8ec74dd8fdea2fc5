"""The fast path: SLOs about to page are re-evaluated between the regular ticks.

The choice itself (sloguard.fastpath) is pure and tested as tables; the fast Tick runs
over scripted evaluations and a real store; the last test drives it over a real Prometheus
through the backfilled checkout outage and checks the page lands at the first scrape that
crosses, not at the next regular tick.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from harness import scenarios as sc
from harness.receivers import PagerDutyReceiver
from sloguard.app import Parts, open_daemon
from sloguard.burn import Evaluation, WindowReading, evaluate
from sloguard.clock import ManualClock
from sloguard.config import load_config, parse_config
from sloguard.delivery import Deliverer
from sloguard.engine import AUTO_DIRECT_MAX_SLOS, Engine, auto_direct_windows, plan_slo
from sloguard.errors import ConfigError, QueryError
from sloguard.fastpath import Heat, approach, choose, heat
from sloguard.model import SLO, RatioIndicator, Severity, Tier
from sloguard.paging import PagingPolicy, slo_for, slo_index
from sloguard.ports import Sample, Series, Source
from sloguard.prometheus.client import PrometheusClient
from sloguard.routing import Route
from sloguard.store import Store
from sloguard.tick import Tick
from tests.support.e2e import ROUTING_KEY, slo_yaml
from tests.support.fakes import FakeNotifier
from tests.support.prom import Served
from tests.support.sources import Counting

T0 = 1_704_067_200.0


def slo(name: str) -> SLO:
    return SLO(
        name=name,
        service=name,
        objective_percent=99.9,
        period_seconds=30 * 86400,
        indicator=RatioIndicator("e", "t"),
    )


CHECKOUT, SEARCH, LEDGER = slo("checkout"), slo("search"), slo("ledger")
# Burn rates per window (seconds); every other window of the default tiers burns 0.5x.
QUIET = {300: 0.5, 1800: 0.5, 3600: 0.5, 7200: 0.5, 21600: 0.5, 86400: 0.5, 259200: 0.5}


def burning(s: SLO, at: float, key: str | None = None, **burns: float) -> Evaluation:
    """An evaluation of ``s`` with the given burn rates (``w300=20`` is the 5m window)."""
    rates = QUIET | {int(k[1:]): v for k, v in burns.items()}
    readings = {w: WindowReading(rates[w] * s.budget, 1e6) for w in s.window_seconds}
    return evaluate(s, readings, WindowReading(0.0001, 1e9), at, key=key)


# --- the choice, pure ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("burns", "expected"),
    [
        pytest.param({}, 0.0, id="calm"),
        pytest.param({"w300": 28.8}, 2.0, id="5m-over-14.4x-1h-not: approaching SEV1"),
        pytest.param({"w300": 28.8, "w3600": 20.0}, 0.0, id="SEV1 firing: nothing above"),
        pytest.param({"w1800": 12.0}, 2.0, id="30m-over-6x: approaching SEV2"),
        pytest.param(
            {"w300": 28.8, "w1800": 12.0, "w21600": 7.0}, 2.0, id="SEV2 firing, SEV1 approaching"
        ),
        pytest.param({"w7200": 10.0}, 0.0, id="SEV3's short window: a ticket, not a page"),
        pytest.param({"w300": 14.4}, 0.0, id="exactly the factor is not over it"),
    ],
)
def test_approach(burns: dict[str, float], expected: float) -> None:
    assert approach(burning(CHECKOUT, T0, None, **burns)) == pytest.approx(expected)


def test_heat_names_the_slo_of_a_grouped_key_and_its_open_episode() -> None:
    ev = burning(CHECKOUT, T0, key='checkout{region="eu"}', w300=28.8)
    got = heat(
        [ev, burning(SEARCH, T0)],
        {"search": Severity.SEV2, "gone": Severity.SEV1},
        {'checkout{region="eu"}': "checkout", "search": "search"},
    )
    assert got == {
        "checkout": Heat(approach=2.0, tripwires=frozenset({(3600, 14.4)})),
        "search": Heat(open_severity=Severity.SEV2),
    }


@pytest.mark.parametrize(
    ("heats", "limit", "fast", "direct", "left_out"),
    [
        pytest.param({}, 5, set(), set(), 0, id="nothing burns"),
        pytest.param(
            {"a": Heat(3.0), "b": Heat(1.5), "c": Heat(open_severity=Severity.SEV1)},
            5,
            {"a", "b"},
            {"a", "b", "c"},
            0,
            id="approaching are fast; open ones are only read directly",
        ),
        pytest.param(
            {"a": Heat(3.0), "b": Heat(1.5), "c": Heat(9.0)},
            2,
            {"c", "a"},
            {"c", "a"},
            1,
            id="the hottest first, within the limit",
        ),
        pytest.param(
            {
                "a": Heat(2.0),
                "s3": Heat(open_severity=Severity.SEV3),
                "s1": Heat(open_severity=Severity.SEV1),
            },
            2,
            {"a"},
            {"a", "s1"},
            1,
            id="open episodes by severity fill the rest",
        ),
    ],
)
def test_choose(
    heats: dict[str, Heat], limit: int, fast: set[str], direct: set[str], left_out: int
) -> None:
    got = choose(heats, limit)
    assert (set(got.fast), set(got.direct), got.left_out) == (fast, direct, left_out)


# --- the fast tick ----------------------------------------------------------------------


class Burns:
    """An ``evaluate`` answering from a table (SLO name -> burn rates), recording its calls."""

    def __init__(self, table: dict[str, dict[str, float]], calls: list[tuple[str, ...]]) -> None:
        self.table = table
        self.calls = calls

    async def __call__(self, slos: Sequence[SLO], source: Source, at: float) -> list[Evaluation]:
        self.calls.append(tuple(s.name for s in slos))
        return [burning(s, at, None, **self.table.get(s.name, {})) for s in slos]


def make_daemon(
    tmp_path: Path, table: dict[str, dict[str, float]], pd: FakeNotifier
) -> tuple[Parts, list[tuple[str, ...]], list[tuple[str, ...]], ManualClock]:
    clock = ManualClock(T0)
    store = Store.open(tmp_path / "state.db")
    regular: list[tuple[str, ...]] = []
    direct: list[tuple[str, ...]] = []

    async def crossing(
        tripwires: Sequence[tuple[SLO, Iterable[tuple[int, float]]]], source: Source, at: float
    ) -> set[str]:
        checked.append(tuple(s.name for s, _ in tripwires))
        return {
            s.name
            for s, windows in tripwires
            for w, factor in windows
            if (QUIET | {int(k[1:]): v for k, v in table.get(s.name, {}).items()})[w] > factor
        }

    checked: list[tuple[str, ...]] = []
    tick = Tick(
        slos=[CHECKOUT, SEARCH, LEDGER],
        source=object(),  # type: ignore[arg-type]  # the table never queries it
        evaluate=Burns(table, regular),
        evaluate_direct=Burns(table, direct),
        paging=PagingPolicy(routes=(Route(("pd",)),)),
        store=store,
        clock=clock,
        fast_path_max_slos=25,
        crossed=crossing,
    )
    d = Parts(tick, Deliverer(store, {"pd": pd}, clock, rng=random.Random(1)))
    d.checked = checked  # type: ignore[attr-defined]  # the tripwires the fake was asked
    return d, regular, direct, clock


def test_a_fast_tick_reads_only_the_approaching_slo_directly_and_pages_it(
    tmp_path: Path,
) -> None:
    pd = FakeNotifier("pd", "pagerduty")
    table: dict[str, dict[str, float]] = {
        "checkout": {"w300": 28.8},  # 5m over 14.4x, 1h not yet
        "ledger": {"w1800": 10.0, "w21600": 10.0},  # SEV2 firing: an open episode
    }
    d, regular, direct, clock = make_daemon(tmp_path, table, pd)

    async def drive() -> None:
        first = await d.once(T0)
        assert {s.key: s.severity for s in first.slos} == {
            "checkout": Severity.OK,
            "search": Severity.OK,
            "ledger": Severity.SEV2,
        }
        assert (d.tick.fast_path.choice.fast, d.tick.fast_path.choice.direct) == (
            frozenset({"checkout"}),
            frozenset({"checkout", "ledger"}),
        )
        assert regular == [("checkout", "search", "ledger")]
        assert direct == []

        assert d.tick.fast_path.choice.tripwires == {
            "checkout": {(3600, 14.4)}
        }  # SEV1's 1h against 14.4x

        # A fast tick checks checkout's 1h only: not crossed yet, so nothing is evaluated.
        clock.set(T0 + 5)
        report = await d.run_tick(T0 + 5, fast=True)
        assert report.slos == ()
        assert report.fast
        assert d.checked == [("checkout",)]  # type: ignore[attr-defined]
        assert direct == []
        assert len(regular) == 1
        # The 1h window crosses: the next fast tick declares, before any regular tick.
        table["checkout"]["w3600"] = 15.0
        clock.set(T0 + 10)
        report = await d.run_tick(T0 + 10, fast=True)
        assert [(s.key, s.severity) for s in report.slos] == [("checkout", Severity.SEV1)]
        assert direct == [("checkout",)]  # crossed: evaluated in full, from the raw counters
        await d.deliver()
        assert pd.kinds == ["declared", "declared"]  # ledger's SEV2 at T0, checkout's SEV1 now
        assert (
            d.tick.fast_path.choice.fast == frozenset()
        )  # SEV1 fires: nothing above it to approach
        assert d.tick.fast_path.choice.direct == {
            "checkout",
            "ledger",
        }  # open: read directly until resolved

        # The regular tick reads the open episodes directly, the rest as configured.
        clock.set(T0 + 30)
        report = await d.once(T0 + 30)
        assert regular[-1] == ("search",)
        assert direct[-1] == ("checkout", "ledger")
        assert [s.key for s in report.slos] == ["checkout", "search", "ledger"]  # SLO order

    asyncio.run(drive())


def test_a_fast_tick_never_feeds_gaps_to_other_open_episodes(tmp_path: Path) -> None:
    pd = FakeNotifier("pd", "pagerduty")
    table = {"checkout": {"w300": 28.8}, "ledger": {"w300": 20.0, "w3600": 20.0}}
    d, _, _, clock = make_daemon(tmp_path, table, pd)

    async def drive() -> None:
        await d.once(T0)
        ledger_before = d.tick.store.load_states()["ledger"]
        table["checkout"]["w3600"] = 15.0  # crosses: the fast tick evaluates checkout
        clock.set(T0 + 5)
        report = await d.run_tick(T0 + 5, fast=True)
        assert [s.key for s in report.slos] == ["checkout"]
        assert d.tick.store.load_states()["ledger"] == ledger_before  # untouched: no gap, no stale

    asyncio.run(drive())


def test_the_fast_path_off_changes_nothing(tmp_path: Path) -> None:
    pd = FakeNotifier("pd", "pagerduty")
    d, regular, direct, _ = make_daemon(tmp_path, {"checkout": {"w300": 28.8}}, pd)
    d.tick.fast_path.limit = 0
    asyncio.run(d.once(T0))
    assert d.tick.fast_path.choice.fast == frozenset()
    assert direct == []
    assert len(regular) == 1


# --- configuration ------------------------------------------------------------------------

BASE = 'prometheus: {url: "http://127.0.0.1:9090"}\nslo_paths: [slos/]\nstate_path: s.db\n'


def test_fast_path_defaults() -> None:
    config = parse_config(BASE)
    assert (config.fast_path.interval_seconds, config.fast_path.max_slos) == (1.0, 10)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(
            "interval_seconds: 10\nfast_path: {interval_seconds: 10}\n",
            "sloguard.yaml:5:13: error: fast_path.interval_seconds: 10 is not shorter than "
            "interval_seconds (10)",
            id="not-shorter",
        ),
        pytest.param(
            "fast_path: {max_slos: 0}\n",
            "sloguard.yaml:4:13: error: fast_path.max_slos: Input should be greater than or "
            "equal to 1",
            id="max-slos-zero",
        ),
        pytest.param(
            "recorded_series: {mode: 'off', direct_windows_max_seconds: 3600}\n",
            "sloguard.yaml:4:32: error: recorded_series.direct_windows_max_seconds: has no "
            "effect with recorded_series.mode: off",
            id="direct-windows-without-recorded-mode",
        ),
    ],
)
def test_fast_path_config_errors_are_located(extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + extra, "sloguard.yaml")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("extra", "effective"),
    [
        pytest.param("", 1.0, id="default"),
        pytest.param("fast_path: {interval_seconds: 0}\n", 0.0, id="zero-turns-it-off"),
        pytest.param("interval_seconds: 1\n", 0.0, id="default-not-shorter-than-ticks: off"),
        pytest.param("interval_seconds: 10\nfast_path: {interval_seconds: 5}\n", 5.0, id="5s"),
    ],
)
def test_the_fast_path_interval_in_effect(extra: str, effective: float) -> None:
    assert parse_config(BASE + extra).fast_path_interval_seconds == effective


# --- over a real Prometheus ---------------------------------------------------------------


@pytest.mark.prometheus
def test_the_outage_pages_at_the_first_scrape_that_crosses_not_at_the_next_tick(
    incidents: Served, tmp_path: Path
) -> None:
    """The checkout outage starts at OUTAGE_START (samples every 15 s): the 5m window is over
    14.4x from the first errored scrape, the 1h window crosses with the sample at +60 s. With
    regular ticks at +20 and +50 alone the page would wait for +80; the fast path pages at +60,
    asking only checkout's queries in between."""
    scenario = incidents.scenario
    t = scenario.at(sc.OUTAGE_START)
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "slos.yaml").write_text(slo_yaml(scenario.job))
    (tmp_path / "pd").write_text(ROUTING_KEY)
    with PagerDutyReceiver(routing_keys=[ROUTING_KEY]) as receiver:
        (tmp_path / "sloguard.yaml").write_text(
            f'prometheus: {{url: "{incidents.url}"}}\nslo_paths: [slos/]\n'
            "state_path: state.db\ninterval_seconds: 30\n"
            "notifiers: [{name: pd, type: pagerduty, routing_key_file: pd, "
            f'url: "{receiver.enqueue_url}"}}]\n'
            "routes: [{notifiers: [pd]}]\n"
        )
        config = load_config(tmp_path / "sloguard.yaml")
        clock = ManualClock(t - 60)

        async def drive() -> list[tuple[int, Severity]]:
            pages: list[tuple[int, Severity]] = []  # (offset, severity) of checkout's pages
            schedule = [(-60, False), (20, False), *((o, True) for o in range(25, 80, 5))]
            async with PrometheusClient(config.prometheus) as client:
                source = Counting(client)
                async with open_daemon(config, clock=clock, source=source) as d:
                    for offset, fast in schedule:
                        clock.set(t + offset)
                        source.asked.clear()
                        report = await d.run_tick(t + offset, fast=fast)
                        await d.deliver()
                        pages += [
                            (offset, e.severity)
                            for r in report.slos
                            for e in r.events
                            if r.key == "checkout-availability" and e.notify
                        ]
                        if fast:  # checkout's queries only
                            assert source.asked
                            assert all('service="checkout"' in q for q in source.asked)
                        if offset == 20:
                            assert d.tick.fast_path.choice.fast == {"checkout-availability"}
                        if pages and pages[-1][1] is Severity.SEV1:
                            # SEV1 fires: nothing above it to approach
                            assert not d.tick.fast_path.choice.fast
                            break
            return pages

        # The 2h window's SEV3 ticket at +20 (the regular tick), the SEV1 page at +60.
        assert asyncio.run(drive()) == [(20, Severity.SEV3), (60, Severity.SEV1)]
        checkout = [
            a.json for a in receiver.accepted() if "checkout" in a.json["payload"]["summary"]
        ]
        assert [c["payload"]["severity"] for c in checkout] == ["warning", "critical"]
        assert len({c["dedup_key"] for c in checkout}) == 1  # one incident, escalated


# --- the tripwire check (engine.crossed) --------------------------------------------------


class Canned:
    """A Source answering each expression from a table; an unknown one is a query error."""

    def __init__(self, answers: dict[str, list[Sample]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def query(self, expr: str, at: float) -> list[Sample]:
        self.asked.append(expr)
        if expr not in self.answers:
            raise QueryError("bad_data: parse error", query=expr)
        return self.answers[expr]

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        raise AssertionError("not used")


def test_the_tripwire_check_asks_one_query_per_long_window_and_finds_the_group_over_it() -> None:
    grouped = dataclasses.replace(
        CHECKOUT,
        name="by-region",
        group_by=("region",),
        indicator=RatioIndicator("sum(g_errors)", "sum(g_total)"),
    )
    thin = dataclasses.replace(SEARCH, min_events=1000, indicator=RatioIndicator("th_e", "th_t"))
    ratio_1h = plan_slo(grouped).ratio[3600]
    thin_ratio, thin_total = plan_slo(thin).ratio[3600], plan_slo(thin).total[3600]
    source = Canned(
        {
            ratio_1h: [Sample({"region": "eu"}, 0.001), Sample({"region": "us"}, 0.02)],
            thin_ratio: [Sample({}, 0.5)],  # 500x, but over 0.1 events/s x 1h = 360 events
            thin_total: [Sample({}, 0.1)],
        }
    )
    broken = dataclasses.replace(LEDGER, indicator=RatioIndicator("broken", "t"))
    tripwires = [(grouped, {(3600, 14.4)}), (thin, {(3600, 14.4)}), (broken, {(3600, 14.4)})]
    got = asyncio.run(Engine().crossed(tripwires, source, T0))
    assert got == {"by-region"}  # us burns 20x; the thin window and the failed query do not
    assert sorted(source.asked) == sorted(
        [ratio_1h, thin_ratio, thin_total, plan_slo(broken).ratio[3600]]
    )


# --- recorded mode: the paging short window read directly in small fleets ---------------


@pytest.mark.parametrize(
    ("slos", "expected"),
    [
        pytest.param([CHECKOUT, SEARCH], 300, id="default tiers: the SEV1 tier's 5m"),
        pytest.param(
            [dataclasses.replace(CHECKOUT, tiers=(Tier(Severity.SEV2, 21600, 1800, 5.0),))],
            1800,
            id="only a SEV2 tier: its 30m",
        ),
        pytest.param(
            [dataclasses.replace(CHECKOUT, tiers=(Tier(Severity.SEV3, 86400, 7200, 10.0),))],
            0,
            id="tickets only: nothing to page fast",
        ),
        pytest.param([CHECKOUT] * (AUTO_DIRECT_MAX_SLOS + 1), 0, id="a large fleet: all recorded"),
        pytest.param([], 0, id="no SLOs"),
    ],
)
def test_auto_direct_windows(slos: list[SLO], expected: int) -> None:
    assert auto_direct_windows(slos) == expected


def test_recorded_series_direct_windows_default_is_auto() -> None:
    assert parse_config(BASE).recorded_series.direct_windows_max_seconds is None
    explicit = parse_config(BASE + "recorded_series: {direct_windows_max_seconds: 0}\n")
    assert explicit.recorded_series.direct_windows_max_seconds == 0


# --- which SLO an evaluation key belongs to ------------------------------------------------


@pytest.mark.parametrize(
    ("key", "owner"),
    [
        pytest.param("checkout", "checkout", id="an ungrouped SLO's own name"),
        pytest.param('checkout{region="eu"}', "checkout", id="a group of a grouped SLO"),
        pytest.param('checkout{region="{odd}"}', "checkout", id="braces inside a label value"),
        pytest.param("checkout-2", None, id="a removed SLO whose name starts like another's"),
        pytest.param('checkout-2{region="eu"}', None, id="a group of such a removed SLO"),
        pytest.param("gone", None, id="a removed SLO"),
    ],
)
def test_slo_for_finds_the_owner_by_name_not_by_prefix(key: str, owner: str | None) -> None:
    index = slo_index([CHECKOUT, SEARCH, LEDGER])
    found = slo_for(index, key)
    assert (found.name if found is not None else None) == owner
