"""A calendar-month SLO against a real Prometheus: the budget at an instant equals the
independent computation from the generated samples over [start of the month in New York, T],
a budget spent in February is not counted in March, the burn-rate tiers are those of any SLO,
and the rules ``generate`` writes for it pass ``promtool check rules``.

Scenario (times UTC): 26 Feb to 12 Mar 2024 20:00 at a 300 s step; billing burns at 20x for three
days of February (two budgets of the month), then at 4x for 12 h on 6 March. New York changes
to daylight time on 10 March, so March there is 31 days less one hour.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from click.testing import CliRunner

from harness.promserver import DAY, HOUR, Scenario, Service, availability_slo, burn, serve
from sloguard.app import open_daemon
from sloguard.backtest import Options, Result, replay
from sloguard.burn import Evaluation
from sloguard.cli import main
from sloguard.cli._report_data import graphs
from sloguard.clock import ManualClock
from sloguard.config import load_config
from sloguard.engine import Engine
from sloguard.metrics import Metrics
from sloguard.model import SLO, Severity
from sloguard.periods import Calendar, CalendarUnit
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.report import Graphs
from sloguard.rules import calendar_notes, render_rules, rule_groups
from sloguard.server import Readiness, Sources, build_app
from sloguard.server.graphs import BurnHistory, History
from sloguard.server.ui import Ui
from tests.support.prom import Served
from tests.support.ui import FakeUiData

pytestmark = pytest.mark.prometheus
NY = ZoneInfo("America/New_York")
START = int(datetime(2024, 2, 26, tzinfo=ZoneInfo("UTC")).timestamp())  # block-aligned
BUDGET = 0.001
MARCH = datetime(2024, 3, 1, tzinfo=NY).timestamp()
APRIL = datetime(2024, 4, 1, tzinfo=NY).timestamp()
FEBRUARY = datetime(2024, 2, 1, tzinfo=NY).timestamp()


def _ny(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=NY).timestamp()


@pytest.fixture(scope="module")
def billing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("needs the prometheus and promtool binaries (make prometheus)")
    scenario = Scenario(
        services=(
            Service(
                "billing",
                events=(
                    burn(0, 3 * DAY, factor=20.0),
                    burn(9 * DAY + 12 * HOUR, 12 * HOUR, factor=4.0),
                ),
            ),
        ),
        duration_seconds=15 * DAY + 20 * HOUR,
        step_seconds=300,
        start=START,
    )
    data = scenario.generate()
    with serve(data, base_dir=tmp_path_factory.mktemp("prom")) as server:
        yield Served(scenario, data, server)


def _monthly(served: Served) -> SLO:
    rolling = availability_slo(served.scenario, "billing")
    calendar = Calendar(CalendarUnit.MONTH, "America/New_York")
    return replace(rolling, name="billing-monthly", calendar=calendar)


def _evaluate(served: Served, slos: list[SLO], at: float) -> list[Evaluation]:
    async def go() -> list[Evaluation]:
        async with PrometheusClient(PrometheusConfig(url=served.url)) as client:
            return await Engine().evaluate_all(slos, client, at, recorded=False)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("when", "month_start", "month_end"),
    [
        pytest.param("2024-03-12 14:00", MARCH, APRIL, id="march-12-after-dst"),
        pytest.param("2024-03-06 18:55", MARCH, APRIL, id="march-6-during-the-4x-burn"),
        pytest.param("2024-02-29 22:00", FEBRUARY, MARCH, id="february-29-after-the-20x-burn"),
    ],
)
def test_budget_equals_the_independent_computation_over_the_month(
    billing: Served, when: str, month_start: float, month_end: float
) -> None:
    at = _ny(when)
    [ev] = _evaluate(billing, [_monthly(billing)], at)
    assert ev.error == ""
    elapsed = at - month_start
    ratio = billing.data.error_ratio("billing", elapsed, at)  # exact, from the samples
    assert ratio is not None
    expected = 1 - ratio / BUDGET * elapsed / (month_end - month_start)
    assert ev.error_budget_remaining == pytest.approx(expected, rel=1e-9, abs=1e-12)
    current = ev.burn_rates[300]
    assert current is not None
    tte = ev.time_to_exhaustion_seconds
    if expected <= 0:
        assert tte == 0.0
    else:
        assert tte == pytest.approx(expected * (month_end - month_start) / current, rel=1e-9)


def test_february_budget_is_not_counted_in_march(billing: Served) -> None:
    monthly = _monthly(billing)
    rolling = availability_slo(billing.scenario, "billing")
    feb, _ = _evaluate(billing, [monthly, rolling], _ny("2024-02-29 22:00"))
    assert feb.error_budget_remaining is not None
    assert feb.error_budget_remaining < -1  # 3 days at 20x: two of February's budgets
    month, rolled = _evaluate(billing, [monthly, rolling], _ny("2024-03-01 06:00"))
    assert month.error_budget_remaining is not None
    assert rolled.error_budget_remaining is not None
    assert month.error_budget_remaining > 0.99  # six hours of the 0.5x baseline
    assert rolled.error_budget_remaining < -1  # the rolling 30 days still hold February


def test_burn_rate_tiers_are_those_of_the_rolling_slo(billing: Served) -> None:
    at = _ny("2024-03-06 19:00")  # the 12 h at 4x just ended: 3d/6h burn above 1x
    monthly, rolling = _evaluate(
        billing, [_monthly(billing), availability_slo(billing.scenario, "billing")], at
    )
    assert monthly.burn_rates == rolling.burn_rates
    assert monthly.severity == rolling.severity == Severity.SEV3
    for window, rate in monthly.burn_rates.items():
        expected = billing.data.error_ratio("billing", window, at)
        assert expected is not None
        assert rate == pytest.approx(expected / BUDGET, rel=1e-9)


def test_generated_rules_pass_promtool(billing: Served, tmp_path: Path) -> None:
    slo = _monthly(billing)
    path = tmp_path / "rules.yml"
    path.write_text(render_rules(rule_groups([slo]), "billing", calendar_notes([slo])), "utf-8")
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    proc = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_evaluate_reads_an_openslo_calendar_file(billing: Served, tmp_path: Path) -> None:
    """The OpenSLO file as a team commits it, through `sloguard evaluate`: the same budget."""
    selector = 'http_requests_total{job="sloguard-test",service="billing"'
    text = OPENSLO_MONTH.replace("ERRORS", f'{selector},code=~"5.."}}')
    path = tmp_path / "billing.yaml"
    path.write_text(text.replace("TOTAL", selector + "}"), encoding="utf-8")
    at = _ny("2024-03-12 14:00")
    args = ["evaluate", str(path), "--prometheus", billing.url, "--at", str(int(at)), "-o", "json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output
    [row] = json.loads(result.stdout)
    ratio = billing.data.error_ratio("billing", at - MARCH, at)
    assert ratio is not None
    expected = 1 - ratio / BUDGET * (at - MARCH) / (APRIL - MARCH)
    assert row["error_budget_remaining"] == pytest.approx(expected, rel=1e-9)


OPENSLO_MONTH = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: billing-monthly}
spec:
  service: billing
  budgetingMethod: Occurrences
  indicator:
    metadata: {name: billing-errors}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec: {query: 'sum(rate(ERRORS[{{.window}}]))'}
        total:
          metricSource:
            type: Prometheus
            spec: {query: 'sum(rate(TOTAL[{{.window}}]))'}
  timeWindow:
    - duration: 1M
      isRolling: false
      calendar: {startTime: "2024-01-01 00:00:00", timeZone: America/New_York}
  objectives:
    - target: 0.999
"""


def _openslo_file(tmp_path: Path, duration: str) -> Path:
    selector = 'http_requests_total{job="sloguard-test",service="billing"'
    text = OPENSLO_MONTH.replace("ERRORS", f'{selector},code=~"5.."}}')
    text = text.replace("duration: 1M", f"duration: {duration}")
    path = tmp_path / "billing.yaml"
    path.write_text(text.replace("TOTAL", selector + "}"), encoding="utf-8")
    return path


REPORTS = [
    pytest.param(
        "1M",
        "2024-02-27 00:00",
        "2024-03-12 14:00",
        [
            ("February 2024, 2024-02-27T05:00:00Z to 2024-03-01T05:00:00Z", FEBRUARY, MARCH),
            ("March 2024, 2024-03-01T05:00:00Z to 2024-03-12T18:00:00Z", MARCH, APRIL),
        ],
        id="month-parts-of-february-and-march",
    ),
    pytest.param(
        "1w",
        "2024-03-04 00:00",
        "2024-03-11 00:00",
        [("week of 4 Mar 2024", _ny("2024-03-04 00:00"), _ny("2024-03-11 00:00"))],
        id="one-whole-week-across-dst",
    ),
]


@pytest.mark.parametrize(("duration", "start", "end", "rows"), REPORTS)
def test_report_has_a_row_per_calendar_period_equal_to_the_samples(
    billing: Served,
    tmp_path: Path,
    duration: str,
    start: str,
    end: str,
    rows: list[tuple[str, float, float]],
) -> None:
    """Each row is the range's part in one calendar period: its availability, and the budget
    spent against that period's budget (the error ratio over the part / budget x part / the
    period's real length), computed independently from the generated samples."""
    path = _openslo_file(tmp_path, duration)
    begin, finish = _ny(start), _ny(end)
    args = ["report", str(path), "--prometheus", billing.url, "--format", "json"]
    args += ["--from", str(int(begin)), "--to", str(int(finish))]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)["slos"]
    by_name = {r["calendar_period"]["name"]: r for r in got}
    assert sorted(by_name) == sorted(name for name, _, _ in rows)
    for name, period_start, period_end in rows:
        row = by_name[name]
        a, b = max(begin, period_start), min(finish, period_end)
        ratio = billing.data.error_ratio("billing", b - a, b)
        assert ratio is not None
        assert row["availability_percent"] == pytest.approx((1 - ratio) * 100, rel=1e-12)
        spent = ratio / BUDGET * (b - a) / (period_end - period_start)
        assert row["budget_spent"] == pytest.approx(spent, rel=1e-9)


def test_a_report_from_the_period_start_spends_what_the_daemon_has_spent(
    billing: Served, tmp_path: Path
) -> None:
    path = _openslo_file(tmp_path, "1M")
    at = _ny("2024-03-12 14:00")
    args = ["report", str(path), "--prometheus", billing.url, "--format", "json"]
    result = CliRunner().invoke(main, [*args, "--from", str(int(MARCH)), "--to", str(int(at))])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)["slos"]
    [ev] = _evaluate(billing, [_monthly(billing)], at)
    assert ev.error_budget_remaining is not None
    assert row["budget_spent"] == pytest.approx(1 - ev.error_budget_remaining, rel=1e-9)


# --- the daemon and its UI ------------------------------------------------------------------
DAEMON_STEPS = [
    # (instant in New York, the month it belongs to): the 20x burn of February overspent
    # its budget; just after the 1st, March starts from a full budget less its own errors.
    pytest.param("2024-02-29 22:00", FEBRUARY, MARCH, id="february-overspent"),
    pytest.param("2024-03-01 00:10", MARCH, APRIL, id="just-after-the-1st-a-full-budget"),
    pytest.param("2024-03-12 14:00", MARCH, APRIL, id="march-12"),
]


def _independent_budget(served: Served, at: float, month_start: float, month_end: float) -> float:
    ratio = served.data.error_ratio("billing", at - month_start, at)
    assert ratio is not None
    return 1 - ratio / BUDGET * (at - month_start) / (month_end - month_start)


@pytest.mark.parametrize(("when", "month_start", "month_end"), DAEMON_STEPS)
def test_the_daemon_and_its_ui_show_the_months_budget(
    billing: Served, tmp_path: Path, when: str, month_start: float, month_end: float
) -> None:
    """`run --once --at` steps in process: /api/v1/slos, the UI's list and detail page show
    the budget over the elapsed month, and the detail page's budget graph starts at the
    month's start and ends at the same number, equal to the samples' budget."""
    (tmp_path / "slos").mkdir()
    _openslo_file(tmp_path / "slos", "1M")
    config_path = tmp_path / "sloguard.yaml"
    config_path.write_text(
        f'prometheus: {{url: "{billing.url}"}}\nslo_paths: [slos/]\n'
        f"state_path: {tmp_path / 'state.db'}\n",
        encoding="utf-8",
    )
    at = _ny(when)
    expected = _independent_budget(billing, at, month_start, month_end)

    async def drive() -> tuple[dict[str, Any], str, str, History | None]:
        clock = ManualClock(at - 600)
        config = load_config(config_path)
        async with open_daemon(config, clock=clock) as daemon:
            for step in (at - 600, at):  # two ticks: the second one is shown
                clock.set(step)
                report = await daemon.once(step)
                assert report.failures == ()
            shown = daemon.tick.shown
            data = FakeUiData(list(shown.evaluations), dict(shown.slos_by_key))
            history = BurnHistory(daemon.tick.source, clock.now)
            app = build_app(
                Sources(
                    Metrics().render,
                    Readiness(clock, interval_seconds=30),
                    daemon.status,
                    extra_routes=Ui(data, history).routes(),
                )
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                api = (await client.get("/api/v1/slos")).json()
                listing = (await client.get("/")).text
                detail = (await client.get("/slos/billing-monthly")).text
            return api, listing, detail, await history.history(daemon.tick.slos[0])

    api, listing, detail, drawn = asyncio.run(drive())
    [row] = api["slos"]
    assert row["period"] == "calendar month (America/New_York)"
    assert row["error_budget_remaining"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    shown = f"{expected * 100:.1f} %"
    assert shown in listing
    assert f'<div class="num" id="budget">{shown}</div>' in detail
    assert 'id="budget-history"' in detail
    assert drawn is not None
    assert drawn.budget_from == month_start  # the graph starts at the month's start
    assert drawn.budget.points[0][0] > month_start
    assert drawn.budget.points[-1][0] == at
    # Summed steps read what the elapsed-month query reads, within the extrapolation of rate()
    # at the steps' edges (0.1 % of the budget spent)
    assert 1 - drawn.budget.points[-1][1] == pytest.approx(1 - expected, rel=1e-3, abs=1e-3)
    middle_at, middle = drawn.budget.points[len(drawn.budget.points) // 2]
    truth = _independent_budget(billing, middle_at, month_start, month_end)
    assert 1 - middle == pytest.approx(1 - truth, rel=1e-3, abs=1e-3)


def test_the_reports_budget_graph_counts_from_the_period_start(billing: Served) -> None:
    """The HTML report's budget graph of a calendar row, as the UI draws it: the month's budget
    since the 1st, shown over the row's part of the range."""
    slo = _monthly(billing)
    begin, end = _ny("2024-03-05 00:00"), _ny("2024-03-12 14:00")

    async def go() -> dict[str, Graphs]:
        async with PrometheusClient(PrometheusConfig(url=billing.url)) as client:
            return await graphs(client, slo, [slo.name], begin, end)

    line = asyncio.run(go())[slo.name].budget
    assert line.window == "calendar month (America/New_York)"
    assert line.points[0][0] >= begin
    assert line.points[-1][0] == end
    for at, left in (line.points[0], line.points[-1]):
        truth = _independent_budget(billing, at, MARCH, APRIL)
        assert 1 - left == pytest.approx(1 - truth, rel=1e-3, abs=1e-3)


# --- the backtest ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def replayed(billing: Served) -> Result:
    """28 Feb 12:00 to 2 Mar 2024 00:00 in New York at the data's 5-minute step."""
    options = Options(
        _ny("2024-02-28 12:00"), _ny("2024-03-02 00:00"), step=300.0, record_series=True
    )

    async def go() -> Result:
        async with PrometheusClient(PrometheusConfig(url=billing.url)) as client:
            return await replay([_monthly(billing)], client, options)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("when", "month_start", "month_end"),
    [
        pytest.param("2024-02-28 12:00", FEBRUARY, MARCH, id="the-first-step-mid-month"),
        pytest.param("2024-02-29 22:00", FEBRUARY, MARCH, id="february-overspent"),
        pytest.param("2024-03-01 00:10", MARCH, APRIL, id="just-after-the-1st"),
        pytest.param("2024-03-01 18:00", MARCH, APRIL, id="march-1-evening"),
    ],
)
def test_backtest_replays_the_months_budget(
    billing: Served, replayed: Result, when: str, month_start: float, month_end: float
) -> None:
    """The backtest sums each step's errors from the period's start: at a step, the budget the
    daemon would have shown, reset on the 1st, within the extrapolation of rate()."""
    at = _ny(when)
    index = round((at - replayed.options.start) / replayed.options.step)
    assert replayed.options.at(index) == at
    left = replayed.series["billing-monthly"].budget[index]
    truth = _independent_budget(billing, at, month_start, month_end)
    assert 1 - left == pytest.approx(1 - truth, rel=1e-3, abs=1e-3)


def test_backtest_episodes_carry_the_months_budget(replayed: Result) -> None:
    assert replayed.errors == {}
    assert replayed.episodes
    assert all(e.slo == "billing-monthly" for e in replayed.episodes)
    assert all(e.budget_remaining is not None for e in replayed.episodes)
