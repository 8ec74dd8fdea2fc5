"""De-escalations and re-escalations page no one, but the notifiers that follow an incident's
severity (the incident channel, the status page, the ticket) hear them, so what the team and
the customers read shows the severity that burns now."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from sloguard.burn import Evaluation
from sloguard.lifecycle import EpisodeState, Event, LifecyclePolicy, step
from sloguard.model import Severity
from sloguard.routing import Route, dispatch

S1, S2, S3, OK = Severity.SEV1, Severity.SEV2, Severity.SEV3, Severity.OK
T0 = 1_704_067_200.0
POLICY = LifecyclePolicy(quiet_period_seconds=300, stale_after_seconds=600)
ROUTES = [
    Route(("pd", "room", "public"), frozenset({S1, S2})),
    Route(("tracker",), frozenset({S3})),
]


def _events(severities: list[Severity]) -> list[Event]:
    state: EpisodeState | None = None
    events: list[Event] = []
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
        state, new = step(state, evaluation, at, POLICY)
        events.extend(new)
    return events


def _heard(severities: list[Severity], followers: frozenset[str]) -> list[str]:
    state = EpisodeState(slo="checkout")
    got: list[str] = []
    for event in _events(severities):
        state, out = dispatch(state, [event], ROUTES, "checkout", {}, followers)
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
            frozenset({"room", "tracker"}),
            [
                "pd declared SEV2",
                "room declared SEV2",
                "public declared SEV2",
                "room deescalated SEV3",
            ],
            id="only-followers-already-told",
        ),
    ],
)
def test_who_hears_a_change_of_severity(
    severities: list[Severity], followers: frozenset[str], expected: list[str]
) -> None:
    assert _heard(severities, followers) == expected
