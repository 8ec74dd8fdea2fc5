"""The recorded-rules probe's fast read pinned to the readable one.

Fast: the Prometheus client reads the label values the probe wants straight off the JSON
(``query_label_values``, no ``Sample`` per series). Readable: the same client's ``query``
(``parse_instant``) read by ``ports.label_values``. Both read the same answer, so they must give
the same set or fail with the same error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable

import httpx
import pytest

from sloguard import rules
from sloguard.errors import SloguardError
from sloguard.ports import LabelSource, label_values
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.prometheus.reachability import Reachability

AT = 1_700_000_000.0
NAMES = ("sloth_id", rules.HASH_LABEL)


def _series(sid: object, digest: object = "h1", value: object = "1", at: object = AT) -> object:
    return {"metric": {"sloth_id": sid, rules.HASH_LABEL: digest}, "value": [at, value]}


def _vector(*result: object) -> dict[str, object]:
    return {"resultType": "vector", "result": list(result)}


CASES = [
    pytest.param(_vector(_series("a"), _series("b", "h2")), id="usual"),
    pytest.param(_vector(), id="empty"),
    pytest.param(_vector(_series("a"), _series("a")), id="a-series-twice"),
    pytest.param(_vector(_series("a"), _series("a", "h2")), id="two-hashes-of-one-id"),
    pytest.param(_vector({"metric": {"sloth_id": "a"}, "value": [AT, "1"]}), id="no-hash"),
    pytest.param(_vector({"metric": {}, "value": [AT, "1"]}), id="no-labels"),
    pytest.param(
        _vector({"metric": {"sloth_id": "a", rules.HASH_LABEL: "h", "x": "y"}, "value": [AT, "1"]}),
        id="another-label",
    ),
    pytest.param(_vector(_series("a", value="NaN")), id="value-nan"),
    pytest.param(_vector(_series("a", at=int(AT))), id="integer-time"),
    pytest.param(_vector(_series(1)), id="a-label-that-is-not-a-string"),
    pytest.param(_vector(_series("a", value="x")), id="a-value-that-is-not-a-number"),
    pytest.param(_vector(_series("a", value=1)), id="a-value-not-quoted"),
    pytest.param(_vector(_series("a", at=True)), id="a-time-that-is-a-boolean"),
    pytest.param(_vector({"metric": {"sloth_id": "a"}, "value": [AT, "1", 2]}), id="three-parts"),
    pytest.param(_vector({"metric": {"sloth_id": "a"}}), id="no-value"),
    pytest.param(_vector(["a"]), id="an-item-that-is-not-an-object"),
    pytest.param({"resultType": "scalar", "result": [AT, "1"]}, id="scalar"),
    pytest.param({"resultType": "matrix", "result": []}, id="matrix"),
]


async def _both(data: dict[str, object]) -> tuple[object, object]:
    body = json.dumps({"status": "success", "data": data})
    answer = httpx.Response(200, content=body, headers={"Content-Type": "application/json"})
    config = PrometheusConfig(url="http://prometheus.test")
    async with PrometheusClient(config, transport=httpx.MockTransport(lambda _: answer)) as c:
        return await _said(c.query_label_values("x", AT, NAMES)), await _said(_readable(c))


async def _said(answer: Awaitable[set[tuple[str, ...]]]) -> object:
    """The answer, or the error it raised (its type and message)."""
    try:
        return await answer
    except SloguardError as exc:
        return f"{type(exc).__name__}: {exc}"


async def _readable(client: PrometheusClient) -> set[tuple[str, ...]]:
    return label_values(await client.query("x", AT), NAMES)


@pytest.mark.parametrize("data", CASES)
def test_the_probe_read_off_the_json_says_what_the_readable_one_says(
    data: dict[str, object],
) -> None:
    fast, readable = asyncio.run(_both(data))
    assert fast == readable


@pytest.mark.parametrize(
    ("status", "up"),
    [pytest.param(200, True, id="answered"), pytest.param(503, False, id="unreachable")],
)
def test_reachability_counts_a_probe_as_a_query(status: int, up: bool) -> None:
    body = json.dumps({"status": "success", "data": _vector(_series("a"))})
    answer = httpx.Response(status, content=body, headers={"Content-Type": "application/json"})
    config = PrometheusConfig(url="http://prometheus.test")

    async def ask() -> tuple[bool, object]:
        async with PrometheusClient(config, transport=httpx.MockTransport(lambda _: answer)) as c:
            assert isinstance(c, LabelSource)
            source = Reachability(c)
            try:
                got: object = await source.query_label_values("x", AT, NAMES)
            except SloguardError as exc:
                got = type(exc).__name__
            return source.up, got

    assert asyncio.run(ask()) == (up, {("a", "h1")} if up else "SourceUnavailable")
