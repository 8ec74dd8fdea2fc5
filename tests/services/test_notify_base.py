"""What every notifier shares (:class:`sloguard.notify.base.HttpNotifier`), pinned per
integration: its repr, its rate-limit bucket and budget, how its failures read, which HTTP
statuses it retries and the wait it hints on a 429 without ``Retry-After``. The values are the
ones each notifier had before the base existed, so folding them into one place changed none."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from sloguard.errors import DeliveryError, TransientDeliveryError
from sloguard.notify import NotifierConfig, build_notifier
from sloguard.notify.webhook import WebhookNotifier
from sloguard.ports import Notifier
from tests.support.incident import incident_note
from tests.support.notify import GENIE_KEY, ROUTING_KEY, SLACK_PATH, WEBHOOK_SECRET, run

ADAPTER: TypeAdapter[Any] = TypeAdapter(NotifierConfig)
TOKEN = "xoxb-LeakCanary-0123456789"
API_KEY = "sp-LeakCanary-0123456789"
SLACK_URL = "https://hooks.slack.example" + SLACK_PATH
SECRETS = {
    "PD": ROUTING_KEY,
    "OG": GENIE_KEY,
    "WH": WEBHOOK_SECRET,
    "SLACK": SLACK_URL,
    "BOT": TOKEN,
    "SP": API_KEY,
    "JIRA": API_KEY,
}
CONFIGS: dict[str, dict[str, Any]] = {
    "pagerduty": {"type": "pagerduty", "name": "pd", "routing_key_env": "PD"},
    "opsgenie": {"type": "opsgenie", "name": "og", "api_key_env": "OG"},
    "webhook": {
        "type": "webhook",
        "name": "wh",
        "url": "https://hooks.example/x",
        "secret_env": "WH",
    },
    "slack": {"type": "slack", "name": "sl", "url_env": "SLACK"},
    "slack_app": {"type": "slack_app", "name": "war-room", "token_env": "BOT"},
    "statuspage": {"type": "statuspage", "name": "public", "api_key_env": "SP", "page_id": "abc"},
    "jira": {
        "type": "jira",
        "name": "tracker",
        "api_token_env": "JIRA",
        "project": "OPS",
        "url": "https://acme.atlassian.net",
        "email": "ops-bot@acme.com",
    },
}

STATUSES = (400, 408, 420, 429, 501, 503)


# repr, rate-limit bucket, its budget a minute, statuses retried, 429 hint (seconds)
Pinned = tuple[str, str | None, int | None, set[int], float | None]

PINNED: dict[str, Pinned] = {
    "pagerduty": (
        "PagerDutyNotifier(name='pd', url='https://events.pagerduty.com/v2/enqueue')",
        "pagerduty:605bf9a34c80",
        120,
        {408, 429, 501, 503},
        30.0,
    ),
    "opsgenie": (
        "OpsgenieNotifier(name='og', url='https://api.opsgenie.com')",
        None,
        None,
        {408, 429, 503},
        None,
    ),
    "webhook": (
        "WebhookNotifier(name='wh', preset='generic', url='https://hooks.example/x')",
        None,
        None,
        {408, 429, 501, 503},
        None,
    ),
    "slack": ("SlackNotifier(name='sl')", "slack:6e491b11b042", 60, {408, 429, 501, 503}, None),
    "slack_app": (
        "SlackAppNotifier(name='war-room', url='https://slack.com/api')",
        "slack_app:e3f442ce5850",
        10,
        {408, 429, 501, 503},
        60.0,
    ),
    "statuspage": (
        "StatuspageNotifier(name='public', page_id='abc')",
        "statuspage:f7ba2dda6e5c",
        30,
        {408, 420, 429, 501, 503},
        1.0,
    ),
    "jira": (
        "JiraNotifier(name='tracker', url='https://acme.atlassian.net')",
        "jira:2181febdc0b9",
        60,
        {408, 429, 501, 503},
        5.0,
    ),
}


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def _build(integration: str, client: httpx.AsyncClient) -> Notifier:
    return build_notifier(ADAPTER.validate_python(CONFIGS[integration]), client)


async def _refusal(integration: str, status: int) -> DeliveryError:
    """What the notifier raises when the vendor answers every call with ``status``."""
    answer = httpx.MockTransport(lambda _: httpx.Response(status, text="refused"))
    async with httpx.AsyncClient(transport=answer) as client:
        with pytest.raises(DeliveryError) as caught:
            await _build(integration, client).send(incident_note())
    return caught.value


@pytest.mark.parametrize("integration", list(PINNED))
def test_repr_and_rate_limit(integration: str) -> None:
    shown, bucket, per_minute, _, _ = PINNED[integration]

    async def go() -> Notifier:
        async with httpx.AsyncClient() as client:
            return _build(integration, client)

    notifier = run(go())
    assert (notifier.integration, repr(notifier)) == (integration, shown)
    assert (notifier.rate_limit_key, notifier.rate_limit_per_minute) == (bucket, per_minute)


@pytest.mark.parametrize("integration", list(PINNED))
def test_failures_name_the_notifier_and_follow_its_retry_rule(integration: str) -> None:
    _, _, _, retried, hint = PINNED[integration]
    refusals = {status: run(_refusal(integration, status)) for status in STATUSES}
    prefix = f"{integration} {CONFIGS[integration]['name']!r} "
    for status, error in refusals.items():
        assert str(error).startswith(prefix), error
        assert str(error).endswith(f": HTTP {status}: refused"), error
        assert error.status == status
    assert {s for s, e in refusals.items() if isinstance(e, TransientDeliveryError)} == retried
    too_many = refusals[429]
    assert isinstance(too_many, TransientDeliveryError)
    assert too_many.retry_after_seconds == hint


def test_an_http_date_retry_after_is_measured_on_the_notifiers_clock() -> None:
    """Without a ``Date`` header, ``Retry-After: <HTTP-date>`` counts from the injected clock,
    the one the webhook signs its timestamps with, not from the machine's."""
    now = 1_700_000_000.0
    later = format_datetime(datetime.fromtimestamp(now + 90, UTC), usegmt=True)
    answer = httpx.MockTransport(lambda _: httpx.Response(429, headers={"Retry-After": later}))
    config = ADAPTER.validate_python(CONFIGS["webhook"])
    url = "https://hooks.example/x"

    async def go() -> None:
        async with httpx.AsyncClient(transport=answer) as client:
            notifier = WebhookNotifier(
                config, client, url=url, secret=WEBHOOK_SECRET, now=lambda: now
            )
            await notifier.send(incident_note())

    with pytest.raises(TransientDeliveryError) as caught:
        run(go())
    assert caught.value.retry_after_seconds == 90.0
