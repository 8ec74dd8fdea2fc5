"""The read-only HTTP endpoint, spoken to over real loopback sockets with raw bytes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sloguard.clock import ManualClock
from sloguard.metrics import Metrics
from sloguard.server import HttpServer, Readiness, ServerLimits, Sources, build_app, parse_listen

SNAPSHOT: dict[str, Any] = {
    "slos": [{"slo": "checkout-availability", "severity": "SEV2", "time_to_exhaustion": 1e400}],
    "episodes": [],
}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Harness:
    server: HttpServer
    readiness: Readiness
    clock: ManualClock
    port: int

    async def raw(self, data: bytes, *, half_close: bool = True) -> bytes:
        """Send ``data`` (then EOF, unless told not to) and read until the server closes."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(data)
            await writer.drain()
            if half_close:
                writer.write_eof()
            return await asyncio.wait_for(reader.read(), 2.0)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def request(self, data: bytes) -> Reply:
        return parse_reply(await self.raw(data))


def parse_reply(raw: bytes) -> Reply:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status, _ = lines[0].split(" ", 2)
    assert version == "HTTP/1.1"
    headers = {}
    for line in lines[1:]:
        name, _, val = line.partition(":")
        headers[name.strip().lower()] = val.strip()
    assert int(headers["content-length"]) == len(body) or body == b""
    return Reply(int(status), headers, body)


def run(
    scenario: Callable[[Harness], Awaitable[None]],
    limits: ServerLimits | None = None,
    snapshot: Callable[[], Mapping[str, Any]] = lambda: SNAPSHOT,
) -> None:
    async def main() -> None:
        clock = ManualClock(start=1_700_000_000.0)
        readiness = Readiness(clock, interval_seconds=30)
        metrics = Metrics(version="9.9.9")
        app = build_app(Sources(metrics=metrics.render, readiness=readiness, snapshot=snapshot))
        server = HttpServer(app, limits=limits)
        await server.start("127.0.0.1", 0)
        try:
            host, port = server.address
            assert host == "127.0.0.1"
            assert port > 0
            await scenario(Harness(server, readiness, clock, port))
        finally:
            await server.stop()

    asyncio.run(main())


def get(path: str, method: str = "GET", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n".encode()


BIG = "X-Filler: " + "a" * 9000 + "\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "status", "body_has"),
    [
        pytest.param(get("/metrics"), 200, b"sloguard_build_info{", id="metrics"),
        pytest.param(get("/metrics?debug=1"), 200, b"sloguard_build_info{", id="metrics-query"),
        pytest.param(get("/healthz"), 200, b"ok", id="healthz"),
        pytest.param(get("/readyz"), 503, b"configuration not loaded", id="readyz-not-ready"),
        pytest.param(get("/api/v1/slos"), 200, b"checkout-availability", id="api-slos"),
        pytest.param(get("/"), 200, b"/api/v1/slos", id="index"),
        pytest.param(get("/nope"), 404, b"no such endpoint", id="unknown-path"),
        pytest.param(get("/metrics", "POST"), 405, b"read-only", id="post"),
        pytest.param(get("/healthz", "DELETE"), 405, b"read-only", id="delete"),
        pytest.param(get("/metrics", "OPTIONS"), 405, b"read-only", id="options"),
        pytest.param(
            get("/metrics", "POST", "Content-Length: 5\r\n") + b"hello",
            413,
            b"bodies",
            id="body",
        ),
        pytest.param(
            get("/metrics", extra="Transfer-Encoding: chunked\r\n") + b"0\r\n\r\n",
            413,
            b"bodies",
            id="chunked-body",
        ),
        pytest.param(get("/metrics", extra="Content-Length: 0\r\n"), 200, b"", id="empty-body-ok"),
        pytest.param(get("/metrics", extra=BIG), 431, b"limited", id="huge-headers"),
        pytest.param(get("/" + "a" * 9000), 414, b"limited", id="huge-request-line"),
        pytest.param(b"GET /metrics HTTP/1.1\r\n\r\n", 400, b"Host", id="http11-without-host"),
        pytest.param(b"GET /metrics HTTP/1.0\r\n\r\n", 200, b"sloguard_", id="http10-no-host-ok"),
        pytest.param(b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505, b"", id="http2"),
        pytest.param(b"GET /metrics\r\nHost: x\r\n\r\n", 400, b"request line", id="no-version"),
        pytest.param(b"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, b"", id="double-space"),
        pytest.param(get("http://x/metrics"), 400, b"path", id="absolute-form"),
        # RFC 9112 5.2: a server either rejects obs-fold or replaces it with a space; h11
        # (under uvicorn) does the latter, where the hand-written server rejected it.
        pytest.param(get("/metrics", extra=" folded\r\n"), 200, b"sloguard_", id="obs-fold"),
        pytest.param(get("/metrics", extra="Bad Name: v\r\n"), 400, b"header", id="space-in-name"),
        pytest.param(get("/metrics", extra="Host: y\r\n"), 400, b"multiple Host", id="two-hosts"),
        pytest.param(
            get("/metrics", extra="Content-Length: -1\r\n"), 400, b"Content-Length", id="neg-cl"
        ),
        pytest.param(b"GET /metrics HTTP/1.1\r\nHost: x\r\n", 400, b"closed", id="eof-mid-head"),
    ],
)
def test_endpoints_and_refusals(request_bytes: bytes, status: int, body_has: bytes) -> None:
    async def scenario(h: Harness) -> None:
        reply = await h.request(request_bytes)
        assert reply.status == status, reply.body
        assert body_has in reply.body
        if status == 405:
            assert reply.headers["allow"] == "GET, HEAD"
        if status >= 400:
            assert reply.headers["connection"] == "close"

    run(scenario, ServerLimits(head_timeout_seconds=0.3))


def test_metrics_content_type_and_head_has_no_body() -> None:
    async def scenario(h: Harness) -> None:
        full = await h.request(get("/metrics"))
        head = await h.raw(get("/metrics", "HEAD"))
        assert full.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert head.endswith(b"\r\n\r\n")  # headers only
        assert parse_reply(head).headers["content-length"] == str(len(full.body))

    run(scenario)


def test_api_json_has_no_infinity() -> None:
    async def scenario(h: Harness) -> None:
        reply = await h.request(get("/api/v1/slos"))
        assert reply.headers["content-type"] == "application/json"
        data = json.loads(reply.body)  # strict JSON: no Infinity / NaN tokens
        assert data["slos"][0]["time_to_exhaustion"] is None
        assert b"Infinity" not in reply.body

    run(scenario)


def test_keep_alive_serves_pipelined_requests_on_one_connection() -> None:
    async def scenario(h: Harness) -> None:
        one = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        raw = await h.raw(one + one + get("/readyz"))
        assert raw.count(b"HTTP/1.1 200 OK") == 2
        assert raw.count(b"HTTP/1.1 503 Service Unavailable") == 1

    run(scenario)


def test_slow_client_is_cut_off_with_408() -> None:
    async def scenario(h: Harness) -> None:
        start = time.monotonic()
        raw = await h.raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\n", half_close=False)
        assert parse_reply(raw).status == 408
        assert time.monotonic() - start < 1.5

    run(scenario, ServerLimits(head_timeout_seconds=0.2))


def test_idle_keep_alive_connection_is_closed_silently() -> None:
    async def scenario(h: Harness) -> None:
        raw = await h.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", half_close=False)
        assert raw.count(b"HTTP/1.1") == 1  # the 200, then a quiet close, no 408
        assert b"408" not in raw

    run(scenario, ServerLimits(head_timeout_seconds=0.2))


def test_connections_beyond_the_cap_get_503() -> None:
    async def scenario(h: Harness) -> None:
        _, hog = await asyncio.open_connection("127.0.0.1", h.port)
        hog.write(b"GET /")  # holds its slot while it dawdles
        await hog.drain()
        await asyncio.sleep(0.05)
        reply = await h.request(get("/healthz"))
        assert reply.status == 503
        hog.close()
        await hog.wait_closed()

    run(scenario, ServerLimits(max_connections=1, head_timeout_seconds=1.0))


@pytest.mark.parametrize(
    ("steps", "ready", "reason"),
    [
        pytest.param([], False, "configuration not loaded yet", id="fresh"),
        pytest.param(["load"], False, "no successful evaluation yet", id="loaded-no-tick"),
        pytest.param(["load", "tick"], True, "ok", id="loaded-and-ticked"),
        pytest.param(["load", "tick", "+90"], True, "ok", id="three-intervals-still-ready"),
        pytest.param(["load", "tick", "+91"], False, "91s ago", id="stale"),
        pytest.param(["load", "tick", "+200", "tick"], True, "ok", id="recovers"),
        pytest.param(["tick"], False, "configuration not loaded", id="tick-without-config"),
        pytest.param(["load", "tick", "stop"], False, "shutting down", id="stopping"),
        pytest.param(["load:10", "tick", "+31"], False, "31s ago", id="reload-shorter-interval"),
    ],
)
def test_readiness_transitions(steps: list[str], ready: bool, reason: str) -> None:
    async def scenario(h: Harness) -> None:
        for step in steps:
            if step.startswith("load"):
                _, _, interval = step.partition(":")
                h.readiness.config_loaded(float(interval) if interval else None)
            elif step == "tick":
                h.readiness.tick_succeeded()
            elif step == "stop":
                h.readiness.stopping()
            else:
                h.clock.advance(float(step))
        reply = await h.request(get("/readyz"))
        assert reply.status == (200 if ready else 503)
        body = json.loads(reply.body)
        assert body["ready"] is ready
        assert reason in body["reason"]

    run(scenario)


def test_stop_closes_idle_connections_and_the_port() -> None:
    async def main() -> None:
        clock = ManualClock()
        app = build_app(
            Sources(
                metrics=lambda: b"", readiness=Readiness(clock, interval_seconds=30), snapshot=dict
            )
        )
        server = HttpServer(app, limits=ServerLimits(shutdown_grace_seconds=0.1))
        await server.start("127.0.0.1", 0)
        _, port = server.address
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive, then idle
        await writer.drain()
        start = time.monotonic()
        await asyncio.sleep(0.05)
        await server.stop()
        assert time.monotonic() - start < 1.0
        assert b"200 OK" in await asyncio.wait_for(reader.read(), 1.0)  # then EOF
        writer.close()
        await writer.wait_closed()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)

    asyncio.run(main())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("0.0.0.0:9464", ("0.0.0.0", 9464), id="all-ipv4"),
        pytest.param("127.0.0.1:0", ("127.0.0.1", 0), id="ephemeral"),
        pytest.param(":9464", ("0.0.0.0", 9464), id="empty-host"),
        pytest.param("[::1]:9464", ("::1", 9464), id="ipv6"),
        pytest.param("localhost:80", ("localhost", 80), id="name"),
        pytest.param("9464", None, id="no-colon"),
        pytest.param("::1:9464", None, id="ipv6-without-brackets"),
        pytest.param("0.0.0.0:99999", None, id="port-too-big"),
        pytest.param("0.0.0.0:http", None, id="port-name"),
    ],
)
def test_parse_listen(text: str, expected: tuple[str, int] | None) -> None:
    if expected is None:
        with pytest.raises(ValueError):
            parse_listen(text)
    else:
        assert parse_listen(text) == expected


@pytest.mark.parametrize(
    ("method", "path", "status", "body_has"),
    [
        pytest.param("GET", "/healthz", 200, "ok", id="healthz"),
        pytest.param("GET", "/api/v1/slos", 200, "checkout-availability", id="api-slos"),
        pytest.param("HEAD", "/metrics", 200, "", id="head-metrics"),
        pytest.param("POST", "/metrics", 405, "read-only", id="post"),
        pytest.param("GET", "/nope", 404, "no such endpoint", id="unknown"),
    ],
)
def test_app_in_process_with_asgi_transport(
    method: str, path: str, status: int, body_has: str
) -> None:
    """The app alone, built from its sources, without a socket: the seam the UI tests use."""

    async def main() -> None:
        readiness = Readiness(ManualClock(), interval_seconds=30)
        app = build_app(
            Sources(metrics=Metrics().render, readiness=readiness, snapshot=lambda: SNAPSHOT)
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            reply = await client.request(method, path)
        assert reply.status_code == status
        assert body_has in reply.text
        assert "default-src 'none'" in reply.headers["content-security-policy"]
        assert reply.headers["x-content-type-options"] == "nosniff"

    asyncio.run(main())
