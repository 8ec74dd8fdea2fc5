"""The engine and PrometheusClient against a real Prometheus filled with known incidents.

Expected values come from the generated samples (harness.promserver), not from
Prometheus; expected severities from the SRE Workbook arithmetic in the comments.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

import pytest
from prometheus_api_client import PrometheusConnect

from harness import scenarios as sc
from harness.promserver import (
    DAY,
    HOUR,
    availability_slo,
    latency_slo,
    requests_selector,
)
from sloguard.burn import Evaluation
from sloguard.engine import Engine
from sloguard.model import SLO, RatioIndicator, Severity
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from tests.support.prom import Served

pytestmark = pytest.mark.prometheus
MIN = 60


def evaluate(served: Served, slos: Sequence[SLO], at: float) -> list[Evaluation]:
    async def go() -> list[Evaluation]:
        async with PrometheusClient(PrometheusConfig(url=served.url)) as client:
            return await Engine().evaluate_all(slos, client, at)

    return asyncio.run(go())


def sweep(served: Served, slo: SLO, offsets: Sequence[int]) -> list[Severity]:
    async def go() -> list[Severity]:
        async with PrometheusClient(PrometheusConfig(url=served.url)) as client:
            out = []
            for off in offsets:
                [ev] = await Engine().evaluate_all([slo], client, served.scenario.at(off))
                assert ev.error == ""
                out.append(ev.severity)
            return out

    return asyncio.run(go())


def test_outage_reaches_sev1_within_60_seconds(incidents: Served) -> None:
    slo = availability_slo(incidents.scenario, "checkout")
    offsets = list(range(sc.OUTAGE_START - 60, sc.OUTAGE_START + 121, 15))
    severities = sweep(incidents, slo, offsets)
    first = offsets[severities.index(Severity.SEV1)] - sc.OUTAGE_START
    # 14.4 x 0.001 x 3600 s = 51.8 s of full outage; samples every 15 s -> first seen at 60 s
    assert first == 60
    assert severities[: offsets.index(sc.OUTAGE_START) + 1] == [Severity.OK] * 5
    # (the 3d/6h tier at 1x fires first: this scenario has only 6 h of history before it)


@pytest.mark.parametrize(
    ("offset", "severity"),
    [
        pytest.param(sc.OUTAGE_START + 10 * MIN, Severity.SEV1, id="during-outage"),
        pytest.param(sc.OUTAGE_END + 4 * MIN, Severity.SEV1, id="5m-not-yet-clear"),
        pytest.param(sc.OUTAGE_END + 5 * MIN + 7, Severity.SEV2, id="5m-clear-30m-burning"),
        pytest.param(sc.OUTAGE_END + 29 * MIN, Severity.SEV2, id="30m-not-yet-clear"),
        pytest.param(sc.OUTAGE_END + 30 * MIN + 7, Severity.SEV3, id="30m-clear-2h-burning"),
        pytest.param(sc.OUTAGE_END + 2 * HOUR + 7, Severity.SEV3, id="2h-clear-6h-burning"),
        pytest.param(sc.OUTAGE_END + 6 * HOUR + 7, Severity.OK, id="6h-clear-recovered"),
    ],
)
def test_recovery_drops_severity_as_short_windows_clear(
    incidents: Served, offset: int, severity: Severity
) -> None:
    slo = availability_slo(incidents.scenario, "checkout")
    [ev] = evaluate(incidents, [slo], incidents.scenario.at(offset))
    assert ev.severity is severity


def test_10x_burn_reaches_sev2_but_never_sev1(incidents: Served) -> None:
    slo = availability_slo(incidents.scenario, "search")
    offsets = list(range(sc.BURN10_START - 10 * MIN, sc.BURN10_END + HOUR, 10 * MIN))
    severities = sweep(incidents, slo, offsets)
    assert Severity.SEV1 not in severities
    assert Severity.SEV2 in severities
    # 10x < 14.4 (SEV1) but > 6 (SEV2): held through the end of the burn
    assert severities[offsets.index(sc.BURN10_END - 10 * MIN)] is Severity.SEV2


def test_2x_burn_reaches_sev3_only_after_a_day(slow_burn: Served) -> None:
    # Baseline 0.5x. The 3d window exceeds 1x once 2x has run for x: (2x + 0.5(3d - x)) / 3d > 1,
    # i.e. x > 1 day. The 1d/2h tier (3x) never fires at 2x; 6h (0.5x -> 2x) passed 1x at 2h.
    slo = availability_slo(slow_burn.scenario, "ledger")
    offsets = [
        sc.BURN2_START - HOUR,
        sc.BURN2_START + 12 * HOUR,
        sc.BURN2_START + DAY - 10 * MIN,
        sc.BURN2_START + DAY + 10 * MIN,
        sc.BURN2_START + 2 * DAY - 10 * MIN,
        sc.BURN2_END + 3 * HOUR,  # 6h still above 1x: (2 x 3h + 0.5 x 3h) / 6h = 1.25
        sc.BURN2_END + 4 * HOUR + 10 * MIN,  # 6h clear: (2 x 110m + 0.5 x 250m) / 360m < 1
    ]
    severities = sweep(slow_burn, slo, [o + 7 for o in offsets])
    assert severities == [
        Severity.OK,
        Severity.OK,
        Severity.OK,
        Severity.SEV3,
        Severity.SEV3,
        Severity.SEV3,
        Severity.OK,
    ]


@pytest.mark.parametrize(
    ("offset", "severity"),
    [
        pytest.param(sc.SLOW_START - 10 * MIN, Severity.OK, id="before"),
        # 20 % slow on a 99 % SLO = 20x; the 1h ratio passes 14.4 % after ~43 min
        # 30 min in, the 6h window (2.5 h of history) is at 4.1x < 6: SEV3 (2h/1d at 3x), not SEV2
        pytest.param(sc.SLOW_START + 30 * MIN, Severity.SEV3, id="30m-in-sev3"),
        pytest.param(sc.SLOW_START + 50 * MIN, Severity.SEV1, id="50m-in-sev1"),
    ],
)
def test_latency_slo_on_a_real_histogram(
    incidents: Served, offset: int, severity: Severity
) -> None:
    slo = latency_slo(incidents.scenario, "catalog")
    at = incidents.scenario.at(offset) + 7
    [ev] = evaluate(incidents, [slo], at)
    assert ev.error == ""
    assert ev.severity is severity
    for window, burn in ev.burn_rates.items():
        want = incidents.data.latency_ratio("catalog", 0.25, window, at)
        assert want is not None
        assert burn == pytest.approx(want / slo.budget, rel=1e-9), window


def test_latency_slo_with_a_threshold_that_is_not_a_bucket(incidents: Served) -> None:
    slo = latency_slo(incidents.scenario, "catalog", threshold_seconds=0.3)
    [ev] = evaluate(incidents, [slo], incidents.scenario.at(sc.SLOW_START) + 7)
    assert ev.severity is Severity.NO_DATA
    assert 'no bucket for threshold 0.3s (le="0.3")' in ev.error
    assert 'le="0.25"' in ev.error


def test_zero_traffic_is_no_data(incidents: Served) -> None:
    slo = availability_slo(incidents.scenario, "idle")
    [ev] = evaluate(incidents, [slo], incidents.scenario.at(sc.IDLE_START + 2 * HOUR) + 7)
    assert ev.severity is Severity.NO_DATA
    assert ev.error == ""
    assert ev.burn_rates[300] is None
    assert ev.burn_rates[3600] is None
    assert ev.burn_rates[21600] is not None  # still sees the traffic before the drop


OFFSETS = [sc.OUTAGE_START - 600, sc.OUTAGE_START + 200, sc.OUTAGE_END + 900]


@pytest.mark.parametrize("offset", OFFSETS, ids=[f"+{o}s" for o in OFFSETS])
def test_values_match_the_generated_samples(incidents: Served, offset: int) -> None:
    at = incidents.scenario.at(offset) + 7
    slo = availability_slo(incidents.scenario, "checkout")
    [ev] = evaluate(incidents, [slo], at)
    truth = incidents.data
    for window, burn in ev.burn_rates.items():
        want = truth.error_ratio("checkout", window, at)
        assert want is not None
        assert burn == pytest.approx(want / slo.budget, rel=1e-9), window
    period = truth.error_ratio("checkout", slo.period_seconds, at)
    assert period is not None
    assert ev.error_budget_remaining == pytest.approx(1 - period / slo.budget, rel=1e-9)
    current = ev.burn_rates[300]
    assert current is not None
    remaining = ev.error_budget_remaining
    assert remaining is not None
    expected_tte = 0.0 if remaining <= 0 else remaining * slo.period_seconds / current
    assert ev.time_to_exhaustion_seconds == pytest.approx(expected_tte, rel=1e-9)
    # a second client agrees on the raw number
    other = PrometheusConnect(incidents.url, disable_ssl=True).custom_query(
        slo.error_ratio_query("1h"), params={"time": at}
    )
    assert float(other[0]["value"][1]) / slo.budget == pytest.approx(ev.burn_rates[3600])


def test_grouped_slo_matches_the_per_service_slos(incidents: Served) -> None:
    s = incidents.scenario
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
    at = s.at(sc.OUTAGE_START + 600) + 7
    singles = [availability_slo(s, svc.name) for svc in s.services]
    evs = evaluate(incidents, [grouped, *singles], at)
    by_key = {e.slo: e for e in evs}
    assert [e.slo for e in evs[:4]] == [
        'http{service="catalog"}',
        'http{service="checkout"}',
        'http{service="idle"}',
        'http{service="search"}',
    ]
    for svc in s.services:
        g, single = by_key[f'http{{service="{svc.name}"}}'], by_key[f"{svc.name}-availability"]
        assert g.severity is single.severity
        assert g.burn_rates.keys() == single.burn_rates.keys()
        for label, burn in g.burn_rates.items():
            other = single.burn_rates[label]
            assert burn == (other if other is None else pytest.approx(other, rel=1e-9)), label
    assert by_key['http{service="checkout"}'].severity is Severity.SEV1


def test_bad_slos_fail_alone(incidents: Served) -> None:
    s = incidents.scenario
    several = SLO(
        name="several-series",
        service="x",
        objective_percent=99.9,
        period_seconds=30 * DAY,
        indicator=RatioIndicator(
            errors='sum by (service) (rate(http_requests_total{code="500"}[{{.window}}]))',
            total="sum by (service) (rate(http_requests_total[{{.window}}]))",
        ),
    )
    broken = SLO(
        name="promql-error",
        service="x",
        objective_percent=99.9,
        period_seconds=30 * DAY,
        indicator=RatioIndicator(errors="sum(rate(x[{{.window}}])", total="1"),
    )
    good = availability_slo(s, "checkout")
    evs = evaluate(incidents, [several, broken, good], s.at(sc.OUTAGE_START + 600) + 7)
    assert [e.slo for e in evs] == ["several-series", "promql-error", "checkout-availability"]
    assert "returned 4 series where one was expected" in evs[0].error
    assert "bad_data" in evs[1].error
    assert "query: " in evs[1].error
    assert evs[2].severity is Severity.SEV1
    assert evs[2].error == ""
    assert [e.severity for e in evs[:2]] == [Severity.NO_DATA, Severity.NO_DATA]


def test_absent_errors_series_with_traffic_is_zero_errors(incidents: Served) -> None:
    """Client libraries create a ``code="5xx"`` series only on the first error: a service that
    never failed has no errors series at all. With traffic flowing that is 0 % errors (OK), not
    NO_DATA; without traffic it stays NO_DATA."""
    base = availability_slo(incidents.scenario, "checkout")
    never = 'code="599"'  # a code no request ever had: the series does not exist
    errors = (
        "sum(rate(" + requests_selector(incidents.scenario, "checkout", never) + "[{{.window}}]))"
    )
    assert isinstance(base.indicator, RatioIndicator)
    slo = replace(
        base, name="checkout-never-failed", indicator=replace(base.indicator, errors=errors)
    )
    [ev] = evaluate(incidents, [slo], incidents.scenario.at(sc.OUTAGE_START - 600) + 7)
    assert ev.error == ""
    assert ev.severity is Severity.OK
    assert ev.burn_rates[300] == 0.0
    assert ev.error_budget_remaining == 1.0

    idle = availability_slo(incidents.scenario, "idle")
    errors = "sum(rate(" + requests_selector(incidents.scenario, "idle", never) + "[{{.window}}]))"
    assert isinstance(idle.indicator, RatioIndicator)
    idle = replace(idle, indicator=replace(idle.indicator, errors=errors))
    [ev] = evaluate(incidents, [idle], incidents.scenario.at(sc.IDLE_START + 2 * HOUR) + 7)
    assert ev.severity is Severity.NO_DATA
    assert ev.burn_rates[300] is None
