"""Table tests of the pure burn-rate core against the SRE Workbook and Sloth numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest

from sloguard.burn import NO_READING, TierState, WindowReading, decide_tier, evaluate
from sloguard.durations import DurationError, format_duration, parse_duration
from sloguard.model import DEFAULT_TIERS, SLO, RatioIndicator, Severity, Tier

DAY = 86400


def slo(objective: float = 99.9, period_days: int = 30, min_events: float = 0.0) -> SLO:
    return SLO(
        name="checkout-availability",
        service="checkout",
        objective_percent=objective,
        period_seconds=period_days * DAY,
        indicator=RatioIndicator("e", "t"),
        min_events=min_events,
    )


@pytest.mark.parametrize(
    ("period_days", "expected"),
    [
        pytest.param(30, [14.4, 6.0, 3.0, 1.0], id="30d-workbook"),
        pytest.param(28, [13.44, 5.6, 2.8, 0.9333333333333333], id="28d-sloth"),
    ],
)
def test_factors_follow_budget_period_and_long_window(
    period_days: int, expected: list[float]
) -> None:
    got = [t.factor(period_days * DAY) for t in DEFAULT_TIERS]
    assert got == pytest.approx(expected, rel=1e-12)


def _outage_readings(s: SLO, seconds_in: float) -> dict[int, WindowReading]:
    """The readings ``seconds_in`` after a 100 % outage starts on a clean SLO: the 5m window
    is all errors, every longer window holds ``seconds_in`` errored seconds of its length."""
    return {w: WindowReading(1.0 if w == 300 else seconds_in / w, 1e6) for w in s.window_seconds}


@pytest.mark.parametrize(
    ("seconds_in", "severity"),
    [
        pytest.param(30.0, Severity.OK, id="30s-in-1h-at-8.3x"),
        pytest.param(51.8, Severity.OK, id="51.8s-in-1h-just-below-14.4x"),
        pytest.param(51.9, Severity.SEV1, id="51.9s-in-1h-just-above-14.4x"),
        pytest.param(60.0, Severity.SEV1, id="60s-in-1h-at-16.7x"),
    ],
)
def test_outage_crosses_sev1_after_51_8_seconds(seconds_in: float, severity: Severity) -> None:
    # 100 % errors on a 99.9 % SLO: the 1h ratio is t/3600, so SEV1's 14.4x (14.4 * 0.001 * 3600
    # = 51.84 s) is crossed between 51.8 s and 51.9 s; the 6h/30m tier (6x) stays clear.
    s = slo()
    period = WindowReading(seconds_in / s.period_seconds, 1e9)
    ev = evaluate(s, _outage_readings(s, seconds_in), period, at=seconds_in)
    assert ev.severity is severity


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5m", 300),
        ("1h30m", 5400),
        ("30d", 30 * DAY),
        ("2w", 14 * DAY),
        ("1500ms", None),
        ("90s", 90),
    ],
)
def test_parse_duration(text: str, seconds: int | None) -> None:
    if seconds is None:
        with pytest.raises(DurationError, match="whole number of seconds"):
            parse_duration(text)
    else:
        assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30x", "", "5", "m5", "30m1h", "1h1h", "0s", "-5m", "5 m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(300, "5m"), (86400, "1d"), (5400, "1h30m"), (259200, "3d")]
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("long", "short", "state"),
    [
        pytest.param(15.0, 15.0, TierState.FIRING, id="both-above"),
        pytest.param(15.0, 14.4, TierState.CLEAR, id="short-at-factor-is-not-above"),
        pytest.param(1.0, None, TierState.CLEAR, id="long-clear-short-unknown"),
        pytest.param(None, 1.0, TierState.CLEAR, id="long-unknown-short-clear"),
        pytest.param(20.0, None, TierState.UNKNOWN, id="long-above-short-unknown"),
        pytest.param(None, None, TierState.UNKNOWN, id="both-unknown"),
    ],
)
def test_decide_tier(long: float | None, short: float | None, state: TierState) -> None:
    tier = Tier(Severity.SEV1, 3600, 300, 2.0)
    assert decide_tier(tier, 14.4, long, short) is state


def _uniform(
    s: SLO, ratios: Mapping[int, float | None], events: float = 1e6
) -> dict[int, WindowReading]:
    return {w: WindowReading(ratios.get(w), events) for w in s.window_seconds}


@pytest.mark.parametrize(
    ("ratios", "severity"),
    [
        pytest.param({300: 1.0, 3600: 0.0145}, Severity.SEV1, id="fast-burn-sev1"),
        pytest.param({300: 1.0, 3600: 0.01439}, Severity.OK, id="just-below-factor-does-not-fire"),
        pytest.param(
            {300: 0.01, 1800: 0.01, 3600: 0.01, 21600: 0.01}, Severity.SEV2, id="10x-sev2"
        ),
        pytest.param(
            {7200: 0.002, 86400: 0.0031, 21600: 0.002, 259200: 0.002}, Severity.SEV3, id="slow-sev3"
        ),
    ],
)
def test_severity_table(ratios: dict[int, float], severity: Severity) -> None:
    s = slo()
    full = {w: ratios.get(w, 0.0) for w in s.window_seconds}
    ev = evaluate(s, _uniform(s, full), WindowReading(0.0005, 1e9), at=0.0)
    assert ev.severity is severity


def test_no_data_is_not_healthy_and_not_an_outage() -> None:
    s = slo()
    ev = evaluate(s, {}, None, at=0.0)
    assert ev.severity is Severity.NO_DATA
    assert all(v is None for v in ev.burn_rates.values())
    assert ev.error_budget_remaining is None


@pytest.mark.parametrize("value", [math.nan, math.inf, None])
def test_nan_inf_missing_count_as_no_data(value: float | None) -> None:
    s = slo()
    ev = evaluate(s, {w: WindowReading(value, 1e6) for w in s.window_seconds}, NO_READING, at=0.0)
    assert ev.severity is Severity.NO_DATA


def test_zero_traffic_is_no_data() -> None:
    s = slo()
    ev = evaluate(s, {w: WindowReading(0.0, 0.0) for w in s.window_seconds}, None, at=0.0)
    assert ev.severity is Severity.NO_DATA


def test_min_events_makes_low_traffic_windows_not_count() -> None:
    s = slo(min_events=100)
    readings = {w: WindowReading(1.0, 5.0 if w == 300 else 1e6) for w in s.window_seconds}
    ev = evaluate(s, readings, None, at=0.0)
    # 5m has 5 events: it does not count, so SEV1 cannot be confirmed; SEV2 (30m/6h) fires.
    assert ev.burn_rates[300] is None
    assert ev.severity is Severity.SEV2


def test_budget_remaining_and_time_to_exhaustion() -> None:
    s = slo()
    readings = _uniform(s, {w: 0.002 for w in s.window_seconds})  # burning 2x everywhere
    ev = evaluate(s, readings, WindowReading(0.00025, 1e9), at=0.0)
    assert ev.error_budget_remaining == pytest.approx(0.75)
    # 0.75 of a 30d period left at 2x: 0.375 periods = 11.25 days
    assert ev.time_to_exhaustion_seconds == pytest.approx(0.75 * 30 * DAY / 2)


def test_exhausted_budget_has_zero_time_left() -> None:
    s = slo()
    ev = evaluate(
        s, _uniform(s, {w: 0.002 for w in s.window_seconds}), WindowReading(0.003, 1e9), 0.0
    )
    assert ev.error_budget_remaining == pytest.approx(-2.0)
    assert ev.time_to_exhaustion_seconds == 0.0
