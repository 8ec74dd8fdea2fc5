"""No secret appears in any exception message, repr, chained exception or log record, whatever
goes wrong: refused requests whose error bodies echo the request, transport failures, timeouts,
and configuration errors about the secrets themselves."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from harness.receivers import Arrival, Receiver, Reply
from sloguard.errors import ConfigError, DeliveryError
from sloguard.notify import NotifierConfig, build_notifier
from sloguard.notify._http import redact, register_secret
from tests.support.notify import (
    BEARER,
    GENIE_KEY,
    ROUTING_KEY,
    SLACK_PATH,
    WEBHOOK_SECRET,
    notification,
)

SECRETS = [ROUTING_KEY, GENIE_KEY, WEBHOOK_SECRET, BEARER, SLACK_PATH, "LeakCanary"]
ADAPTER: TypeAdapter[Any] = TypeAdapter(NotifierConfig)


class EchoReceiver(Receiver):
    """The worst receiver: refuses everything and echoes the whole request in its error."""

    service = "echo"

    def __init__(self, status: int) -> None:
        super().__init__()
        self.status = status

    def handle(self, arrival: Arrival) -> Reply:
        arrival.outcome = "rejected"
        echo = f"{arrival.method} {arrival.path}?{arrival.query} {arrival.headers} "
        return Reply.text(self.status, echo + arrival.body.decode())


def configs(url: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "pagerduty",
            "name": "pd",
            "routing_key_env": "PD_KEY",
            "url": url + "/v2/enqueue",
        },
        {"type": "opsgenie", "name": "og", "api_key_env": "OG_KEY", "url": url},
        {
            "type": "webhook",
            "name": "wh",
            "url_env": "WH_URL",
            "secret_env": "WH_SECRET",
            "auth_token_env": "WH_TOKEN",
        },
        {"type": "slack", "name": "sl", "url_env": "SLACK_URL"},
    ]


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def exception_texts(exc: BaseException) -> list[str]:
    out = []
    seen: BaseException | None = exc
    while seen is not None:
        out += [str(seen), repr(seen), *(str(a) for a in seen.args)]
        seen = seen.__cause__ or seen.__context__
    return out


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PD_KEY", ROUTING_KEY)
    monkeypatch.setenv("OG_KEY", GENIE_KEY)
    monkeypatch.setenv("WH_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("WH_TOKEN", BEARER)


@pytest.mark.parametrize(
    "fault",
    ["400-echo", "500-echo", "429-echo", "reset", "drop", "timeout", "down"],
)
@pytest.mark.parametrize("index", [0, 1, 2, 3], ids=["pagerduty", "opsgenie", "webhook", "slack"])
def test_no_secret_leaks(
    fault: str, index: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    status = int(fault.split("-")[0]) if fault.endswith("echo") else 400
    with EchoReceiver(status) as receiver:
        monkeypatch.setenv("WH_URL", receiver.url + SLACK_PATH)
        monkeypatch.setenv("SLACK_URL", receiver.url + SLACK_PATH)
        config = ADAPTER.validate_python(
            configs(receiver.url)[index] | {"timeout_seconds": 0.3 if fault == "timeout" else 5.0}
        )
        if fault in ("reset", "drop"):
            getattr(receiver, fault)(1)
        elif fault == "timeout":
            receiver.delay(1.0, times=1)
        elif fault == "down":
            receiver.down()

        async def go() -> tuple[str, DeliveryError]:
            async with httpx.AsyncClient() as client:
                notifier = build_notifier(config, client)
                with pytest.raises(DeliveryError) as info:
                    await notifier.send(notification())
                logging.getLogger("sloguard.delivery").exception("delivery failed: %s", info.value)
                return repr(notifier), info.value

        notifier_repr, error = asyncio.run(go())
        echoed = [a.reply.decode() for a in receiver.arrivals]
    if fault.endswith("echo"):
        assert any(leaks(text) for text in echoed), "the echo must carry secrets to be a test"
    assert leaks(notifier_repr) == []
    for text in exception_texts(error):
        assert leaks(text) == [], text
    assert caplog.records, "httpx or our logger must have logged something"
    for record in caplog.records:
        assert leaks(record.getMessage()) == [], record.getMessage()
    assert leaks(caplog.text) == [], caplog.text


@pytest.mark.parametrize(
    ("config", "env_value", "message"),
    [
        pytest.param(
            {"type": "pagerduty", "name": "pd", "routing_key_env": "BAD"},
            "LeakCanary" + "x" * 20,
            "32 letters and digits",
            id="pd-short-key",
        ),
        pytest.param(
            {"type": "pagerduty", "name": "pd", "routing_key_env": "BAD"},
            "LeakCanary" + "-" * 22,
            "32 letters and digits",
            id="pd-bad-chars",
        ),
        pytest.param(
            {"type": "webhook", "name": "w", "url": "https://x", "secret_env": "BAD"},
            "whsec_LeakCanary!!",
            "not valid base64",
            id="webhook-bad-secret",
        ),
        pytest.param(
            {"type": "webhook", "name": "w", "url": "https://x", "secret_env": "BAD"},
            "LeakCanary-no-prefix",
            "must start with 'whsec_'",
            id="webhook-no-prefix",
        ),
        pytest.param(
            {"type": "slack", "name": "s", "url_env": "BAD"},
            "LeakCanary/not/a/url",
            "not an http(s) URL",
            id="slack-not-url",
        ),
        pytest.param(
            {"type": "opsgenie", "name": "o", "api_key_env": "UNSET_VAR"},
            None,
            "UNSET_VAR is unset or empty",
            id="og-unset",
        ),
    ],
)
def test_config_errors_name_the_field_not_the_secret(
    config: dict[str, Any], env_value: str | None, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if env_value is not None:
        monkeypatch.setenv("BAD", env_value)

    async def go() -> None:
        async with httpx.AsyncClient() as client:
            build_notifier(ADAPTER.validate_python(config), client)

    with pytest.raises(ConfigError) as info:
        asyncio.run(go())
    assert message in str(info.value)
    for text in exception_texts(info.value):
        assert leaks(text) == [], text


def test_secret_file(tmp_path: Path) -> None:
    key_file = tmp_path / "pd.key"
    key_file.write_text(ROUTING_KEY + "\n")
    config = ADAPTER.validate_python(
        {"type": "pagerduty", "name": "pd", "routing_key_file": str(key_file)}
    )

    async def go() -> str | None:
        async with httpx.AsyncClient() as client:
            notifier = build_notifier(config, client)
            return notifier.rate_limit_key

    key = asyncio.run(go())
    assert key is not None
    assert key.startswith("pagerduty:")
    assert ROUTING_KEY not in key


def test_redact_replaces_the_longest_match_first() -> None:
    register_secret(f"http://h{SLACK_PATH}", is_url=True)
    register_secret(ROUTING_KEY)
    assert redact(f"url http://h{SLACK_PATH} and {ROUTING_KEY}") == "url <redacted> and <redacted>"
