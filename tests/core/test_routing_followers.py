"""De-escalations and re-escalations page no one, but the notifiers that follow an incident's
severity (the incident channel, the status page, the ticket) hear them, so what the team and
the customers read shows the severity that burns now; a follower routed only at a lower tier
is told when the episode eases into that tier (the SEV3 ticket once the burn slowed)."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from sloguard.burn import Evaluation
from sloguard.lifecycle import EpisodeState, LifecyclePolicy, step
from sloguard.model import Severity
from sloguard.routing import Matcher, Route, Silence, active_silence, dispatch

S1, S2, S3, OK = Severity.SEV1, Severity.SEV2, Severity.SEV3, Severity.OK
T0 = 1_704_067_200.0
POLICY = LifecyclePolicy(quiet_period_seconds=300, stale_after_seconds=600)
ROUTES = [
    Route(("pd", "room", "public"), frozenset({S1, S2})),
    Route(("tracker", "pager3"), frozenset({S3})),
]
QUIET = [OK] * 11  # 330 s with no tier firing: past the quiet period, resolved
# Muting the third and fourth evaluations (T0 + 60 s to T0 + 120 s).
SILENCE = Silence("maintenance", T0 + 60, T0 + 120)


def _heard(
    severities: list[Severity], followers: frozenset[str], silences: tuple[Silence, ...] = ()
) -> list[str]:
    """Step and route one evaluation every 30 s, as a tick does (sloguard.paging.advance)."""
    state: EpisodeState | None = None
    got: list[str] = []
    for i, severity in enumerate(severities):
        at = T0 + 30 * i
        evaluation = Evaluation(
            slo="checkout",
            at=at,
            severity=severity,
            burn_rates=MappingProxyType({}),
            error_budget_remaining=None,
            time_to_exhaustion_seconds=None,
        )
        muted = active_silence(silences, "checkout", {}, at)
        state, events = step(state, evaluation, at, POLICY, silence=muted)
        state, out = dispatch(state, events, ROUTES, "checkout", {}, followers)
        got.extend(f"{d.notifier} {d.kind.value} {d.event.severity.name}" for d in out)
    return got


@pytest.mark.parametrize(
    ("severities", "followers", "expected"),
    [
        pytest.param(
            [S1, S2, S1, OK],
            frozenset(),
            ["pd declared SEV1", "room declared SEV1", "public declared SEV1"],
            id="no-followers-as-before",
        ),
        pytest.param(
            [S1, S2, S1],
            frozenset({"room", "public"}),
            [
                "pd declared SEV1",
                "room declared SEV1",
                "public declared SEV1",
                "room deescalated SEV2",
                "public deescalated SEV2",
                "room escalated SEV1",  # back up to the peak: re-paged to no one
                "public escalated SEV1",
            ],
            id="followers-hear-both-ways-pagers-do-not",
        ),
        pytest.param(
            [S2, S3],
            frozenset({"room"}),
            [
                "pd declared SEV2",
                "room declared SEV2",
                "public declared SEV2",
                "room deescalated SEV3",
            ],
            id="only-followers-already-told",
        ),
        pytest.param(
            [S2, S3, *QUIET],
            frozenset({"room", "tracker"}),
            [
                "pd declared SEV2",
                "room declared SEV2",
                "public declared SEV2",
                "room deescalated SEV3",
                "tracker declared SEV3",  # eased into its tier: the ticket opens now
                "pd resolved SEV2",
                "room resolved SEV2",
                "public resolved SEV2",
                "tracker resolved SEV2",
            ],
            id="eased-into-a-lower-followers-tier-then-resolved",
        ),
        pytest.param(
            [S1, S3, S2, S3, S2, S3],
            frozenset({"tracker"}),
            [
                "pd declared SEV1",
                "room declared SEV1",
                "public declared SEV1",
                "tracker declared SEV3",
                "tracker escalated SEV2",  # told: now it follows the severity both ways
                "tracker deescalated SEV3",
                "tracker escalated SEV2",
                "tracker deescalated SEV3",
            ],
            id="declared-once-per-episode-then-followed",
        ),
        pytest.param(
            [S1, S2, *QUIET],
            frozenset({"room", "tracker"}),
            [
                "pd declared SEV1",
                "room declared SEV1",
                "public declared SEV1",
                "room deescalated SEV2",
                "pd resolved SEV1",
                "room resolved SEV1",
                "public resolved SEV1",
            ],
            id="never-at-its-tier-hears-nothing",
        ),
        pytest.param(
            [S1, OK, S3],
            frozenset({"tracker"}),
            [
                "pd declared SEV1",
                "room declared SEV1",
                "public declared SEV1",
                "tracker declared SEV3",
            ],
            id="refired-into-its-tier",
        ),
        pytest.param(
            [S2, S3],
            frozenset(),
            ["pd declared SEV2", "room declared SEV2", "public declared SEV2"],
            id="a-pager-at-the-lower-tier-is-not-paged-on-the-way-down",
        ),
    ],
)
def test_who_hears_a_change_of_severity(
    severities: list[Severity], followers: frozenset[str], expected: list[str]
) -> None:
    assert _heard(severities, followers) == expected


def test_a_silence_holds_back_the_lower_tier_until_it_eases_there_again() -> None:
    # SEV1 paged, eased to SEV3 inside the silence (not told), then SEV2 and SEV3 after it.
    heard = _heard([S1, S2, S3, S3, S2, S3], frozenset({"tracker"}), (SILENCE,))
    assert heard == [
        "pd declared SEV1",
        "room declared SEV1",
        "public declared SEV1",
        "tracker declared SEV3",
    ]


def test_a_follower_routed_by_the_ticket_alerts_labels_joins_when_the_burn_eases_there() -> None:
    """The labels routes see at SEV3 are the ticket alert's (a Sloth ``ticket_alert.labels``):
    a follower matched by them joins when the episode eases into SEV3, not before."""
    routes = [
        Route(("pd",), frozenset({S1, S2})),
        Route(("tracker",), match=Matcher(labels=MappingProxyType({"queue": "payments"}))),
    ]
    by_severity = {S3: MappingProxyType({"queue": "payments"})}
    state: EpisodeState | None = None
    heard: list[str] = []
    for i, severity in enumerate([S1, S3]):
        at = T0 + 30 * i
        evaluation = Evaluation("checkout", at, severity, MappingProxyType({}), None, None)
        state, events = step(state, evaluation, at, POLICY)
        state, out = dispatch(
            state, events, routes, "checkout", {}, frozenset({"tracker"}), by_severity
        )
        heard.extend(f"{d.notifier} {d.kind.value} {d.event.severity.name}" for d in out)
    assert heard == ["pd declared SEV1", "tracker declared SEV3"]
