"""Calendar SLOs without I/O: the native ``spec.calendar`` block and its located errors, the
OpenSLO mapping, the budget over the elapsed part of the period, the plan's query range and
the rules ``generate`` writes for them."""

from __future__ import annotations

import math
import textwrap
from array import array
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from sloguard.backtest import Options
from sloguard.backtest._calendar import Grid, grid_step
from sloguard.burn import StepReading, WindowReading, evaluate, period_budget_line
from sloguard.cli import main
from sloguard.engine import Engine, evaluate_planned, without_calendar_period
from sloguard.model import SLO
from sloguard.periods import Calendar, CalendarUnit, StepRange, step_ranges
from sloguard.ports import Sample
from sloguard.rules import rule_groups
from sloguard.spec import load
from tests.support.specs import CHECKOUT_MONTHLY as NATIVE

OPENSLO = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-monthly}
spec:
  service: checkout
  budgetingMethod: Occurrences
  indicator:
    metadata: {name: checkout-errors}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec: {query: 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))'}
        total:
          metricSource:
            type: Prometheus
            spec: {query: 'sum(rate(http_requests_total[{{.window}}]))'}
  timeWindow:
    - duration: %(duration)s
      isRolling: false
      calendar: %(calendar)s
  objectives:
    - target: 0.999
"""


def _load(tmp_path: Path, text: str) -> tuple[list[SLO], list[str]]:
    path = tmp_path / "slo.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    result = load([path])
    return result.slos, [f"{p.location.line}: {p.message}" for p in result.problems]


@pytest.mark.parametrize(
    ("block", "unit", "tz", "start", "period_days"),
    [
        pytest.param("{unit: month}", "month", "UTC", "2024-01-01 00:00:00", 30, id="month-utc"),
        pytest.param(
            "{unit: week, time_zone: America/New_York}",
            "week",
            "America/New_York",
            "2024-01-01 00:00:00",
            7,
            id="week-new-york",
        ),
        pytest.param(
            "{unit: month, start: 2022-01-15 06:00:00}",
            "month",
            "UTC",
            "2022-01-15 06:00:00",
            30,
            id="unquoted-start-is-a-yaml-timestamp",
        ),
        pytest.param("{unit: day}", "day", "UTC", "2024-01-01 00:00:00", 1, id="day"),
    ],
)
def test_native_calendar(
    tmp_path: Path, block: str, unit: str, tz: str, start: str, period_days: int
) -> None:
    slos, problems = _load(tmp_path, NATIVE + f"  calendar: {block}\n")
    assert problems == []
    (slo,) = slos
    assert slo.calendar == Calendar(CalendarUnit(unit), tz, datetime.fromisoformat(start))
    assert slo.period_seconds == period_days * 86400
    assert slo.period == f"calendar {unit} ({tz})"
    if unit == "day":  # the default tiers shorter than a day remain
        assert [t.long for t in slo.tiers] == ["1h", "6h"]


@pytest.mark.parametrize(
    ("block", "line", "needle"),
    [
        pytest.param("{unit: quarter}", 11, "unit 'quarter' is not a calendar period", id="unit"),
        pytest.param(
            "{unit: month, time_zone: Mars/Olympus}", 11, "not an IANA time zone", id="zone"
        ),
        pytest.param("{unit: month, start: 2024-01-31}", 11, "cannot start on day 31", id="day-31"),
        pytest.param(
            "{unit: week, start: next monday}", 11, "is not a date and time", id="start-text"
        ),
        pytest.param("{unit: week, zone: UTC}", 11, "did you mean 'time_zone'", id="typo"),
    ],
)
def test_native_calendar_errors_are_located(
    tmp_path: Path, block: str, line: int, needle: str
) -> None:
    slos, problems = _load(tmp_path, NATIVE + f"  calendar: {block}\n")
    assert slos == []
    assert any(p.startswith(f"{line}:") and needle in p for p in problems), problems


def test_window_and_calendar_together_are_refused(tmp_path: Path) -> None:
    _, problems = _load(tmp_path, NATIVE + "  window: 30d\n  calendar: {unit: month}\n")
    assert any("give window (rolling) or calendar, not both" in p for p in problems), problems


def test_a_tier_as_long_as_a_calendar_day_is_refused(tmp_path: Path) -> None:
    tiers = "  alerting:\n    tiers: [{severity: SEV3, long: 1d, short: 2h, budget_percent: 50}]\n"
    _, problems = _load(tmp_path, NATIVE + "  calendar: {unit: day}\n" + tiers)
    assert any("long window 1d must be shorter than the calendar day" in p for p in problems)


@pytest.mark.parametrize(
    ("duration", "calendar", "unit", "tz", "start"),
    [
        pytest.param(
            "1M",
            "{startTime: '2022-01-01 00:00:00', timeZone: America/New_York}",
            "month",
            "America/New_York",
            "2022-01-01 00:00:00",
            id="month-quoted-start",
        ),
        pytest.param(
            "1w",
            "{startTime: 2022-01-01 12:00:00, timeZone: America/New_York}",
            "week",
            "America/New_York",
            "2022-01-01 12:00:00",
            id="week-from-saturday-noon",
        ),
        pytest.param(
            "Week",
            "{startTime: Monday, timeZone: America/New_York}",
            "week",
            "America/New_York",
            "2024-01-01 00:00:00",
            id="slogen-week-from-monday",
        ),
        pytest.param("1d", "{timeZone: Europe/Berlin}", "day", "Europe/Berlin", "", id="day"),
    ],
)
def test_openslo_calendar_windows_import(
    tmp_path: Path, duration: str, calendar: str, unit: str, tz: str, start: str
) -> None:
    slos, problems = _load(tmp_path, OPENSLO % {"duration": duration, "calendar": calendar})
    assert problems == []
    (slo,) = slos
    assert slo.calendar is not None
    assert (slo.calendar.unit, slo.calendar.time_zone) == (unit, tz)
    if start:
        assert slo.calendar.start == datetime.fromisoformat(start)


@pytest.mark.parametrize(
    ("duration", "calendar", "line", "needle"),
    [
        pytest.param("1Q", "{timeZone: UTC}", 21, "one day, week or month", id="quarter"),
        pytest.param("2w", "{timeZone: UTC}", 21, "one day, week or month", id="two-weeks"),
        pytest.param("1M", "{timeZone: Nowhere}", 23, "not an IANA time zone", id="zone"),
    ],
)
def test_openslo_calendar_errors_are_located(
    tmp_path: Path, duration: str, calendar: str, line: int, needle: str
) -> None:
    text = OPENSLO % {"duration": duration, "calendar": calendar}
    slos, problems = _load(tmp_path, text)
    assert slos == []
    assert any(p.startswith(f"{line}:") and needle in p for p in problems), problems


def test_import_writes_the_native_calendar_block_that_loads_again(tmp_path: Path) -> None:
    path = tmp_path / "openslo.yaml"
    text = OPENSLO % {"duration": "1M", "calendar": "{timeZone: America/New_York}"}
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path)])
    assert result.exit_code == 0, result.stderr
    assert "calendar:\n    unit: month\n    time_zone: America/New_York\n" in result.stdout
    slos, problems = _load(tmp_path, result.stdout)
    assert problems == []
    assert slos[0].calendar is not None


def _monthly(tmp_path: Path) -> SLO:
    slos, problems = _load(tmp_path, NATIVE + "  calendar: {unit: month}\n")
    assert problems == []
    return slos[0]


MARCH_11 = datetime(2024, 3, 11, tzinfo=UTC).timestamp()  # 10 of March's 31 days gone


@pytest.mark.parametrize(
    ("ratio", "remaining"),
    [
        pytest.param(0.0, 1.0, id="no-errors"),
        # 10 days at the budget ratio spend 10/31 of the month's budget
        pytest.param(0.001, 1 - 10 / 31, id="at-the-budget-ratio"),
        pytest.param(0.0031, 0.0, id="ten-days-at-3.1x-spend-it-all"),
    ],
)
def test_budget_counts_the_elapsed_part_against_the_whole_period(
    tmp_path: Path, ratio: float, remaining: float
) -> None:
    slo = _monthly(tmp_path)
    ev = evaluate(slo, {}, WindowReading(ratio, 1e6), MARCH_11)
    assert ev.error_budget_remaining == pytest.approx(remaining, abs=1e-12)


def test_time_to_exhaustion_uses_the_periods_real_length(tmp_path: Path) -> None:
    slo = _monthly(tmp_path)
    readings = {w: WindowReading(0.002, 1e6) for w in slo.window_seconds}  # 2x everywhere
    ev = evaluate(slo, readings, WindowReading(0.001, 1e6), MARCH_11)
    remaining = 1 - 10 / 31
    assert ev.time_to_exhaustion_seconds == pytest.approx(remaining * 31 * 86400 / 2)


def test_the_plan_asks_the_elapsed_range_and_tiers_unchanged(tmp_path: Path) -> None:
    slo = _monthly(tmp_path)
    engine = Engine()
    at = MARCH_11 + 3600.5
    (sp,) = engine.plan([slo], at).slos
    elapsed = 10 * 86400 + 3600
    assert f"[{elapsed}s]" in sp.ratio[slo.period_seconds]
    assert f"[{elapsed}s]" in sp.total[slo.period_seconds]
    assert "[5m]" in sp.ratio[300]
    assert "[1h]" in sp.ratio[3600]
    (nominal,) = engine.plan([slo]).slos  # without an instant: the nominal length
    assert "[30d]" in nominal.ratio[slo.period_seconds]


def test_rules_leave_out_the_period_series_and_say_so(tmp_path: Path) -> None:
    slo = _monthly(tmp_path)
    records = {r.record for g in rule_groups([slo]) for r in g.rules if r.record}
    alerts = [r for g in rule_groups([slo]) for r in g.rules if r.alert]
    assert "slo:sli_error:ratio_rate30d" not in records
    assert "slo:period_error_budget_remaining:ratio" not in records
    assert {"slo:sli_error:ratio_rate5m", "slo:sli_error:ratio_rate3d"} <= records
    assert len(alerts) == 3  # SEV1, SEV2, SEV3: the burn-rate alerts are whole
    path = tmp_path / "slo.yaml"
    out = tmp_path / "rules"
    result = CliRunner().invoke(main, ["generate", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    (written,) = out.glob("*.yml")
    assert "# Calendar SLOs (checkout-monthly): no period ratio" in written.read_text()


def test_range_queries_leave_a_calendar_budget_unknown(tmp_path: Path) -> None:
    """The backtest asks range queries, whose range cannot follow the period start: the
    calendar SLO's budget is unknown there, never a rolling 30 days read as the month."""
    slo = _monthly(tmp_path)
    (sp,) = Engine().plan([slo]).slos
    rolling = without_calendar_period(sp)
    assert slo.period_seconds not in rolling.ratio
    assert slo.period_seconds not in rolling.total
    answers = {q: [Sample({}, 0.0001)] for q in (*rolling.ratio.values(), *rolling.total.values())}
    [ev] = evaluate_planned(rolling, answers, MARCH_11)
    assert ev.error == ""
    assert ev.error_budget_remaining is None
    assert ev.burn_rates[300] == pytest.approx(0.1)


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("start", "end", "step", "expected"),
    [
        pytest.param(
            "2024-03-11",
            "2024-03-11 12:00",
            3600,
            [("2024-03-01", "2024-03-01 01:00", "2024-03-11 12:00")],
            id="from-the-period-start",
        ),
        pytest.param(
            "2024-02-28",
            "2024-03-02 12:00",
            86400,
            [
                ("2024-02-01", "2024-02-02", "2024-03-01"),
                ("2024-03-01", "2024-03-02", "2024-03-02"),
            ],
            id="across-the-1st-a-range-per-period",
        ),
        pytest.param("2024-03-01", "2024-03-01 00:30", 3600, [], id="not-one-step-yet"),
    ],
)
def test_step_ranges_tile_each_period_from_its_start(
    start: str, end: str, step: int, expected: list[tuple[str, str, str]]
) -> None:
    got = step_ranges(Calendar(CalendarUnit.MONTH), _utc(start), _utc(end), step)
    assert got == [StepRange(_utc(s), _utc(f), _utc(la), step) for s, f, la in expected]


DAY = 86400.0
MARCH_1 = _utc("2024-03-01")


@pytest.mark.parametrize(
    ("ratios", "rates", "last"),
    [
        # 10 days at the budget ratio spend 10/31 of March's budget, as the daemon's budget
        pytest.param([0.001] * 10, [5.0] * 10, 1 - 10 / 31, id="at-the-budget-ratio"),
        # 3 events/s at 0.4 % then 1 event/s at 0: the period's ratio is 1.2/4 per mille
        pytest.param([0.004] * 5 + [0.0] * 5, [3.0] * 5 + [1.0] * 5, 1 - 3 * 10 / 31, id="events"),
        pytest.param([0.004] * 5 + [0.0] * 5, None, 1 - 2 * 10 / 31, id="by-time-without-rates"),
        pytest.param(
            [0.001] * 9 + [math.nan], [5.0] * 9 + [0.0], 1 - 10 / 31, id="a-step-without-events"
        ),
    ],
)
def test_period_budget_line_is_the_elapsed_periods_budget(
    tmp_path: Path, ratios: list[float], rates: list[float] | None, last: float
) -> None:
    slo = _monthly(tmp_path)
    steps = [
        StepReading(MARCH_1 + DAY * (i + 1), DAY, ratio, None if rates is None else rates[i])
        for i, ratio in enumerate(ratios)
    ]
    line = period_budget_line(slo, MARCH_1, steps)
    assert line[-1][0] == steps[-1].at
    assert line[-1][1] == pytest.approx(last)
    assert line[0][1] <= 1.0


def test_a_shorter_last_step_weighs_by_its_length(tmp_path: Path) -> None:
    """The graph's last step ends at the instant it is drawn: a day at 0.1 % then half a day at
    0.4 % is 1.5 days at 0.2 %."""
    slo = _monthly(tmp_path)
    steps = [
        StepReading(MARCH_1 + DAY, DAY, 0.001, 2.0),
        StepReading(MARCH_1 + 1.5 * DAY, DAY / 2, 0.004, 2.0),
    ]
    (_, first), (_, last) = period_budget_line(slo, MARCH_1, steps)
    assert first == pytest.approx(1 - 1 / 31)
    assert last == pytest.approx(1 - 2 * 1.5 / 31)


@pytest.mark.parametrize(
    ("at", "left"),
    [
        pytest.param(0.0, 1.0, id="on-a-point"),
        pytest.param(299.0, 1.0, id="the-last-point-holds"),
        pytest.param(300.0, None, id="unknown-point"),
        pytest.param(600.0, 0.5, id="third-point"),
        pytest.param(900.0, None, id="after-the-grid"),
        pytest.param(-1.0, None, id="before-the-grid"),
    ],
)
def test_backtest_grid_lookup(at: float, left: float | None) -> None:
    grid = Grid(0.0, 300, {"k": array("d", [1.0, math.nan, 0.5])})
    assert grid.at("k", at) == left
    assert grid.at("other", at) is None


@pytest.mark.parametrize(
    ("step", "budget_step", "expected"),
    [
        pytest.param(30.0, 30.0, 300, id="at-least-the-shortest-window"),
        pytest.param(30.0, 3600.0, 3600, id="the-coarse-budget-step"),
        pytest.param(45.0, 30.0, 315, id="a-multiple-of-the-step"),
    ],
)
def test_backtest_grid_step(tmp_path: Path, step: float, budget_step: float, expected: int) -> None:
    options = Options(0.0, 86400.0, step=step)
    assert grid_step(_monthly(tmp_path), options, budget_step) == expected
