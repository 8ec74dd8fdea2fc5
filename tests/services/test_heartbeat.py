"""The dead man's switch: pings on the wire, failures counted and logged, never blocking."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from sloguard.config import parse_config
from sloguard.errors import ConfigError
from sloguard.notify.heartbeat import Heartbeat, HeartbeatConfig, targets


class Counted:
    """A metrics sink that keeps the heartbeat counts (the only call the heartbeat makes)."""

    def __init__(self) -> None:
        self.pings: list[tuple[str, bool]] = []

    def count_heartbeat(self, target: str, *, ok: bool) -> None:
        self.pings.append((target, ok))


def run(config: HeartbeatConfig, handler: httpx.MockTransport) -> Counted:
    counted = Counted()

    async def go() -> None:
        async with httpx.AsyncClient(transport=handler) as http:
            beat = Heartbeat(http, targets(config), metrics=counted)  # type: ignore[arg-type]
            beat.kick()
            await beat.aclose()

    asyncio.run(go())
    return counted


def recording(status: int = 200) -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json={"result": "PONG - Heartbeat received"})

    return seen, httpx.MockTransport(handle)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_plain_url_is_pinged_with_its_method(method: str) -> None:
    seen, transport = recording()
    url = "https://hc-ping.example/5f0c2a"
    counted = run(HeartbeatConfig(url=url, method=method), transport)
    (request,) = seen
    assert (request.method, str(request.url), request.content) == (method, url, b"")
    assert counted.pings == [("url", True)]


def test_opsgenie_heartbeat_api_on_the_wire(tmp_path: Path) -> None:
    (tmp_path / "og").write_text("og-key-123\n")
    config = HeartbeatConfig.model_validate(
        {"opsgenie": {"name": "sloguard prod", "api_key_file": str(tmp_path / "og")}}
    )
    seen, transport = recording(202)
    counted = run(config, transport)
    (request,) = seen
    assert request.method == "GET"
    assert str(request.url) == "https://api.opsgenie.com/v2/heartbeats/sloguard%20prod/ping"
    assert request.headers["Authorization"] == "GenieKey og-key-123"
    assert counted.pings == [("opsgenie", True)]


@pytest.mark.parametrize(
    ("transport", "why"),
    [
        pytest.param(recording(503)[1], "HTTP 503", id="refused"),
        pytest.param(
            httpx.MockTransport(lambda r: (_ for _ in ()).throw(httpx.ConnectError("no"))),
            "ConnectError",
            id="unreachable",
        ),
    ],
)
def test_a_failed_ping_is_counted_and_logged_not_raised(
    transport: httpx.MockTransport, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    counted = run(HeartbeatConfig(url="https://hc.example/secret-token"), transport)
    assert counted.pings == [("url", False)]
    assert f"heartbeat ping to url failed: {why}" in caplog.text
    assert "secret-token" not in caplog.text


def test_kick_returns_at_once_and_skips_while_a_round_hangs() -> None:
    calls = 0

    async def go() -> None:
        nonlocal calls
        release = asyncio.Event()

        async def hang(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            await release.wait()
            return httpx.Response(200)

        async with httpx.AsyncClient(transport=httpx.MockTransport(hang)) as http:
            beat = Heartbeat(http, targets(HeartbeatConfig(url="https://hc.example/x")))
            beat.kick()  # returns before the receiver answers
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            beat.kick()  # a round is in flight: dropped, not queued
            await asyncio.sleep(0)
            release.set()
            await beat.aclose()

    asyncio.run(go())
    assert calls == 1


HEAD = 'prometheus: {url: "http://127.0.0.1:9090"}\nslo_paths: [slos/]\nstate_path: s.db\n'


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            "heartbeat: {}\n", "give a url (or url_file, url_env) and/or opsgenie", id="empty"
        ),
        pytest.param(
            "heartbeat: {url: 'https://a', url_env: HC}\n",
            "give one of url, url_file",
            id="two-urls",
        ),
        pytest.param(
            "heartbeat: {opsgenie: {name: x}, method: PUT}\n",
            "method: Input should be",
            id="method",
        ),
    ],
)
def test_heartbeat_config_errors_are_located(lines: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(HEAD + lines, "sloguard.yaml")
    (problem,) = info.value.problems
    assert str(problem).startswith("sloguard.yaml:4:"), problem
    assert expected in str(problem)
