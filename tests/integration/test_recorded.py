"""Recorded mode against a real Prometheus: the generated recording rules are backfilled with
``promtool tsdb create-blocks-from rules`` (two passes: event rates and info first, then the
ratios computed from them), and evaluating from the recorded series must give what the direct
queries give, with far fewer queries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
import yaml

from harness import scenarios as sc
from harness.promserver import (
    HOUR,
    availability_slo,
    backfill,
    latency_slo,
    start_prometheus,
)
from sloguard.burn import Evaluation
from sloguard.engine import Engine, bulk_query
from sloguard.model import SLO, RawIndicator, Severity
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.rules import ERRORS, INFO, RATIO, TOTAL, prom_duration, render_rules, rule_groups
from tests.support.sources import Counting

pytestmark = pytest.mark.prometheus
STEP = 60


def _split(slos: Sequence[SLO]) -> tuple[str, str]:
    """Rule files for the two backfill passes (a pass cannot read series it writes itself)."""
    doc = yaml.safe_load(render_rules(rule_groups(slos), "test"))
    first: list[dict[str, object]] = []
    second: list[dict[str, object]] = []
    for group in doc["groups"]:
        for rule in group["rules"]:
            name = rule.get("record", "")
            if name.startswith((ERRORS, TOTAL)) or name == INFO:
                first.append(rule)
            elif name.startswith(RATIO):
                second.append(rule)
    return _dump(first), _dump(second)


def _dump(rules: list[dict[str, object]]) -> str:
    return yaml.safe_dump({"groups": [{"name": "g", "rules": rules}]})


@dataclass
class Recorded:
    url: str
    slos: list[SLO]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("needs prometheus and promtool")
    scenario = sc.incidents()
    slos = [
        availability_slo(scenario, "checkout"),
        availability_slo(scenario, "search"),
        latency_slo(scenario, "catalog"),
        availability_slo(scenario, "idle", name="idle-availability-changed"),
    ]
    root = tmp_path_factory.mktemp("recorded")
    data = root / "data"
    backfill(scenario.generate(), data)
    start, end = scenario.at(HOUR), scenario.end
    for n, text in enumerate(_split(slos[:3])):  # idle's rules are never loaded: direct fallback
        rules = root / f"pass{n}.yml"
        rules.write_text(text)
        work = root / f"work{n}"
        work.mkdir()
        server = start_prometheus(data, work, owns_workdir=False)
        try:
            out = root / f"blocks{n}"
            done = subprocess.run(
                [
                    "promtool",
                    "tsdb",
                    "create-blocks-from",
                    "rules",
                    "-q",
                    f"--start={start}",
                    f"--end={end}",
                    f"--eval-interval={STEP}s",
                    f"--url={server.url}",
                    f"--output-dir={out}",
                    str(rules),
                ],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr + done.stdout
        finally:
            server.stop()
        for block in out.iterdir():
            shutil.move(str(block), data / block.name)
    work = root / "final"
    work.mkdir()
    server = start_prometheus(data, work, owns_workdir=False)
    try:
        yield Recorded(server.url, slos)
    finally:
        server.stop()


def _evaluate(
    url: str, slos: list[SLO], at: float, mode: bool, direct_max: int = 0
) -> tuple[list[Evaluation], list[str]]:
    async def go() -> tuple[list[Evaluation], list[str]]:
        async with PrometheusClient(PrometheusConfig(url=url)) as client:
            source = Counting(client)
            evs = await Engine().evaluate_all(
                slos,
                source,
                at,
                recorded=mode,
                direct_windows_max_seconds=direct_max,
            )
            return evs, source.asked

    return asyncio.run(go())


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == pytest.approx(b, rel=1e-9, abs=1e-12)


def _rule_time(url: str, at: float) -> float:
    """When the event rates behind the ratio read at ``at`` were computed (each backfill pass
    has its own sub-second grid, so the ratio pass reads the newest rate sample before it)."""
    sel = '{sloth_id="checkout-availability"}'

    async def go() -> float:
        async with PrometheusClient(PrometheusConfig(url=url)) as client:
            [ratio] = await client.query(f"timestamp({RATIO}5m{sel})", at)
            [rates] = await client.query(f"timestamp({TOTAL}5m{sel})", ratio.value)
            return rates.value

    return asyncio.run(go())


OFFSETS = [
    pytest.param(sc.OUTAGE_START + 2 * 60, id="checkout-outage+2m"),
    pytest.param(sc.OUTAGE_END + 10 * 60, id="after-outage"),
    pytest.param(sc.SLOW_START + 30 * 60, id="catalog-slowdown"),
    pytest.param(4 * HOUR, id="search-burn-idle-drop"),
]


@pytest.mark.parametrize("offset", OFFSETS)
def test_recorded_mode_equals_direct_mode(recorded: Recorded, offset: int) -> None:
    at = 1704067200 + offset
    # The recorded series read at `at` were computed by the rules at `evaluated` (the backfill's
    # grid, as a live Prometheus' rule evaluation lags by up to one interval): direct queries
    # at that instant must give the same numbers.
    evaluated = _rule_time(recorded.url, at)
    assert at - 2 * STEP < evaluated <= at
    direct, direct_q = _evaluate(recorded.url, recorded.slos, evaluated, False)
    fast, fast_q = _evaluate(recorded.url, recorded.slos, at, True)
    # The period is still queried directly (the rules did not run 30 d ago), at `at` itself.
    direct_at, _ = _evaluate(recorded.url, recorded.slos, at, False)
    assert [e.slo for e in fast] == [e.slo for e in direct]
    for d, f, p in zip(direct, fast, direct_at, strict=True):
        if f.slo == "idle-availability-changed":
            d = p  # its rules are not loaded: queried directly, at `at`
        assert f.error == d.error
        assert f.severity == d.severity, d.slo
        assert f.burn_rates.keys() == d.burn_rates.keys()
        for w, rate in d.burn_rates.items():
            assert _close(f.burn_rates[w], rate), (d.slo, w, f.burn_rates[w], rate)
        assert _close(f.error_budget_remaining, p.error_budget_remaining), d.slo
    assert {e.severity for e in fast} != {Severity.OK}, "the instant shows some burn"
    assert len(direct_q) == Engine().plan(recorded.slos).query_count
    # probe + period probe + one query per recorded series name (7 windows x ratio and total)
    # + one combined query per other SLO: the period of each of the 3 recorded SLOs (their
    # rules did not run 30 d ago; catalog's with its bucket check) and idle's 16 queries
    assert len(fast_q) == 1 + 1 + 14 + 3 + 1
    # Direct mode sends the three availability SLOs (which differ only in `service`) as one
    # merged query and catalog's as its own: fewer than recorded mode at 4 SLOs, but each
    # evaluates range selectors where a recorded series is one precomputed value.
    assert len(direct_q) == 2


def test_a_changed_definition_falls_back_to_direct_queries(recorded: Recorded) -> None:
    changed = [dataclasses.replace(recorded.slos[0], indicator=RawIndicator("vector(0)"))]
    _, asked = _evaluate(recorded.url, changed, 1704067200 + 4 * HOUR, True)
    assert not any(RATIO in q for q in asked)


@pytest.mark.parametrize("offset", OFFSETS)
def test_direct_paging_windows_over_recorded_series(recorded: Recorded, offset: int) -> None:
    """``direct_windows_max_seconds=3600``: 5m, 30m and 1h are read at ``at`` itself (as
    fresh as the last scrape), 2h..3d from the recorded series (as of the last rule run)."""
    at = 1704067200 + offset
    evaluated = _rule_time(recorded.url, at)
    then, _ = _evaluate(recorded.url, recorded.slos, evaluated, False)
    now, _ = _evaluate(recorded.url, recorded.slos, at, False)
    mixed, asked = _evaluate(recorded.url, recorded.slos, at, True, direct_max=3600)
    fully_recorded, _ = _evaluate(recorded.url, recorded.slos, at, True)
    assert [e.slo for e in mixed] == [e.slo for e in now]
    for t, n, m, r in zip(then, now, mixed, fully_recorded, strict=True):
        if m.slo == "idle-availability-changed":
            t = n  # its rules are not loaded: every window queried directly, at `at`
        assert m.error == n.error
        assert m.burn_rates.keys() == n.burn_rates.keys()
        for w in n.burn_rates:
            source = n if w <= 3600 else t
            assert _close(m.burn_rates[w], source.burn_rates[w]), (m.slo, w)
        assert _close(m.error_budget_remaining, n.error_budget_remaining), m.slo
        if offset == sc.OUTAGE_START + 2 * 60 and m.slo == "checkout-availability":
            assert at - evaluated >= 10, "the instant is between two rule runs"
            fresh, lagging = m.burn_rates[300], r.burn_rates[300]
            assert fresh is not None
            assert lagging is not None
            assert fresh > lagging, f"the direct 5m sees the outage sooner: {fresh}, {lagging}"
    names = {q for q in asked if RATIO in q or TOTAL in q}
    longer = ("2h", "6h", "1d", "3d")
    assert names == {bulk_query(f"{p}{w}") for p in (RATIO, TOTAL) for w in longer}
    assert not any(f"{RATIO}{prom_duration(300)}" in q for q in asked)
    # probe + period probe + 8 recorded names + one combined query per SLO: each recorded
    # SLO's 3 direct windows and period (catalog's with its bucket check), and idle's
    assert len(asked) == 1 + 1 + 8 + 3 + 1
