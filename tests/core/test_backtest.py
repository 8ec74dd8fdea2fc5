"""Pure parts of backtest and postmortem: impact tracking in the lifecycle, the policy and
incidents files (located errors), incident matching, and the postmortem Markdown."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest

from sloguard.backtest import (
    Episode,
    Incident,
    Options,
    Policy,
    Result,
    SeverityChange,
    check_policy,
    load_incidents,
    score,
)
from sloguard.burn import Evaluation
from sloguard.errors import SpecError
from sloguard.lifecycle import EpisodeState, LifecyclePolicy, step
from sloguard.model import SLO, RatioIndicator, Severity
from sloguard.postmortem import SloFacts, render
from sloguard.records import Delivery, EpisodeRecord, Transition

T0 = 1_704_067_200.0
S1, S2, OK = Severity.SEV1, Severity.SEV2, Severity.OK
POLICY = LifecyclePolicy(quiet_period_seconds=300)


def ev(at: float, severity: Severity, fast: float | None, budget: float | None = 0.9) -> Evaluation:
    return Evaluation(
        slo="checkout",
        at=at,
        severity=severity,
        burn_rates=MappingProxyType({3600: None if fast is None else fast / 2, 300: fast}),
        error_budget_remaining=budget,
        time_to_exhaustion_seconds=None,
    )


# (offset, severity, burn rate of the 5m window)
Tick = tuple[float, Severity, float | None]


def replay(ticks: list[Tick]) -> EpisodeState:
    state: EpisodeState | None = None
    for offset, severity, fast in ticks:
        state, _ = step(state, ev(T0 + offset, severity, fast), T0 + offset, POLICY)
    assert state is not None
    return state


@pytest.mark.parametrize(
    ("ticks", "burn_started", "peak", "burn_seconds"),
    [
        pytest.param(
            [(0, OK, 0.5), (30, OK, 20.0), (60, S1, 400.0), (90, S1, 800.0)],
            30,
            800.0,
            30 * (20 + 400 + 800),
            id="run-before-declaration-counts",
        ),
        pytest.param(
            [(0, OK, 0.5), (30, OK, 20.0), (60, OK, 0.9), (90, S1, 50.0)],
            90,
            50.0,
            30 * 50,
            id="run-broken-by-a-clear-step-restarts",
        ),
        pytest.param(
            [(0, OK, 3.0), (30, OK, None), (60, S2, 9.0)],
            0,
            9.0,
            30 * 9,  # the first evaluation has no previous one: nothing to integrate yet
            id="no-data-neither-starts-nor-ends-a-run",
        ),
        pytest.param(
            [(0, S2, 0.8), (30, S2, 0.7)],
            0,
            0.8,
            30 * 0.7,
            id="declared-without-fast-burn",
        ),
        pytest.param(
            [(0, S1, 100.0), (30, OK, 2.0), (60, OK, 0.5), (360, OK, 0.5), (400, OK, 0.5)],
            0,
            100.0,
            30 * 2.0 + 30 * 0.5 + 300 * 0.5,  # up to and with the resolve; frozen afterwards
            id="frozen-after-resolve",
        ),
    ],
)
def test_impact_is_measured_from_the_fast_window(
    ticks: list[Tick], burn_started: float, peak: float, burn_seconds: float
) -> None:
    state = replay(ticks)
    assert state.burn_started_at == T0 + burn_started
    assert state.peak_burn_rate == pytest.approx(peak)
    assert state.burn_seconds == pytest.approx(burn_seconds)
    assert EpisodeState.from_json(state.to_json()) == state


def slo(name: str = "checkout-availability", period_days: int = 30) -> SLO:
    return SLO(
        name=name,
        service="checkout",
        objective_percent=99.9,
        period_seconds=period_days * 86400,
        indicator=RatioIndicator("sum(rate(e[{{.window}}]))", "sum(rate(t[{{.window}}]))"),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "- {severity: SEV1, long: 1h, short: 5m, budget_percent: 2}\n"
            "- {severity: SEV4, long: 6h, short: 30m, budget_percent: 5}\n",
            ["policy.yaml:2:4: error: tiers[1].severity: severity 'SEV4' is not one of"],
            id="bad-severity-located",
        ),
        pytest.param(
            "tiers:\n  - {severity: SEV1, long: 1h, short: 2h, budget_percent: 2}\n",
            ["policy.yaml:2:32: error: tier 1: short window 2h must be shorter than the long"],
            id="short-not-shorter",
        ),
        pytest.param(
            "- {severity: SEV1, long: 1h, shrt: 5m, budget_percent: 2}\n",
            ["policy.yaml:1:30: error: unknown field 'shrt' in tiers[0]; did you mean 'short'?"],
            id="typo-suggested",
        ),
        pytest.param(
            "- {severity: SEV1, long: 45d, short: 1d, budget_percent: 2}\n",
            [
                "policy.yaml:1:3: error: tier 1 (SEV1 45d/1d) on SLO checkout-availability: the "
                "long window is longer than the SLO period 30d"
            ],
            id="longer-than-the-period",
        ),
        pytest.param(
            "- {severity: SEV1, long: 5m, short: 1m, budget_percent: 50}\n",
            [
                "policy.yaml:1:3: error: tier 1 (SEV1 5m/1m) on SLO checkout-availability: can "
                "never fire at objective 99.9 %"
            ],
            id="can-never-fire",
        ),
        pytest.param(
            "just text\n", ["policy.yaml:1:1: error: expected a list of tiers"], id="no-list"
        ),
    ],
)
def test_policy_file_errors_are_located(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("policy.yaml").write_text(text)
    with pytest.raises(SpecError) as info:
        check_policy("policy.yaml", [slo()])
    got = [str(p) for p in info.value.problems]
    assert len(got) == len(expected)
    for line, prefix in zip(got, expected, strict=True):
        assert line.startswith(prefix), line


def test_policy_file_names_and_tiers(tmp_path: Path) -> None:
    path = tmp_path / "fast.yaml"
    path.write_text(
        "name: fast-only\ntiers:\n  - {severity: sev1, long: 1h, short: 5m, budget_percent: 2}\n"
    )
    policy = check_policy(path, [slo()])
    assert policy.name == "fast-only"
    assert policy.tiers is not None
    expected: list[tuple[Severity, str, str, object]] = [(S1, "1h", "5m", pytest.approx(14.4))]
    assert [(t.severity, t.long, t.short, t.factor(30 * 86400)) for t in policy.tiers] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "- {slo: checkout-availability, start: '2024-01-01T06:00:00',"
            " end: '2024-01-01T07:00:00Z'}\n",
            "incidents.yaml:1:32: error: incidents[0].start: Input should have timezone info",
            id="no-timezone",
        ),
        pytest.param(
            "- {slo: checkot, start: '2024-01-01T06:00:00Z', end: '2024-01-01T07:00:00Z'}\n",
            "incidents.yaml:1:9: error: incidents[0].slo: no SLO named 'checkot' is being "
            "backtested; known: checkout-availability",
            id="unknown-slo",
        ),
        pytest.param(
            "- {slo: checkout-availability, start: '2024-01-01T06:00:00Z',"
            " end: '2024-01-01T05:00:00Z'}\n",
            "incidents.yaml:1:68: error: incidents[0].end must be after its start",
            id="end-before-start",
        ),
    ],
)
def test_incident_file_errors_are_located(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("incidents.yaml").write_text(text)
    with pytest.raises(SpecError) as info:
        load_incidents("incidents.yaml", [slo()])
    assert [str(p) for p in info.value.problems] == [expected]


def episode(policy: str, slo_key: str, declared: float, resolved: float | None) -> Episode:
    return Episode(
        policy=policy,
        slo=slo_key,
        slo_name=slo_key.split("{")[0],
        episode_id=f"{policy}-{slo_key}-{declared}",
        declared_at=T0 + declared,
        severities=(SeverityChange(T0 + declared, S1),),
        resolved_at=None if resolved is None else T0 + resolved,
        burn_started_at=T0 + declared,
        peak_burn_rate=10.0,
        burn_window="5m",
        budget_consumed=0.01,
        budget_remaining=0.5,
        events=(),
    )


def test_matching_precision_recall_delay_and_reset() -> None:
    policies = (Policy("a"), Policy("b"))
    episodes = [
        episode("a", "checkout-availability", 100, 2000),  # detects INC-1 100 s late
        episode("a", 'checkout-availability{region="eu"}', 3000, None),  # INC-2, still open
        episode("a", "checkout-availability", 9000, 9500),  # nothing happened: false positive
        episode("b", "checkout-availability", -50, 1500),  # open before INC-1 started
    ]
    result = Result(
        options=Options(start=T0 - 3600, end=T0 + 10_000, step=30),
        slos=(slo(),),
        policies=policies,
        episodes=episodes,
        errors={},
        requests=0,
        budget_step=30,
    )
    incidents = [
        Incident("checkout-availability", T0, T0 + 1200, "INC-1"),
        Incident("checkout-availability", T0 + 2900, T0 + 3500, "INC-2"),
        Incident("checkout-availability", T0 + 50_000, T0 + 51_000, "later"),
    ]
    a, b = score(result, incidents)
    assert (a.episodes, a.matched_episodes, a.incidents, a.detected) == (3, 2, 2, 2)
    expected: tuple[object, float] = (pytest.approx(2 / 3), 1.0)
    assert (a.precision, a.recall) == expected
    assert [(m.detection_delay_seconds, m.reset_time_seconds) for m in a.matches] == [
        (100.0, 800.0),
        (100.0, None),  # still open at the end of the range: reset time unknown
    ]
    assert (b.precision, b.recall) == (1.0, 0.5)
    assert [(m.detection_delay_seconds, m.reset_time_seconds) for m in b.matches] == [
        (0.0, 300.0),
        (None, None),
    ]
    assert [i.name for i in a.ignored] == ["later"]


def test_postmortem_has_the_timeline_impact_and_blank_sections() -> None:
    record = EpisodeRecord(
        id="sloguard-abc",
        slo="checkout-availability",
        declared_at=T0 + 60,
        resolved_at=T0 + 2400,
        peak="SEV1",
        transitions=(
            Transition(T0 + 60, "declared", "SEV2", None, True, ""),
            Transition(T0 + 90, "escalated", "SEV1", "SEV2", True, ""),
            Transition(T0 + 1500, "deescalated", "SEV2", "SEV1", False, ""),
            Transition(T0 + 2100, "quiet", "OK", "SEV2", False, ""),
            Transition(T0 + 2400, "resolved", "SEV1", None, True, ""),
        ),
        deliveries=(
            Delivery("pd", "declared", "delivered", 1, T0 + 60, T0 + 61, "", 202),
            Delivery("hook", "declared", "dead", 3, T0 + 60, T0 + 400, "HTTP 410", 410),
        ),
        burn_started_at=T0 + 15,
        peak_burn_rate=1000.0,
        burn_seconds=0.0463 * 30 * 86400,
        budget_remaining=0.52,
    )
    text = render(record, SloFacts.of(slo()))
    assert text.startswith("# Postmortem draft: checkout-availability, SEV1, 2024-01-01\n")
    timeline = text.split("## Timeline (UTC)\n\n")[1].split("\n\n")[0].splitlines()
    assert timeline == [
        "- 2024-01-01T00:00:15Z Burn starts: the 5m burn rate goes above 1x (spending the "
        "budget faster than the SLO period allows)",
        "- 2024-01-01T00:01:00Z Declared **SEV2** — paged",
        "- 2024-01-01T00:01:01Z notification `declared` to `pd` delivered (1 attempt, HTTP 202)",
        "- 2024-01-01T00:01:30Z Escalated **SEV1** (from SEV2) — paged",
        "- 2024-01-01T00:06:40Z notification `declared` to `hook` **dead-lettered** after 3 "
        "attempts, HTTP 410: HTTP 410",
        "- 2024-01-01T00:25:00Z De-escalated **SEV2** (from SEV1)",
        "- 2024-01-01T00:35:00Z No tier firing; quiet period starts",
        "- 2024-01-01T00:40:00Z Resolved (peak SEV1) — paged",
    ]
    for line in (
        "- **Peak burn rate** (5m): 1000x",
        "- **Error budget consumed during the episode**: 4.63 %",
        "- **Error budget remaining**: 52.00 %",
        "- **Time from first burn to declaration**: 45s",
        "- **Duration (first burn to resolve)**: 39m45s",
        "- **Time from first burn to the first page delivered**: 46s",
        "- **Service**: checkout",
        "## Contributing factors",
        "## Action items",
    ):
        assert line in text.splitlines(), line
