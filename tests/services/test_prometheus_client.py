"""PrometheusClient against httpx.MockTransport: parsing, retries, auth, redirects, no secrets."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import math
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from sloguard.durations import parse_retry_after
from sloguard.errors import ConfigError, QueryError, SourceError, SourceUnavailable
from sloguard.prometheus import BasicAuth, PrometheusClient, PrometheusConfig

SECRET = "s3cr3t-t0ken-value"
URL = "http://prom.example:9090"


def vector(*values: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    result = [{"metric": labels or {}, "value": [1704067200.0, v]} for v in values]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def ok(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=body)


class Recorder:
    """A scripted Prometheus: answers in order, records every request and every backoff sleep."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(self, **config: Any) -> PrometheusClient:
        cfg = PrometheusConfig(url=config.pop("url", URL), **config)
        return PrometheusClient(cfg, transport=httpx.MockTransport(self.handler), sleep=self.sleep)

    def form(self, i: int = 0) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.requests[i].content.decode()).items()}


def run(coro_fn: Callable[[], Any]) -> Any:
    return asyncio.run(coro_fn())


def query(rec: Recorder, expr: str = "up", at: float = 1704067207.0, **config: Any) -> Any:
    async def go() -> Any:
        async with rec.client(**config) as client:
            return await client.query(expr, at)

    return run(go)


@pytest.mark.parametrize(
    ("raw", "check"),
    [
        pytest.param("0.25", lambda v: v == 0.25, id="number"),
        pytest.param("NaN", math.isnan, id="nan"),
        pytest.param("+Inf", lambda v: v == math.inf, id="plus-inf"),
        pytest.param("-Inf", lambda v: v == -math.inf, id="minus-inf"),
        pytest.param("-0", lambda v: math.copysign(1.0, v) == -1.0 and v == 0, id="minus-zero"),
        pytest.param("1e-320", lambda v: v == float("1e-320"), id="subnormal"),
    ],
)
def test_values_are_parsed(raw: str, check: Callable[[float], bool]) -> None:
    samples = query(Recorder(ok(vector(raw, labels={"route": "/a"}))))
    assert len(samples) == 1
    assert check(samples[0].value)
    assert samples[0].labels == {"route": "/a"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(rb'{"route": "/caf\u00e9", "q": "a\"b", "e": "\ud83d\ude00"}', id="escaped"),
        pytest.param('{"route": "/café ✓"}'.encode(), id="utf8"),
        pytest.param(b'{"a": "1", "a": "2"}', id="repeated-key-last-wins"),
    ],
)
def test_labels_decode_as_the_json_standard_says(body: bytes) -> None:
    # The answer is decoded by orjson; every label reads as the standard library reads it.
    labels = json.loads(body)
    raw = b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": '
    raw += body + b', "value": [1704067200.0, "1"]}]}}'
    samples = query(Recorder(httpx.Response(200, content=raw)))
    assert [s.labels for s in samples] == [labels]


def test_time_is_pinned_and_the_query_is_posted() -> None:
    rec = Recorder(ok(vector("1")))
    query(rec, expr='sum(rate(x{a="b"}[5m]))', at=1704067207.5, timeout_seconds=3)
    req = rec.requests[0]
    assert req.method == "POST"
    assert req.url.path == "/api/v1/query"
    assert rec.form() == {
        "query": 'sum(rate(x{a="b"}[5m]))',
        "time": "1704067207.500",
        "timeout": "3s",
    }


def test_scalar_is_one_unlabelled_sample() -> None:
    body = {"status": "success", "data": {"resultType": "scalar", "result": [1.0, "2"]}}
    samples = query(Recorder(ok(body)))
    assert [(dict(s.labels), s.value) for s in samples] == [({}, 2.0)]


def test_range_query() -> None:
    body = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": {"a": "1"}, "values": [[10, "1"], [20, "NaN"]]}],
        },
    }
    rec = Recorder(ok(body))

    async def go() -> Any:
        async with rec.client() as client:
            return await client.query_range("x", 10, 20, 10)

    series = run(go)
    assert series[0].points[0] == (10.0, 1.0)
    assert math.isnan(series[0].points[1][1])
    assert rec.form()["step"] == "10.000"


def prom_error(status: int, kind: str, msg: str) -> httpx.Response:
    return httpx.Response(status, json={"status": "error", "errorType": kind, "error": msg})


@pytest.mark.parametrize(
    ("answers", "error", "attempts", "text"),
    [
        pytest.param(
            [prom_error(400, "bad_data", 'parse error: unexpected "}"')],
            QueryError, 1, "bad_data: parse error", id="promql-error-not-retried",
        ),
        pytest.param(
            [prom_error(422, "execution", "many-to-many matching not allowed")],
            QueryError, 1, "many-to-many", id="422-not-retried",
        ),
        pytest.param([httpx.Response(401)], QueryError, 1, "HTTP 401", id="401-not-retried"),
        pytest.param([httpx.Response(404)], QueryError, 1, "base URL", id="404-not-retried"),
        pytest.param([httpx.Response(503)], SourceUnavailable, 3, "HTTP 503", id="503-retried"),
        pytest.param(
            [prom_error(500, "internal", "boom")], SourceUnavailable, 3, "internal: boom",
            id="500-retried",
        ),
        pytest.param(
            [httpx.ConnectError("refused")], SourceUnavailable, 3, "cannot connect",
            id="connect-retried",
        ),
        pytest.param(
            [httpx.ReadTimeout("slow")], SourceUnavailable, 3, "no answer within 10s",
            id="timeout-retried",
        ),
        pytest.param(
            [httpx.Response(200, text="<html>proxy</html>")], QueryError, 1, "not JSON",
            id="html-not-retried",
        ),
        pytest.param(
            [httpx.Response(200, content=b'{"status": "success", "data": {"resultType"')],
            QueryError, 1, "not JSON", id="truncated-json-not-retried",
        ),
        pytest.param(
            [httpx.Response(200, content=b'{"status": "success", "data": {"r\xff": 1}}')],
            QueryError, 1, "not JSON", id="not-utf8-not-retried",
        ),
        pytest.param(
            [ok({"status": "success", "data": {"resultType": "matrix", "result": []}})],
            QueryError, 1, "expected an instant vector", id="matrix-for-instant",
        ),
        pytest.param(
            [ok(vector("abc"))], QueryError, 1, "unexpected sample value", id="bad-value",
        ),
        pytest.param(
            [ok(vector("1", labels={"job": 7}))],  # type: ignore[dict-item]
            QueryError, 1, "unexpected series labels", id="label-value-not-text",
        ),
    ],
)  # fmt: skip
def test_errors_and_retries(
    answers: list[Any], error: type[SourceError], attempts: int, text: str
) -> None:
    rec = Recorder(*answers)
    with pytest.raises(error, match=text) as info:
        query(rec, expr="sum(rate(http_requests_total[5m]))", retries=2)
    assert type(info.value) is error or issubclass(type(info.value), error)
    assert len(rec.requests) == attempts
    assert len(rec.sleeps) == attempts - 1
    assert info.value.query == "sum(rate(http_requests_total[5m]))"
    assert "query: sum(rate(http_requests_total[5m]))" in str(info.value)


def test_transient_error_then_success() -> None:
    rec = Recorder(httpx.Response(502), httpx.ConnectError("x"), ok(vector("0.5")))
    assert query(rec, retries=2)[0].value == 0.5
    assert len(rec.requests) == 3
    # exponential backoff with up to 20 % jitter: 0.25 s, then 0.5 s
    assert 0.25 <= rec.sleeps[0] <= 0.3
    assert 0.5 <= rec.sleeps[1] <= 0.6


@pytest.mark.parametrize(
    ("header", "expected_sleep"),
    [
        pytest.param("2", 2.0, id="delta-seconds"),
        pytest.param("0", 0.0, id="zero"),
    ],
)
def test_429_honours_retry_after(header: str, expected_sleep: float) -> None:
    rec = Recorder(httpx.Response(429, headers={"Retry-After": header}), ok(vector("1")))
    assert query(rec)[0].value == 1.0
    assert rec.sleeps == [expected_sleep]


def test_429_with_a_long_retry_after_gives_up_at_once() -> None:
    rec = Recorder(httpx.Response(429, headers={"Retry-After": "600"}))
    with pytest.raises(QueryError, match="retry after 600s"):
        query(rec)
    assert len(rec.requests) == 1


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon", now=0.0) is None


def test_zero_retries_means_one_attempt() -> None:
    rec = Recorder(httpx.Response(503))
    with pytest.raises(SourceUnavailable):
        query(rec, retries=0)
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    "how",
    [
        pytest.param("bearer_file", id="bearer-file"),
        pytest.param("bearer_env", id="bearer-env"),
        pytest.param("basic", id="basic-file"),
    ],
)
def test_auth_header_and_no_secret_in_errors(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    monkeypatch.setenv("PROM_TOKEN", SECRET)
    configs: dict[str, dict[str, Any]] = {
        "bearer_file": {"bearer_token_file": str(secret_file)},
        "bearer_env": {"bearer_token_env": "PROM_TOKEN"},
        "basic": {"basic_auth": BasicAuth(username="sre", password_file=str(secret_file))},
    }
    config = configs[how]
    rec = Recorder(prom_error(403, "forbidden", "denied"))
    with pytest.raises(QueryError) as info:
        query(rec, **config)
    sent = rec.requests[0].headers["Authorization"]
    if how == "basic":
        assert sent == "Basic " + base64.b64encode(f"sre:{SECRET}".encode()).decode()
    else:
        assert sent == f"Bearer {SECRET}"
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)


def test_rotated_token_file_is_reread(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first")
    rec = Recorder(ok(vector("1")))

    async def go() -> None:
        async with rec.client(bearer_token_file=str(token)) as client:
            await client.query("up", 0)
            token.write_text("second")
            await client.query("up", 0)

    run(go)
    assert [r.headers["Authorization"] for r in rec.requests] == ["Bearer first", "Bearer second"]


def test_missing_token_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bearer_token: cannot read"):
        Recorder(ok(vector("1"))).client(bearer_token_file=str(tmp_path / "nope"))


def test_unreadable_ca_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigError, match="ca_file"):
        PrometheusClient(PrometheusConfig(url=URL, ca_file=str(bad)))


def test_password_in_url_is_not_shown() -> None:
    rec = Recorder(httpx.Response(503))
    with pytest.raises(SourceUnavailable) as info:
        query(rec, url=f"http://sre:{SECRET}@prom.example:9090", retries=0)
    assert SECRET not in str(info.value)
    assert "prom.example:9090" in str(info.value)


def test_redirect_on_the_same_host_is_followed() -> None:
    rec = Recorder(
        httpx.Response(307, headers={"Location": "/prometheus/api/v1/query"}), ok(vector("1"))
    )
    assert query(rec)[0].value == 1.0
    assert rec.requests[1].url.path == "/prometheus/api/v1/query"


def test_redirect_to_another_host_is_refused(tmp_path: Path) -> None:
    token = tmp_path / "t"
    token.write_text(SECRET)
    rec = Recorder(httpx.Response(302, headers={"Location": "http://evil.example/api/v1/query"}))
    with pytest.raises(QueryError, match="redirect to another host"):
        query(rec, bearer_token_file=str(token))
    assert len(rec.requests) == 1


def test_base_url_with_a_path_prefix() -> None:
    rec = Recorder(ok(vector("1")))
    query(rec, url="http://prom.example/prometheus/")
    assert rec.requests[0].url.path == "/prometheus/api/v1/query"


def test_concurrency_is_bounded() -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight -= 1
        return ok(vector("1"))

    async def go() -> None:
        cfg = PrometheusConfig(url=URL, max_concurrency=3)
        async with PrometheusClient(cfg, transport=httpx.MockTransport(handler)) as client:
            await asyncio.gather(*(client.query(f"q{i}", 0) for i in range(12)))

    run(go)
    assert peak == 3


def test_extra_headers_are_sent() -> None:
    rec = Recorder(ok(vector("1")))
    query(rec, headers={"X-Scope-OrgID": "team-a"})
    assert rec.requests[0].headers["X-Scope-OrgID"] == "team-a"
    assert json.loads(json.dumps(dict(rec.requests[0].headers)))["user-agent"].startswith(
        "sloguard/"
    )


@pytest.mark.parametrize("how", ["query", "query_by_sloth_id", "query_label_values"])
def test_an_answer_is_freed_without_the_cycle_collector(how: str) -> None:
    """httpx ties a response to its stream in a reference cycle; the daemon runs the cycle
    collector only when a tick ends (sloguard.collector), so the client breaks that cycle: a
    read answer's bytes (1-2 MB at 10,000 SLOs) go as soon as it is decoded."""
    answers: list[weakref.ReferenceType[httpx.Response]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        resp = ok(vector("1", labels={"sloth_id": "a"}))
        answers.append(weakref.ref(resp))
        return resp

    async def go() -> None:
        cfg = PrometheusConfig(url=URL)
        async with PrometheusClient(cfg, transport=httpx.MockTransport(handler)) as client:
            if how == "query":
                await client.query("up", 0)
            elif how == "query_by_sloth_id":
                await client.query_by_sloth_id("up", 0, {"a": "a"}, frozenset())
            else:
                await client.query_label_values("up", 0, ("sloth_id",))

    gc.collect()
    gc.disable()
    try:
        run(go)
        assert len(answers) == 1
        assert answers[0]() is None
    finally:
        gc.enable()
