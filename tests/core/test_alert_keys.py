"""The pager-side key of a notification's alert (PagerDuty ``dedup_key``, Opsgenie ``alias``,
the incident webhooks' dedup keys): one rule, :func:`sloguard.notify._text.alert_key`."""

from __future__ import annotations

import pytest

from sloguard.notify import _text, opsgenie, pagerduty, webhook
from sloguard.records import Kind
from tests.support.notify import notification

LONG = "e" * 600


@pytest.mark.parametrize(
    ("kind", "episode", "line", "limit", "expected"),
    [
        pytest.param(Kind.DECLARED, "E", None, 255, "E", id="declared-episode"),
        pytest.param(Kind.ESCALATED, "E", None, 255, "E", id="escalated-same-key"),
        pytest.param(Kind.RESOLVED, "E", None, 255, "E", id="resolved-same-key"),
        pytest.param(Kind.STALE, "E", None, 255, "E:stale", id="stale-own-key"),
        pytest.param(
            Kind.BUDGET_THRESHOLD_CROSSED, "budget:s", 25.0, 255, "budget:s:25", id="line"
        ),
        pytest.param(Kind.BUDGET_RECOVERED, "budget:s", 25.0, 255, "budget:s:25", id="line-closes"),
        pytest.param(Kind.BUDGET_EXHAUSTED, "budget:s", None, 255, "budget:s:0", id="exhausted"),
        pytest.param(
            Kind.STALE, LONG, None, 255, _text.bounded_key(LONG + ":stale", 255), id="bounded"
        ),
    ],
)
def test_alert_key(kind: Kind, episode: str, line: float | None, limit: int, expected: str) -> None:
    n = notification(kind, episode_id=episode, threshold_percent=line)
    assert _text.alert_key(n, limit) == expected
    assert len(expected) <= limit


@pytest.mark.parametrize("kind", list(Kind), ids=lambda k: k.value)
@pytest.mark.parametrize("episode", ["E", LONG], ids=["short", "long"])
def test_the_pagers_use_the_one_rule(kind: Kind, episode: str) -> None:
    n = notification(kind, episode_id=episode, threshold_percent=10.0)
    assert pagerduty.dedup_key(n) == _text.alert_key(n, pagerduty.DEDUP_KEY_MAX)
    assert opsgenie.alias(n) == _text.alert_key(n, opsgenie.ALIAS_MAX)
    stale = notification(Kind.STALE, episode_id=episode)
    assert _text.stale_key(episode, 255) == _text.alert_key(stale, 255)
    if kind in webhook.EVENT_TYPES and not kind.budget:  # the presets hear no budget events
        body = webhook.build_payload(
            n,
            webhook.WebhookConfig(
                type="webhook", name="w", url="https://x.example", preset="incident_io"
            ),
        )
        assert body["deduplication_key"] == _text.alert_key(n, 255)
