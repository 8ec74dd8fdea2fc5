"""`sloguard backtest` over a real Prometheus filled with the standard scenarios: episodes at
the times the math predicts, agreement with the daemon's own ticks, chunked range queries,
policies compared against known incidents, the JSON shape and the PNG."""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness import scenarios as sc
from harness.promserver import Generated, availability_slo
from sloguard.app import open_daemon
from sloguard.backtest import Options, Policy, Result, replay
from sloguard.clock import ManualClock
from sloguard.config import load_config
from sloguard.model import DEFAULT_TIERS, SLO, Severity, Tier
from sloguard.ports import Sample, Series
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.store import Store
from tests.support.backtest import slo_yaml
from tests.support.prom import Served

pytestmark = pytest.mark.prometheus
REPO = Path(__file__).resolve().parents[2]
MIN = 60
FAST = (Tier(Severity.SEV1, 3600, 300, 2.0), Tier(Severity.SEV2, 6 * 3600, 1800, 5.0))
SEV1_ONLY = (Tier(Severity.SEV1, 3600, 300, 2.0),)


def run(
    served: Served,
    slos: Sequence[SLO],
    options: Options,
    policies: Sequence[Policy] = (Policy("spec"),),
    source: object = None,
) -> Result:
    async def go() -> Result:
        async with PrometheusClient(PrometheusConfig(url=served.url, timeout_seconds=60)) as c:
            return await replay(slos, source or c, options, policies)  # type: ignore[arg-type]

    return asyncio.run(go())


# --------------------------------------------------------------------------- the oracle


def truth_severity(data: Generated, service: str, tiers: Sequence[Tier], at: float) -> Severity:
    """The SRE Workbook's rule on the exact ratios of the generated samples (not Prometheus)."""
    best = Severity.OK
    for tier in tiers:
        factor = tier.factor(30 * 86400)
        long = data.error_ratio(service, tier.long_seconds, at)
        short = data.error_ratio(service, tier.short_seconds, at)
        if long is not None and short is not None and min(long, short) / 0.001 > factor:
            best = max(best, tier.severity)
    return best


def predicted_episodes(
    data: Generated, service: str, tiers: Sequence[Tier], times: Sequence[float], quiet: float
) -> list[tuple[float, list[str], float | None]]:
    """(declared at, severity changes, resolved at): declared at the first firing step; resolved
    at the first step the SLO has been clear for the quiet period."""
    out: list[tuple[float, list[str], float | None]] = []
    current: tuple[float, list[str]] | None = None
    clear_since: float | None = None
    for at in times:
        severity = truth_severity(data, service, tiers, at)
        if severity > Severity.OK:
            clear_since = None
            if current is None:
                current = (at, [])
            if not current[1] or current[1][-1] != severity.name:
                current[1].append(severity.name)
        elif current is not None:
            clear_since = at if clear_since is None else clear_since
            if at - clear_since >= quiet:
                out.append((current[0], current[1], at))
                current, clear_since = None, None
    if current is not None:
        out.append((current[0], current[1], None))
    return out


def grid(options: Options) -> list[float]:
    return [options.at(i) for i in range(options.steps)]


@pytest.mark.parametrize(
    ("service", "tiers"),
    [
        pytest.param("checkout", DEFAULT_TIERS, id="checkout-default-tiers"),
        pytest.param("checkout", FAST, id="checkout-fast-tiers"),
        pytest.param("search", DEFAULT_TIERS, id="search-default-tiers"),
    ],
)
def test_backtest_finds_the_episodes_the_math_predicts(
    incidents: Served, service: str, tiers: tuple[Tier, ...]
) -> None:
    scenario = incidents.scenario
    # Off the 15 s sample grid (+7 s): Prometheus 2.x and 3.x agree there (see promserver).
    options = Options(scenario.at(0) + 7, scenario.end - 8, step=30)
    slo = availability_slo(scenario, service, tiers=tiers)
    result = run(incidents, [slo], options)
    got = [
        (e.declared_at, [c.severity.name for c in e.severities], e.resolved_at)
        for e in result.episodes
    ]
    expected = predicted_episodes(incidents.data, service, tiers, grid(options), 300)
    assert got == expected
    assert result.errors == {}
    if service == "checkout":
        (episode,) = result.episodes
        # 100 % errors cross the SEV1 line of a 99.9 % SLO after 0.001 x 3600 s x 14.4 = 51.8 s
        # (errors first show in the sample 15 s after the start, then up to one 30 s step).
        sev1 = next(c.at for c in episode.severities if c.severity is Severity.SEV1)
        assert 51.8 <= sev1 - scenario.at(sc.OUTAGE_START) <= 51.8 + 15 + 30
        assert episode.peak_burn_rate == pytest.approx(1000.0)  # 100 % errors / 0.1 % budget
        # 20 min at 1000x of a 30-day budget, plus the 0.5x baseline while the episode lasts.
        lasted = (episode.resolved_at or 0) - episode.burn_started_at
        outage = 1000 * 20 * MIN / (30 * 86400)
        assert episode.budget_consumed == pytest.approx(
            outage + 0.5 * lasted / (30 * 86400), rel=0.01
        )
        assert episode.burn_started_at - scenario.at(sc.OUTAGE_START) == pytest.approx(37)


def test_a_slow_burn_over_more_than_11000_steps(slow_burn: Served) -> None:
    """4 d 6 h at 30 s is 12,240 steps: more than Prometheus gives in one range query."""
    scenario = slow_burn.scenario
    options = Options(scenario.at(0) + 7, scenario.end - 8, step=30)
    assert options.steps > 11_000
    slow_tier = (Tier(Severity.SEV3, 3 * 86400, 6 * 3600, 10.0),)  # 3d/6h at 1x
    result = run(slow_burn, [availability_slo(scenario, "ledger", tiers=slow_tier)], options)
    (episode,) = result.episodes
    start, end = scenario.at(sc.BURN2_START), scenario.at(sc.BURN2_END)
    # 2x after 2 days at 0.5x: the 3d window's mean passes 1x one day into the burn ...
    assert episode.declared_at - start == pytest.approx(86400, abs=60)
    # ... the 6h window's 2 h into it; it falls below 1x 4 h after the burn, then 5 min quiet.
    assert episode.burn_started_at - start == pytest.approx(2 * 3600, abs=60)
    assert (episode.resolved_at or 0) - end == pytest.approx(4 * 3600 + 300, abs=60)
    assert episode.budget_consumed == pytest.approx(2 * 2 / 30, rel=0.03)  # 2x for 2 of 30 days
    assert result.errors == {}


class Recording:
    """The real Prometheus client, remembering every range query's size."""

    def __init__(self, inner: PrometheusClient) -> None:
        self.inner = inner
        self.calls: list[tuple[str, float, float, float]] = []

    async def query(self, expr: str, at: float) -> list[Sample]:
        raise AssertionError("the backtest asks range queries only")

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        self.calls.append((expr, start, end, step))
        return await self.inner.query_range(expr, start, end, step)


def test_chunked_and_coarse_budget_queries_give_the_same_episodes(incidents: Served) -> None:
    scenario = incidents.scenario
    slos = [availability_slo(scenario, s, tiers=FAST) for s in ("checkout", "search")]
    base = Options(scenario.at(5 * 3600) + 7, scenario.at(8 * 3600) + 7, step=30)
    whole = run(incidents, slos, base)

    async def chunked() -> tuple[Result, Recording]:
        async with PrometheusClient(PrometheusConfig(url=incidents.url)) as client:
            recording = Recording(client)
            options = Options(base.start, base.end, 30, max_points_per_query=50, budget_step=150)
            return await replay(slos, recording, options), recording

    small, recording = asyncio.run(chunked())
    assert [(e.slo, e.declared_at, e.severities, e.resolved_at) for e in small.episodes] == [
        (e.slo, e.declared_at, e.severities, e.resolved_at) for e in whole.episodes
    ]
    assert len(whole.episodes) == 2
    fine = [c for c in recording.calls if c[3] == 30]
    coarse = [c for c in recording.calls if c[3] == 150]
    assert max(round((end - start) / step) + 1 for _, start, end, step in recording.calls) <= 50
    # Every step of the range is asked exactly once per query, in chunks of 50 points.
    expr = fine[0][0]
    covered = sorted(
        start + i * 30 for e, start, end, _ in fine if e == expr
        for i in range(round((end - start) / 30) + 1)
    )  # fmt: skip
    assert covered == grid(base)
    assert len({e for e, *_ in fine}) == 2 * 2 * 2 * 2  # 2 SLOs x 4 windows x (ratio, total)
    assert len({e for e, *_ in coarse}) == 2 * 2  # the 30d period queries, every 5 steps
    assert small.requests == len(recording.calls)


def test_backtest_and_daemon_ticks_agree(incidents: Served, tmp_path: Path) -> None:
    """The same SLOs, the same instants: `Parts.once(at)` and the backtest see the same
    transitions at the same times and measure the same impact."""
    scenario = incidents.scenario
    slo_file = tmp_path / "slos.yaml"
    slo_file.write_text(slo_yaml(scenario.job, tiers=True))
    (tmp_path / "sloguard.yaml").write_text(
        f'prometheus: {{url: "{incidents.url}"}}\nslo_paths: [slos.yaml]\nstate_path: state.db\n'
    )
    options = Options(
        scenario.at(sc.OUTAGE_START - 10 * MIN) + 7,
        scenario.at(sc.OUTAGE_END + 45 * MIN) + 7,
        step=60,
    )
    from sloguard.spec import load_slos

    result = run(incidents, load_slos([slo_file]), options)
    expected = sorted(
        (ev.at, ev.slo, ev.kind.value, ev.severity.name, ev.notify)
        for e in result.episodes
        for ev in e.events
    )

    async def ticks() -> list[tuple[float, str, str, str, bool]]:
        config = load_config(tmp_path / "sloguard.yaml")
        seen = []
        async with open_daemon(config, clock=ManualClock(options.start)) as daemon:
            for at in grid(options):
                report = await daemon.once(at)
                assert report.failures == ()
                seen += [
                    (e.at, e.slo, e.kind.value, e.severity.name, e.notify)
                    for s in report.slos
                    for e in s.events
                ]
        return sorted(seen)

    assert asyncio.run(ticks()) == expected
    assert {e.slo for e in result.episodes} == {"checkout-availability", "search-availability"}
    store = Store.open(tmp_path / "state.db", read_only=True)
    recorded = {e.id: e for e in store.episodes()}
    store.close()
    for e in result.episodes:
        mine = recorded[e.episode_id]
        assert mine.burn_started_at == e.burn_started_at
        assert mine.peak_burn_rate == pytest.approx(e.peak_burn_rate)
        assert (mine.burn_seconds or 0) / (30 * 86400) == pytest.approx(e.budget_consumed)


INCIDENTS = """\
- slo: checkout-availability
  start: "2024-01-01T06:00:00Z"
  end: "2024-01-01T06:20:00Z"
  name: INC-1
"""
SEV1_POLICY = (
    "name: sev1-only\ntiers:\n  - {severity: SEV1, long: 1h, short: 5m, budget_percent: 2}\n"
)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sloguard", "backtest", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_two_policies_against_known_incidents(incidents: Served, tmp_path: Path) -> None:
    """The search burn (10x for 7 h) was not an incident: the default tiers page for it, a
    SEV1-only policy does not. Both catch the checkout outage; only precision differs."""
    (tmp_path / "slos.yaml").write_text(slo_yaml(incidents.scenario.job, tiers=False))
    (tmp_path / "sev1.yaml").write_text(SEV1_POLICY)
    (tmp_path / "incidents.yaml").write_text(INCIDENTS)
    scenario = incidents.scenario
    proc = cli(
        str(tmp_path / "slos.yaml"),
        "--prometheus", incidents.url,
        "--from", str(scenario.at(0) + 7),
        "--to", str(scenario.end - 8),
        "--policy", str(tmp_path / "sev1.yaml"),
        "--incidents", str(tmp_path / "incidents.yaml"),
        "-o", "json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal
    body = json.loads(proc.stdout)
    spec, sev1 = body["summary"]["policies"]
    assert (spec["name"], spec["episodes"], spec["precision"], spec["recall"]) == (
        "spec", 2, 0.5, 1.0
    )  # fmt: skip
    assert (sev1["name"], sev1["episodes"], sev1["precision"], sev1["recall"]) == (
        "sev1-only", 1, 1.0, 1.0
    )  # fmt: skip
    # The SEV1 line is crossed ~52 s into the outage; the default tiers' SEV3 fires earlier.
    assert 51.8 <= sev1["detection_delay_seconds"]["max"] <= 51.8 + 45
    assert spec["detection_delay_seconds"]["max"] < sev1["detection_delay_seconds"]["max"]
    # Reset: the 6h window of the slow ticket tier holds the default policy's episode for 6 h.
    assert spec["reset_time_seconds"]["max"] > 6 * 3600
    assert sev1["reset_time_seconds"]["max"] < 3600
    checkout = next(e for e in body["episodes"] if e["policy"] == "sev1-only")
    assert set(checkout) >= {
        "slo", "declared_at", "severity_max", "severities", "resolved_at", "peak_burn_rate",
        "budget_consumed",
    }  # fmt: skip
    assert checkout["slo"] == "checkout-availability"
    assert checkout["severity_max"] == "SEV1"
    assert checkout["declared_at"] == "2024-01-01T06:01:07Z"  # 67 s into the outage
    assert checkout["severities"] == [{"at": checkout["declared_at"], "severity": "SEV1"}]
    assert checkout["peak_burn_rate"] == pytest.approx(1000.0)
    assert checkout["budget_consumed"] == pytest.approx(0.463, abs=0.005)
    open_search = next(e for e in body["episodes"] if e["slo"] == "search-availability")
    assert open_search["resolved_at"] is None  # still burning when the range ends


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_plot_is_a_png_of_plausible_size(incidents: Served, tmp_path: Path) -> None:
    (tmp_path / "slos.yaml").write_text(slo_yaml(incidents.scenario.job, tiers=False))
    (tmp_path / "sev1.yaml").write_text(SEV1_POLICY)
    scenario = incidents.scenario
    png = tmp_path / "out" / "backtest.png"
    png.parent.mkdir()
    proc = cli(
        str(tmp_path / "slos.yaml"),
        "--prometheus", incidents.url,
        "--from", "2024-01-01T00:00:07Z",
        "--to", str(scenario.end - 8),
        "--policy", str(tmp_path / "sev1.yaml"),
        "--plot", str(png),
        "-o", "markdown",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "plotted 2 SLO key(s)" in proc.stderr
    assert "| checkout-availability | 2024-01-01T06:01:07Z | SEV1 |" in proc.stdout
    data = png.read_bytes()
    width, height = png_size(data)
    assert (width, height) == (1300, 2 * 520)  # 13 in wide, 5.2 in per SLO, at 100 dpi
    assert 30_000 < len(data) < 2_000_000


def test_plot_without_matplotlib_is_a_clear_usage_error(
    incidents: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sloguard.cli import backtest as command

    monkeypatch.setattr(command, "plot_available", lambda: False)
    (tmp_path / "slos.yaml").write_text(slo_yaml(incidents.scenario.job, tiers=False))
    out = CliRunner().invoke(
        command.backtest,
        [str(tmp_path / "slos.yaml"), "--prometheus", incidents.url, "--from", "now-1h",
         "--to", "now", "--plot", str(tmp_path / "x.png")],
    )  # fmt: skip
    assert out.exit_code == 2
    assert "--plot needs matplotlib: pip install 'sloguard[plot]'" in out.output
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("policy", "args", "code", "message"),
    [
        pytest.param(
            "- {severity: SEV1, long: 1h, short: 5m, budget_percent: 200}\n",
            [],
            2,
            "policy.yaml:1:41: error: tiers[0].budget_percent: Input should be less than or "
            "equal to 100",
            id="bad-policy-located",
        ),
        pytest.param(
            SEV1_POLICY, ["--step", "30 seconds"], 2, "'30 seconds' is not a duration",
            id="bad-step",
        ),
        pytest.param(
            SEV1_POLICY, ["--to", "2023-01-01T00:00:00Z"], 2, "--to must be after --from",
            id="backwards",
        ),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_without_a_traceback(
    incidents: Served, tmp_path: Path, policy: str, args: list[str], code: int, message: str
) -> None:
    (tmp_path / "slos.yaml").write_text(slo_yaml(incidents.scenario.job, tiers=False))
    (tmp_path / "policy.yaml").write_text(policy)
    base = {"--from": "2024-01-01T00:00:07Z", "--to": "2024-01-01T01:00:07Z"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    proc = subprocess.run(
        [sys.executable, "-m", "sloguard", "backtest", "slos.yaml", "--prometheus", incidents.url,
         "--policy", "policy.yaml", *[x for kv in base.items() for x in kv]],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unreachable_prometheus_counts_as_no_data_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "slos.yaml").write_text(slo_yaml("job", tiers=False))
    proc = cli(
        str(tmp_path / "slos.yaml"), "--prometheus", "http://127.0.0.1:9", "--retries", "0",
        "--from", "2024-01-01T00:00:00Z", "--to", "2024-01-01T00:10:00Z",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "errors (those steps count as no data):" in proc.stdout
    assert "cannot connect" in proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
