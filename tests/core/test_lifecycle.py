"""Table tests of the episode state machine (sloguard.lifecycle) and routing (sloguard.routing)."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest

from sloguard.burn import Evaluation
from sloguard.lifecycle import (
    EpisodeState,
    Event,
    EventKind,
    LifecyclePolicy,
    Phase,
    episode_id,
    full_step,
    is_idle,
    step,
)
from sloguard.model import Severity
from sloguard.routing import (
    Matcher,
    Route,
    Silence,
    active_silence,
    dispatch,
    match_labels,
    recipients,
)

S1, S2, S3, OK, ND = Severity.SEV1, Severity.SEV2, Severity.SEV3, Severity.OK, Severity.NO_DATA
K = EventKind
POLICY = LifecyclePolicy(quiet_period_seconds=300, stale_after_seconds=600)
T0 = 1_704_067_200.0


def ev(at: float, severity: Severity, error: str = "") -> Evaluation:
    return Evaluation(
        slo="checkout",
        at=at,
        severity=severity,
        burn_rates=MappingProxyType({}),
        error_budget_remaining=None,
        time_to_exhaustion_seconds=None,
        error=error,
    )


# One step: (seconds after T0, evaluated severity, silence reason or "", error text or "").
Tick = tuple[float, Severity, str, str]


def t(offset: float, severity: Severity, silence: str = "", error: str = "") -> Tick:
    return (offset, severity, silence, error)


def run(ticks: list[Tick], policy: LifecyclePolicy = POLICY) -> tuple[EpisodeState, list[Event]]:
    state: EpisodeState | None = None
    events: list[Event] = []
    for offset, severity, silence, error in ticks:
        state, new = step(
            state, ev(T0 + offset, severity, error), T0 + offset, policy, silence=silence
        )
        events.extend(new)
    assert state is not None
    return state, events


def summary(events: list[Event]) -> list[str]:
    """Compact, readable form: 'declared SEV2 +page', 'deescalated SEV3'."""
    return [f"{e.kind.value} {e.severity.name}{' +page' if e.notify else ''}" for e in events]


@pytest.mark.parametrize(
    ("ticks", "expected", "phase"),
    [
        pytest.param([t(0, OK), t(30, OK)], [], Phase.OK, id="healthy-nothing-happens"),
        pytest.param([t(0, S2)], ["declared SEV2 +page"], Phase.FIRING, id="declare"),
        pytest.param(
            [t(0, S3), t(30, S2), t(60, S1)],
            ["declared SEV3 +page", "escalated SEV2 +page", "escalated SEV1 +page"],
            Phase.FIRING,
            id="escalate-twice",
        ),
        pytest.param(
            [t(0, S1), t(30, S2), t(60, S3)],
            ["declared SEV1 +page", "deescalated SEV2", "deescalated SEV3"],
            Phase.FIRING,
            id="deescalation-is-recorded-not-paged",
        ),
        pytest.param(
            [t(0, S1), t(30, S3), t(60, S1), t(90, S2)],
            ["declared SEV1 +page", "deescalated SEV3", "reescalated SEV1", "deescalated SEV2"],
            Phase.FIRING,
            id="back-up-to-the-peak-does-not-repage",
        ),
        pytest.param(
            [t(0, S2), t(30, S2), t(60, S2)],
            ["declared SEV2 +page"],
            Phase.FIRING,
            id="steady-burn-pages-once",
        ),
        pytest.param(
            [t(0, S2), t(60, OK), t(120, OK), t(359, OK)],
            ["declared SEV2 +page", "quiet OK"],
            Phase.QUIET,
            id="clear-but-quiet-period-not-over",
        ),
        pytest.param(
            [t(0, S2), t(60, OK), t(360, OK)],
            ["declared SEV2 +page", "quiet OK", "resolved SEV2 +page"],
            Phase.OK,
            id="resolve-after-quiet-period",
        ),
        pytest.param(
            [t(0, S1), t(30, S3), t(60, OK), t(360, OK)],
            ["declared SEV1 +page", "deescalated SEV3", "quiet OK", "resolved SEV1 +page"],
            Phase.OK,
            id="resolve-carries-the-peak",
        ),
        pytest.param(
            [t(0, S2), t(60, OK), t(120, S2), t(180, OK), t(240, S2), t(300, OK), t(600, OK)],
            [
                "declared SEV2 +page",
                "quiet OK",
                "refired SEV2",
                "quiet OK",
                "refired SEV2",
                "quiet OK",
                "resolved SEV2 +page",
            ],
            Phase.OK,
            id="flapping-is-one-episode-one-page-one-resolve",
        ),
        pytest.param(
            [t(0, S3), t(60, OK), t(120, S1)],
            ["declared SEV3 +page", "quiet OK", "escalated SEV1 +page"],
            Phase.FIRING,
            id="reburn-higher-within-quiet-period-escalates",
        ),
        pytest.param(
            [t(0, S2), t(60, OK), t(360, OK), t(400, S2)],
            ["declared SEV2 +page", "quiet OK", "resolved SEV2 +page", "declared SEV2 +page"],
            Phase.FIRING,
            id="burn-after-resolve-is-a-new-episode",
        ),
        pytest.param(
            [t(0, S2), t(60, ND), t(3600, ND), t(7200, OK)],
            [
                "declared SEV2 +page",
                "no_data NO_DATA",
                "stale SEV2 +page",
                "data_restored OK",
                "quiet OK",
            ],
            Phase.QUIET,
            id="no-data-never-resolves-and-goes-stale-once",
        ),
        pytest.param(
            [t(0, S2), t(60, ND, error="prometheus down"), t(659, ND), t(660, ND), t(700, S2)],
            ["declared SEV2 +page", "no_data NO_DATA", "stale SEV2 +page", "data_restored SEV2"],
            Phase.FIRING,
            id="stale-after-exactly-the-configured-time",
        ),
        pytest.param(
            [t(0, S2), t(60, ND), t(700, ND), t(760, S2), t(800, ND), t(1400, ND)],
            [
                "declared SEV2 +page",
                "no_data NO_DATA",
                "stale SEV2 +page",
                "data_restored SEV2",
                "no_data NO_DATA",
                "stale SEV2 +page",
            ],
            Phase.FIRING,
            id="a-new-gap-can-go-stale-again",
        ),
        pytest.param(
            [t(0, ND), t(700, ND), t(800, OK)], [], Phase.OK, id="no-data-without-episode-is-quiet"
        ),
        pytest.param(
            [t(0, S2), t(60, OK), t(120, ND), t(300, ND), t(360, OK)],
            [
                "declared SEV2 +page",
                "quiet OK",
                "no_data NO_DATA",
                "data_restored OK",
                "resolved SEV2 +page",
            ],
            Phase.OK,
            id="gap-in-quiet-period-does-not-resolve-until-data-is-back",
        ),
        pytest.param(
            [t(0, S2), t(60, S2), t(30, OK), t(60, OK), t(10, S1)],
            ["declared SEV2 +page"],
            Phase.FIRING,
            id="clock-backwards-or-same-instant-changes-nothing",
        ),
        pytest.param(
            [t(0, S2, "db upgrade"), t(60, S1, "db upgrade"), t(120, OK), t(420, OK)],
            ["declared SEV2", "escalated SEV1", "quiet OK", "resolved SEV1"],
            Phase.OK,
            id="silenced-episode-is-tracked-never-paged",
        ),
        pytest.param(
            [t(0, S2, "db upgrade"), t(60, S2, "db upgrade"), t(120, S2)],
            ["declared SEV2", "declared SEV2 +page"],
            Phase.FIRING,
            id="silence-ends-while-burning-sends-the-held-page",
        ),
        pytest.param(
            [t(0, S3), t(60, S1, "db upgrade"), t(120, S1)],
            ["declared SEV3 +page", "escalated SEV1", "escalated SEV1 +page"],
            Phase.FIRING,
            id="escalation-held-by-silence-goes-out-after",
        ),
        pytest.param(
            [t(0, S2), t(60, OK, "db upgrade"), t(360, OK, "db upgrade")],
            ["declared SEV2 +page", "quiet OK", "resolved SEV2 +page"],
            Phase.OK,
            id="silence-never-holds-back-a-resolve",
        ),
        pytest.param(
            [t(0, S2, "db"), t(60, ND, "db"), t(700, ND, "db")],
            ["declared SEV2", "no_data NO_DATA", "stale SEV2"],
            Phase.FIRING,
            id="stale-of-a-silenced-episode-is-not-paged",
        ),
    ],
)
def test_lifecycle(ticks: list[Tick], expected: list[str], phase: Phase) -> None:
    state, events = run(ticks)
    assert summary(events) == expected
    assert state.phase is phase


@pytest.mark.parametrize(
    ("quiet", "resolved_at"),
    [
        pytest.param(0, 30, id="zero-quiet-period-resolves-at-first-clear"),
        pytest.param(60, 90, id="one-minute"),
        pytest.param(300, 330, id="default-five-minutes"),
    ],
)
def test_quiet_period_is_configurable(quiet: float, resolved_at: float) -> None:
    ticks = [t(0, S1)] + [t(30 + 30 * i, OK) for i in range(12)]
    state, events = run(ticks, LifecyclePolicy(quiet_period_seconds=quiet))
    resolved = [e for e in events if e.kind is K.RESOLVED]
    assert [e.at - T0 for e in resolved] == [resolved_at]
    assert state.resolved_at == T0 + resolved_at


def test_one_episode_id_per_burn_stable_and_short() -> None:
    _, events = run([t(0, S3), t(30, S1), t(60, OK), t(360, OK), t(400, S2)])
    first = {e.episode_id for e in events[:4]}
    assert first == {episode_id("checkout", T0)}
    assert events[-1].episode_id == episode_id("checkout", T0 + 400) != next(iter(first))
    assert episode_id("checkout", T0) == episode_id("checkout", T0)  # stable across restarts
    long_key = "x" * 5000
    assert len(episode_id(long_key, T0)) <= 255  # PagerDuty dedup_key and Opsgenie alias
    assert len({e.event_id for e in events}) == len(events)


def test_state_round_trips_through_json() -> None:
    state, _ = run([t(0, S2, "maint"), t(60, S1), t(90, ND, error="timeout")])
    again = EpisodeState.from_json(state.to_json())
    assert again == state
    # A restart continues the same episode: the next clear evaluation quiets it, no new page.
    _, events = step(again, ev(T0 + 120, OK), T0 + 120, POLICY)
    assert summary(events) == ["data_restored OK", "quiet OK"]


# --- the idle key's shortcut ---------------------------------------------------------------

IDLE = EpisodeState(slo="checkout", last_at=T0, episode_id="", severity=OK)
RESOLVED = EpisodeState(
    slo="checkout",
    last_at=T0,
    episode_id=episode_id("checkout", T0 - 900),
    declared_at=T0 - 900,
    resolved_at=T0 - 300,
    peak=S1,
    paged=S1,
    notified=("pd",),
    burn_started_at=T0 - 960,
    peak_burn_rate=20.0,
    burn_seconds=600.0,
    budget_remaining=0.8,
)
STATES = {
    "new-key": None,
    "idle": IDLE,
    "idle-never-evaluated": EpisodeState(slo="checkout"),
    "resolved-episode": RESOLVED,
    "burning-below-a-tier": replace(
        IDLE, burning_since=T0 - 60, run_peak_burn_rate=2.0, run_burn_seconds=60.0
    ),
    "no-data": replace(IDLE, severity=ND, no_data_since=T0 - 60, error="timeout"),
    "silenced": replace(IDLE, silenced="maint"),
    "stale-sent": replace(IDLE, stale_sent=True),
    "firing": run([t(0, S1)])[0],
    "quiet": run([t(0, S1), t(60, OK)])[0],
}


def burning(at: float, severity: Severity, fast: float | None, error: str = "") -> Evaluation:
    """An evaluation whose shortest window (5m) burns at ``fast``."""
    return replace(ev(at, severity, error), burn_rates=MappingProxyType({300: fast, 3600: 0.5}))


EVALUATIONS = {
    "ok": burning(T0 + 30, OK, 0.2),
    "ok-at-1x": burning(T0 + 30, OK, 1.0),
    "ok-above-1x": burning(T0 + 30, OK, 1.5),
    "ok-unknown-burn": burning(T0 + 30, OK, None),
    "ok-no-burn-rates": ev(T0 + 30, OK),
    "sev1": burning(T0 + 30, S1, 20.0),
    "no-data": burning(T0 + 30, ND, None),
    "error": burning(T0 + 30, ND, None, error="timeout"),
    "in-the-past": burning(T0, OK, 0.2),
}


@pytest.mark.parametrize("silence", ["", "maint"])
@pytest.mark.parametrize("evaluation", EVALUATIONS)
@pytest.mark.parametrize("state", STATES)
def test_the_idle_shortcut_is_the_full_step(state: str, evaluation: str, silence: str) -> None:
    """An idle key (no episode, nothing burning, OK again) skips the state machine; whatever
    the state and the evaluation, ``step`` gives what the full state machine gives."""
    before, evaluated = STATES[state], EVALUATIONS[evaluation]
    got = step(before, evaluated, evaluated.at, POLICY, silence=silence)
    assert got == full_step(before, evaluated, evaluated.at, POLICY, silence=silence)
    ok = ("ok", "ok-at-1x", "ok-unknown-burn", "ok-no-burn-rates")
    idle = (
        state in ("idle", "idle-never-evaluated", "resolved-episode", "silenced")
        and (evaluation in ok or (evaluation == "in-the-past" and state == "idle-never-evaluated"))
        and silence == ("maint" if state == "silenced" else "")  # the silence did not change
    )
    assert is_idle(before, evaluated, evaluated.at, silence) is idle
    if idle:
        assert before is not None
        assert got == (replace(before, last_at=evaluated.at), [])


# --- routing ---------------------------------------------------------------------------

ROUTES = [
    Route(("pd", "incidents"), frozenset({S1, S2})),
    Route(("og",), frozenset({S3}), Matcher(labels=MappingProxyType({"team": "payments"}))),
    Route(("chat",)),
]


@pytest.mark.parametrize(
    ("severity", "labels", "slo", "expected"),
    [
        pytest.param(S1, {"team": "payments"}, "checkout", ("pd", "incidents", "chat"), id="sev1"),
        pytest.param(S3, {"team": "payments"}, "checkout", ("og", "chat"), id="sev3-payments"),
        pytest.param(S3, {"team": "search"}, "checkout", ("chat",), id="sev3-other-team"),
    ],
)
def test_recipients(
    severity: Severity, labels: dict[str, str], slo: str, expected: tuple[str, ...]
) -> None:
    assert recipients(ROUTES, severity, slo, labels) == expected


def test_dispatch_escalation_and_resolve_reach_everyone_told() -> None:
    labels = match_labels({"team": "payments"}, {}, "checkout")
    _, events = run([t(0, S3), t(30, S1), t(60, OK), t(360, OK)])
    state = EpisodeState(slo="checkout")
    got: list[tuple[str, str, str]] = []
    for event in events:
        state, out = dispatch(state, [event], ROUTES, "checkout", labels)
        got.extend((d.notifier, d.kind.value, d.event.kind.value) for d in out)
    assert got == [
        ("og", "declared", "declared"),
        ("chat", "declared", "declared"),
        ("pd", "declared", "escalated"),  # pd's incident starts at the escalation
        ("incidents", "declared", "escalated"),
        ("chat", "escalated", "escalated"),
        ("og", "resolved", "resolved"),  # og never routed SEV1, but closes what it opened
        ("chat", "resolved", "resolved"),
        ("pd", "resolved", "resolved"),
        ("incidents", "resolved", "resolved"),
    ]


@pytest.mark.parametrize(
    ("silence", "slo", "labels", "at", "muted"),
    [
        pytest.param(Silence("db", 100, 200), "a", {}, 150, "db", id="inside-window-no-matcher"),
        pytest.param(Silence("db", 100, 200), "a", {}, 200, "", id="end-is-exclusive"),
        pytest.param(Silence("db", 100, 200), "a", {}, 99, "", id="before-start"),
        pytest.param(
            Silence("db", 0, 200, Matcher(slos=frozenset({"b"}))), "a", {}, 50, "", id="other-slo"
        ),
        pytest.param(
            Silence("db", 0, 200, Matcher(labels=MappingProxyType({"team": "x"}))),
            "a",
            {"team": "x"},
            50,
            "db",
            id="label-match",
        ),
    ],
)
def test_silences(
    silence: Silence, slo: str, labels: dict[str, str], at: float, muted: str
) -> None:
    assert active_silence([silence], slo, labels, at) == muted
