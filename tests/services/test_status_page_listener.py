"""The public status page in-process: status now, daily bars, Statuspage's JSON, no internals."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import httpx
import pytest

from sloguard.server.statuspage import build_status_app
from tests.support.ui import FakeUiData, dead_episode, evaluation, slo

NOW = 1.7e9 + 3600
MAPPING = {"SEV1": "major_outage", "SEV2": "partial_outage", "SEV3": "degraded_performance"}
INTERNAL = ["checkout", "payments", "runbooks", "pagerduty", "HTTP 400", "onerror", "burn", "SEV1"]


def data(*, resolved: bool) -> FakeUiData:
    episode = dead_episode()
    if resolved:
        episode = dataclasses.replace(episode, resolved_at=1.7e9 + 1800)
    slos = {"checkout": slo("checkout", description="<img src=x onerror=alert(1)>", tier="1")}
    slos["search"] = slo("search", service="catalog")
    evals = [evaluation("checkout", 0.1, 0.0), evaluation("search", 0.9, 0.0)]
    return FakeUiData(evals, slos, [episode])


def get(path: str, ui_data: FakeUiData, method: str = "GET") -> httpx.Response:
    async def main() -> httpx.Response:
        app = build_status_app(
            ui_data, title="Acme status", severity_status=MAPPING, now=lambda: NOW
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.request(method, path)

    return asyncio.run(main())


@pytest.mark.parametrize(
    ("resolved", "shop", "indicator", "open_incidents"),
    [
        pytest.param(False, "major_outage", "critical", 1, id="during"),
        pytest.param(True, "operational", "none", 0, id="after"),
    ],
)
def test_summary_json_during_and_after(
    resolved: bool, shop: str, indicator: str, open_incidents: int
) -> None:
    body = get("/api/v2/summary.json", data(resolved=resolved)).json()
    statuses = {c["name"]: c["status"] for c in body["components"]}
    assert statuses == {"catalog": "operational", "shop": shop}
    assert body["status"]["indicator"] == indicator
    assert len(body["incidents"]) == open_incidents
    assert body["page"]["name"] == "Acme status"
    assert set(body) == {"page", "components", "incidents", "scheduled_maintenances", "status"}


def test_status_json_is_page_and_status() -> None:
    body = get("/api/v2/status.json", data(resolved=False)).json()
    assert body["status"] == {"indicator": "critical", "description": "Major System Outage"}
    assert set(body) == {"page", "status"}


@pytest.mark.parametrize(
    ("resolved", "overall", "state"),
    [
        pytest.param(False, "Major System Outage", "Major outage", id="during"),
        pytest.param(True, "All Systems Operational", "Operational", id="after"),
    ],
)
def test_page_shows_status_bars_and_history(resolved: bool, overall: str, state: str) -> None:
    html = get("/", data(resolved=resolved)).text
    assert overall in html
    assert (
        f'<span class="state {"major_outage" if not resolved else "operational"}">{state}' in html
    )
    assert html.count("<rect ") == 2 * 90  # two components, 90 days each
    assert "We are seeing elevated errors on shop." in html
    assert ("shop is operating normally again." in html) is resolved


@pytest.mark.parametrize(
    "path", ["/", "/api/v2/summary.json", "/api/v2/status.json"], ids=["page", "summary", "status"]
)
def test_nothing_internal_is_public(path: str) -> None:
    text = get(path, data(resolved=False)).text
    for word in INTERNAL:
        assert word not in text, word


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        pytest.param("/api/v1/slos", "GET", 404, id="no-internal-api"),
        pytest.param("/metrics", "GET", 404, id="no-metrics"),
        pytest.param("/slos/checkout", "GET", 404, id="no-ui"),
        pytest.param("/", "POST", 405, id="read-only"),
    ],
)
def test_only_public_routes(path: str, method: str, status: int) -> None:
    assert get(path, data(resolved=False), method).status_code == status


def test_summary_is_strict_json() -> None:
    raw = get("/api/v2/summary.json", data(resolved=False)).text
    json.loads(raw, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
