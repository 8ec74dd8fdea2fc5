"""A notifier that reads the vendor's answer (Jira, Statuspage, the Slack app) and is handed
something that is not JSON with a 200 (a login page of a proxy, a captive portal) says so in
the notifier's words and keeps the row for a retry, instead of failing with a bare decoder
error that names neither the integration nor the notifier."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from sloguard.errors import TransientDeliveryError
from sloguard.notify.base import HttpNotifier
from sloguard.notify.jira import JiraConfig, JiraNotifier
from sloguard.notify.slack_app import SlackAppConfig, SlackAppNotifier
from sloguard.notify.statuspage import StatuspageConfig, StatuspageNotifier
from sloguard.ports import MemoryNotifierState
from tests.support.incident import incident_note, run

Build = Callable[[httpx.AsyncClient], HttpNotifier]  # type: ignore[type-arg]


def _jira(client: httpx.AsyncClient) -> JiraNotifier:
    config = JiraConfig(
        name="tracker", type="jira", url="https://acme.atlassian.net", email="bot@acme.com",
        api_token_env="UNUSED", project="OPS",
    )  # fmt: skip
    return JiraNotifier(config, client, api_token="t", state=MemoryNotifierState())


def _statuspage(client: httpx.AsyncClient) -> StatuspageNotifier:
    config = StatuspageConfig(
        name="public", type="statuspage", api_key_env="UNUSED", page_id="p1",
        url="https://api.statuspage.io/v1",
    )  # fmt: skip
    return StatuspageNotifier(config, client, api_key="k", state=MemoryNotifierState())


def _slack_app(client: httpx.AsyncClient) -> SlackAppNotifier:
    config = SlackAppConfig(name="war-room", type="slack_app", token_env="UNUSED")
    return SlackAppNotifier(config, client, token="xoxb-1", state=MemoryNotifierState())


@pytest.mark.parametrize(
    ("build", "who"),
    [
        pytest.param(_jira, "jira 'tracker'", id="jira"),
        pytest.param(_statuspage, "statuspage 'public'", id="statuspage"),
        pytest.param(_slack_app, "slack_app 'war-room'", id="slack_app"),
    ],
)
def test_an_answer_that_is_not_json_is_a_located_transient_error(build: Build, who: str) -> None:
    def portal(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>Sign in to continue</html>")

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(portal)) as client:
            await build(client).send(incident_note())

    with pytest.raises(TransientDeliveryError, match="not JSON") as caught:
        run(go())
    assert who in str(caught.value)
