"""The incident notifiers are built from config like the others: secrets read once, from a
file or the environment, never shown in an error or a repr."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from sloguard.errors import ConfigError
from sloguard.notify import NotifierConfig, build_notifier
from sloguard.ports import Notifier

ADAPTER: TypeAdapter[Any] = TypeAdapter(NotifierConfig)
CANARY = "LeakCanary-incident-0123456789"

CONFIGS = [
    pytest.param(
        {"type": "slack_app", "name": "war-room", "token_env": "SECRET"},
        "xoxb-" + CANARY,
        "slack_app",
        id="slack-app",
    ),
    pytest.param(
        {"type": "statuspage", "name": "public", "api_key_env": "SECRET", "page_id": "abc"},
        CANARY,
        "statuspage",
        id="statuspage",
    ),
    pytest.param(
        {
            "type": "jira",
            "name": "tracker",
            "api_token_env": "SECRET",
            "project": "OPS",
            "url": "https://acme.atlassian.net",
            "email": "ops-bot@acme.com",
        },
        CANARY,
        "jira",
        id="jira",
    ),
]


def _build(config: dict[str, Any]) -> Notifier:
    async def go() -> Notifier:
        async with httpx.AsyncClient() as client:
            return build_notifier(ADAPTER.validate_python(config), client)

    return asyncio.run(go())


@pytest.mark.parametrize(("config", "secret", "integration"), CONFIGS)
def test_built_from_config_without_showing_the_secret(
    config: dict[str, Any], secret: str, integration: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET", secret)
    notifier = _build(config)
    assert notifier.integration == integration
    assert CANARY not in repr(notifier)
    assert CANARY not in str(notifier.rate_limit_key)


def test_a_user_token_is_refused_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET", "xoxp-" + CANARY)
    with pytest.raises(ConfigError, match="not xoxb-") as caught:
        _build({"type": "slack_app", "name": "war-room", "token_env": "SECRET"})
    assert CANARY not in str(caught.value)


BAD = [
    pytest.param({"type": "statuspage", "name": "p", "page_id": "ABC DEF"}, "page_id", id="page"),
    pytest.param(
        {"type": "statuspage", "name": "p", "page_id": "abc", "publish": ["SEV4"]},
        "publish",
        id="publish",
    ),
    pytest.param(
        {"type": "jira", "name": "j", "url": "https://x", "email": "nobody", "project": "OPS"},
        "email",
        id="jira-email",
    ),
    pytest.param(
        {"type": "slack_app", "name": "s", "announce_channel": "#incidents"},
        "announce_channel",
        id="announce-by-name",
    ),
]


@pytest.mark.parametrize(("config", "field"), BAD)
def test_bad_fields_are_named(config: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ADAPTER.validate_python(config)
