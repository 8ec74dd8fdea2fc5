"""`sloguard report` over a month of generated history on a real Prometheus (60 s step).

The availability and the budget spent that the report gives for each SLO, and for each group
of a grouped SLO, equal an independent computation from the generated samples; the worst
offender comes first. The HTML draws the UI's graphs as inline SVG, with no script.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.promserver import (
    DAY,
    HOUR,
    Generated,
    PrometheusServer,
    Scenario,
    Service,
    burn,
    outage,
    serve,
)
from tests.support.gate import ROOT, availability_yaml

pytestmark = pytest.mark.prometheus
MONTH = 30 * DAY
SERVICES = ("ledger", "audit", "billing")
# One SLO over every service, a group per service: the daemon evaluates each group on its own.
GROUPED = """\
apiVersion: sloguard/v1
kind: SLO
metadata:
  name: shop-availability
spec:
  service: shop
  objective: 99.9
  window: 30d
  group_by: [service]
  indicator:
    ratio:
      errors: >-
        sum by (service) (rate(http_requests_total{job="sloguard-test",code=~"5.."}[{{.window}}]))
      total: sum by (service) (rate(http_requests_total{job="sloguard-test"}[{{.window}}]))
"""
# A month after one hour of warm-up: ledger has a 30 min outage and a day at 5x; audit is
# quiet at its baseline (0.5x); billing burns at 2x for a week.
SCENARIO = Scenario(
    services=(
        Service("ledger", events=(outage(10 * DAY, 30 * 60), burn(20 * DAY, DAY, factor=5.0))),
        Service("audit"),
        Service("billing", events=(burn(3 * DAY, 7 * DAY, factor=2.0),)),
    ),
    duration_seconds=MONTH + HOUR,
    step_seconds=60,
)


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Generated, PrometheusServer]]:
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("needs the prometheus and promtool binaries (make prometheus)")
    data = SCENARIO.generate()
    with serve(data, base_dir=tmp_path_factory.mktemp("prom-month")) as server:
        yield data, server


def test_month_report_equals_the_samples(
    month: tuple[Generated, PrometheusServer], tmp_path: Path
) -> None:
    data, server = month
    slos = tmp_path / "slos.yaml"
    slos.write_text("---\n".join(availability_yaml(s.name) for s in SCENARIO.services))
    start, end = SCENARIO.at(HOUR), SCENARIO.at(MONTH + HOUR)
    done = subprocess.run(
        [sys.executable, "-m", "sloguard", "report", str(slos), "--prometheus", server.url,
         "--from", str(start), "--to", str(end), "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    got = {r["slo"]: r for r in body["slos"]}
    for service in ("ledger", "audit", "billing"):
        truth = data.error_ratio(service, end - start, end)
        assert truth is not None
        row = got[f"{service}-availability"]
        assert row["availability_percent"] == pytest.approx((1 - truth) * 100, rel=1e-9)
        assert row["budget_spent"] == pytest.approx(truth / 0.001, rel=1e-6)  # a whole period
        assert row["objective_met"] == ((1 - truth) * 100 >= 99.9)
    # ledger: 1800 s of outage + a day at 5x over a month at 0.5x: ~1.5 budgets; billing: a
    # week at 2x: ~0.85; audit: 0.5. Worst first.
    assert [r["slo"] for r in body["slos"]] == [
        "ledger-availability", "billing-availability", "audit-availability",
    ]  # fmt: skip
    assert got["ledger-availability"]["objective_met"] is False
    assert got["audit-availability"]["objective_met"] is True


def run_report(server: PrometheusServer, slos: Path, fmt: str) -> str:
    start, end = SCENARIO.at(HOUR), SCENARIO.at(MONTH + HOUR)
    done = subprocess.run(
        [sys.executable, "-m", "sloguard", "report", str(slos), "--prometheus", server.url,
         "--from", str(start), "--to", str(end), "--format", fmt],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_grouped_slo_has_a_row_per_group_equal_to_the_samples(
    month: tuple[Generated, PrometheusServer], tmp_path: Path
) -> None:
    data, server = month
    slos = tmp_path / "slos.yaml"
    slos.write_text(GROUPED)
    start, end = SCENARIO.at(HOUR), SCENARIO.at(MONTH + HOUR)
    body = json.loads(run_report(server, slos, "json"))
    keys = [f'shop-availability{{service="{s}"}}' for s in ("ledger", "billing", "audit")]
    assert [r["slo"] for r in body["slos"]] == keys  # worst first, as the ungrouped SLOs
    for row in body["slos"]:
        service = row["group"]["service"]
        assert row["name"] == "shop-availability"
        truth = data.error_ratio(service, end - start, end)
        assert truth is not None
        assert row["availability_percent"] == pytest.approx((1 - truth) * 100, rel=1e-9)
        assert row["budget_spent"] == pytest.approx(truth / 0.001, rel=1e-6)
        assert row["episodes_by_severity"] == {}
    markdown = run_report(server, slos, "markdown")
    for key in keys:
        assert f"| {key} |" in markdown


def test_the_graphs_follow_the_samples(
    month: tuple[Generated, PrometheusServer], tmp_path: Path
) -> None:
    # The budget line of each group is the budget left over the 30 days before each point.
    from sloguard.cli._report_data import graphs
    from sloguard.prometheus import PrometheusClient, PrometheusConfig
    from sloguard.report import Graphs
    from sloguard.spec import load_slos

    data, server = month
    (tmp_path / "slos.yaml").write_text(GROUPED)
    (slo,) = load_slos([str(tmp_path / "slos.yaml")])
    start, end = SCENARIO.at(MONTH - 2 * DAY), SCENARIO.at(MONTH + HOUR)
    keys = [f'shop-availability{{service="{s}"}}' for s in SERVICES]

    async def read() -> dict[str, Graphs]:
        async with PrometheusClient(PrometheusConfig(url=server.url)) as client:
            return dict(await graphs(client, slo, keys, start, end))

    drawn = asyncio.run(read())
    for service, key in zip(SERVICES, keys, strict=True):
        got = drawn[key]
        points = got.budget.points
        assert len(points) > 40
        for at, left in (points[0], points[-1]):
            truth = data.error_ratio(service, MONTH, at)
            assert truth is not None
            assert left == pytest.approx(1 - truth / 0.001, rel=1e-6, abs=1e-9)
        assert [t.severity for t in got.tiers] == ["SEV1", "SEV2", "SEV3", "SEV3"]


class Tags(HTMLParser):
    """Every start tag with its attributes, and the SVGs by class."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def test_html_draws_the_graphs_inline_without_script(
    month: tuple[Generated, PrometheusServer], tmp_path: Path
) -> None:
    _, server = month
    slos = tmp_path / "slos.yaml"
    slos.write_text(GROUPED + "---\n" + availability_yaml("ledger"))
    page = run_report(server, slos, "html")
    tags = Tags()
    tags.feed(page)
    assert tags.named("script") == []
    assert not [a for _, a in tags.tags if any(k.startswith("on") for k in a)]
    assert not [a for _, a in tags.tags if "src" in a or "href" in a]  # nothing fetched
    sections = tags.named("section")
    assert len(sections) == 4  # three groups and the ungrouped SLO
    svgs = tags.named("svg")
    assert [s["class"] for s in svgs].count("budget-history") == 4
    assert [s["class"] for s in svgs].count("tier-history") == 4 * 4  # every tier, every key
    polylines = tags.named("polyline")
    assert len(polylines) == 4 + 4 * 4 * 2
    assert all(len((p["points"] or "").split()) > 40 for p in polylines)
    assert page.count('class="threshold"') == 4 + 4 * 4
    assert "<h3>shop-availability{service=&quot;ledger&quot;}</h3>" in page


def test_markdown_and_html_show_the_same_rows(
    month: tuple[Generated, PrometheusServer], tmp_path: Path
) -> None:
    _, server = month
    slos = tmp_path / "slos.yaml"
    slos.write_text(availability_yaml("ledger"))
    start, end = SCENARIO.at(HOUR), SCENARIO.at(MONTH + HOUR)
    outs = {}
    for fmt in ("markdown", "html"):
        done = subprocess.run(
            [sys.executable, "-m", "sloguard", "report", str(slos), "--prometheus", server.url,
             "--from", str(start), "--to", str(end), "--format", fmt],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outs[fmt] = done.stdout
    assert "| ledger-availability |" in outs["markdown"]
    assert "<td>ledger-availability</td>" in outs["html"]
    assert outs["html"].startswith("<!doctype html>")


def test_episodes_from_the_state_of_a_daemon(
    month: tuple[Generated, PrometheusServer], tmp_path: Path
) -> None:
    # The daemon evaluates every minute around ledger's outage; the report then reads its state.
    import asyncio

    from sloguard.app import open_daemon
    from sloguard.clock import ManualClock
    from sloguard.config import load_config

    data, server = month
    slos = tmp_path / "slos.yaml"
    slos.write_text(availability_yaml("ledger"))
    state = tmp_path / "state.db"
    config = tmp_path / "sloguard.yaml"
    config.write_text(
        f'prometheus: {{url: "{server.url}"}}\nslo_paths: [{slos}]\nstate_path: {state}\n'
    )
    outage_at = SCENARIO.at(10 * DAY)
    # Every minute through the outage, then every 10 minutes until the slow tiers clear.
    ticks = [outage_at + 60 * i for i in range(-5, 40)]
    ticks += [outage_at + 40 * 60 + 600 * i for i in range(1, 41)]

    async def drive() -> None:
        clock = ManualClock(ticks[0])
        async with open_daemon(load_config(config), clock=clock) as daemon:
            for at in ticks:
                clock.set(at)
                assert (await daemon.once(at)).failures == ()

    asyncio.run(drive())
    start, end = SCENARIO.at(HOUR), SCENARIO.at(MONTH + HOUR)
    done = subprocess.run(
        [sys.executable, "-m", "sloguard", "report", str(slos), "--prometheus", server.url,
         "--from", str(start), "--to", str(end), "--format", "json", "--state", str(state)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)["slos"]
    assert row["episodes_by_severity"] == {"SEV1": 1}
    (episode,) = row["episodes"]
    # Time to detect from the data: the outage first shows in the sample at outage_at + 60 s
    # (a sample carries the minute before it); declared within two evaluations of that.
    from sloguard.durations import parse_time

    declared = parse_time(episode["declared_at"])
    assert outage_at + 60 <= declared <= outage_at + 180
    assert episode["time_to_detect_seconds"] == declared - (outage_at + 60)
    # Resolved once the outage left the SEV3 tier's 6h window (30 min + 6 h), after the quiet
    # period (5 min), at the next 10-minute evaluation.
    assert 6.5 * HOUR + 300 <= episode["time_to_resolve_seconds"] <= 6.5 * HOUR + 300 + 720
    # The episode's budget: its burn-seconds over the period; the outage itself spent 1800 s
    # at 1000x the budget rate of a 0.1 % SLO over 30 d: 1800 / (0.001 * 30 d) = 69 %.
    truth = 1800 / (0.001 * MONTH)
    assert episode["budget_spent"] == pytest.approx(truth, rel=0.1)
    # One page (the SEV1 declaration; the resolve is no page), whether or not a route sends it.
    assert episode["pages"] == 1
    assert row["pages_per_week"] == pytest.approx(7 / 30)
    ratio = data.error_ratio("ledger", end - start, end)
    assert ratio is not None
    assert episode["budget_spent"] < ratio / 0.001  # one episode of the month's spend
