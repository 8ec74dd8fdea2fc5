"""Pages and notifications of a calendar SLO: "x% of the budget gone in 1h" is a share of the
current period's real length at the event's instant (February's 28 days, not a nominal 30),
computed from the SLO rather than parsed from the period's text."""

from __future__ import annotations

import dataclasses
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sloguard.burn import WindowReading, evaluate
from sloguard.lifecycle import EpisodeState, Event, EventKind, LifecyclePolicy
from sloguard.model import SLO, Severity
from sloguard.notify import _text
from sloguard.paging import build_notification
from sloguard.records import Kind, Notification
from sloguard.spec import load
from tests.support.specs import CHECKOUT_MONTHLY as NATIVE

FEB_10 = datetime(2026, 2, 10, tzinfo=UTC).timestamp()  # in a 28-day month
MARCH_10 = datetime(2026, 3, 10, tzinfo=UTC).timestamp()  # in a 31-day month
BURN = 20.0  # over every window: 20 x 0.001


def _slo(tmp_path: Path, calendar: str) -> SLO:
    path = tmp_path / "slo.yaml"
    path.write_text(textwrap.dedent(NATIVE + calendar).lstrip(), encoding="utf-8")
    result = load([path])
    assert result.problems == []
    return result.slos[0]


def _declared(slo: SLO, at: float) -> Notification:
    readings = {w: WindowReading(BURN * slo.budget, 1e6) for w in slo.window_seconds}
    evaluation = evaluate(slo, readings, WindowReading(0.0, 1e6), at)
    assert evaluation.severity is Severity.SEV1
    event = Event(
        kind=EventKind.DECLARED,
        slo=slo.name,
        episode_id="sloguard-ep1",
        at=at,
        severity=Severity.SEV1,
        previous=Severity.OK,
        notify=True,
    )
    state = EpisodeState(slo=slo.name, episode_id="sloguard-ep1", declared_at=at)
    return build_notification(slo, evaluation, event, Kind.DECLARED, state, {}, LifecyclePolicy())


@pytest.mark.parametrize(
    ("calendar", "at", "period_days", "gone"),
    [
        # 20 x 1h of a 28-day month = 20 / 672 = 2.976 %
        pytest.param("  calendar: {unit: month}\n", FEB_10, 28, "3.0% budget gone in 1h", id="feb"),
        # 20 x 1h of a 31-day month = 20 / 744 = 2.688 %
        pytest.param(
            "  calendar: {unit: month}\n", MARCH_10, 31, "2.7% budget gone in 1h", id="march"
        ),
        pytest.param(
            "  calendar: {unit: week, time_zone: Europe/Berlin}\n",
            MARCH_10,
            7,
            "12% budget gone in 1h",
            id="week",
        ),
        # a rolling 30 days: 20 / 720 = 2.78 %
        pytest.param("", FEB_10, 30, "2.8% budget gone in 1h", id="rolling-30d"),
    ],
)
def test_the_page_says_how_much_of_the_periods_budget_an_hour_burnt(
    tmp_path: Path, calendar: str, at: float, period_days: int, gone: str
) -> None:
    note = _declared(_slo(tmp_path, calendar), at)
    assert note.period_seconds == period_days * 86400
    assert gone in _text.headline(note)
    share = BURN * 3600 / (period_days * 86400)
    assert f"{share:.1%} of the {note.period} budget gone in 1h" in note.summary


def test_a_page_queued_before_the_period_length_was_carried_leaves_the_figure_out(
    tmp_path: Path,
) -> None:
    """An outbox row written by an older sloguard has no ``period_seconds``: a calendar period's
    text is no duration, so the figure is left out rather than guessed."""
    note = _declared(_slo(tmp_path, "  calendar: {unit: month}\n"), FEB_10)
    payload = note.to_json()
    del payload["period_seconds"]
    old = Notification.from_json(payload)
    assert old.period_seconds is None
    assert "budget gone" not in _text.headline(old)
    rolling = dataclasses.replace(old, period="30d")
    assert "2.8% budget gone in 1h" in _text.headline(rolling)
