"""The public status page in-process: status now, daily bars, Statuspage's JSON, no internals."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re

import httpx
import pytest

from sloguard import rules
from sloguard.errors import SourceUnavailable
from sloguard.model import StatusComponent
from sloguard.ports import Sample, Series
from sloguard.server.daily import DAY_SECONDS, DailyRatios, day_start
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


def get(
    path: str, ui_data: FakeUiData, method: str = "GET", daily: DailyRatios | None = None
) -> httpx.Response:
    async def main() -> httpx.Response:
        app = build_status_app(
            ui_data, title="Acme status", severity_status=MAPPING, now=lambda: NOW, daily=daily
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


TODAY = day_start(NOW)


class DailySource:
    """Answers the 1-day error ratio of the days in ``ratios`` (days before today -> ratio),
    at each day's end, as Prometheus answers a range query with a 1-day step."""

    def __init__(self, ratios: dict[int, float], fail: bool = False) -> None:
        self.ratios = ratios
        self.fail = fail
        self.asked: list[tuple[str, float, float, float]] = []

    async def query(self, expr: str, at: float) -> list[Sample]:
        assert rules.INFO in expr, "the daily bars' only instant query is the recorded probe"
        if self.fail:
            raise SourceUnavailable("connection refused")
        return []  # no generated rules run: the raw indicator is read

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        self.asked.append((expr, start, end, step))
        if self.fail:
            raise SourceUnavailable("connection refused")
        ends = {TODAY - (ago - 1) * DAY_SECONDS: ratio for ago, ratio in self.ratios.items()}
        return [Series({}, [(t, ends[t]) for t in sorted(ends) if start <= t <= end])]


def bars(html: str, component: str) -> list[str]:
    section = html.split(f"<h2>{component}", 1)[1].split("</section>", 1)[0]
    return re.findall(r'<rect class="([a-z_]+)"', section)


def test_daily_bars_from_the_day_error_ratio_and_the_episodes() -> None:
    # shop: 3 days ago 1 % errors (over a 0.1 % budget), 2 days ago 0.05 %, yesterday none;
    # today has the open SEV1 episode. Older days: no data in Prometheus.
    source = DailySource({3: 0.01, 2: 0.0005, 1: 0.0})
    html = get("/", data(resolved=False), daily=DailyRatios(source)).text
    shop = bars(html, "shop")
    assert len(shop) == 90
    assert shop[-4:] == ["missed_objective", "operational", "operational", "major_outage"]
    assert set(shop[:-4]) == {"no_data"}
    assert "2023-11-11: More errors than the objective allows" in html
    expr, start, end, step = source.asked[0]
    assert expr == "(e1d)\n/\n(t1d)"
    assert (start, end, step) == (TODAY - 88 * DAY_SECONDS, TODAY, DAY_SECONDS)
    assert len(source.asked) == 2  # one range query per SLO
    for word in INTERNAL:
        assert word not in html, word


def test_daily_bars_are_cached_for_the_day() -> None:
    source = DailySource({1: 0.0})
    daily = DailyRatios(source)
    slos = list(data(resolved=True).slos.values())
    asyncio.run(daily.verdicts(slos, NOW))
    asyncio.run(daily.verdicts(slos, TODAY + DAY_SECONDS - 1))
    assert len(source.asked) == 2  # still today: both answers kept
    asyncio.run(daily.verdicts(slos, TODAY + DAY_SECONDS))
    assert len(source.asked) == 4  # a new day: asked again


def test_prometheus_down_leaves_the_bars_to_the_episodes() -> None:
    source = DailySource({}, fail=True)
    html = get("/", data(resolved=True), daily=DailyRatios(source)).text
    assert set(bars(html, "catalog")) == {"operational"}
    assert "connection refused" not in html


def test_components_are_the_status_page_names_else_the_service() -> None:
    ui_data = data(resolved=False)
    public = StatusComponent("abc123", "Payments")
    slos = {k: dataclasses.replace(v, status_page=public) for k, v in ui_data.slos.items()}
    ui_data.slos = {**slos, "login": slo("login", service="auth")}
    ui_data.evals = [*ui_data.evals, evaluation("login", 1.0, 0.0)]
    body = get("/api/v2/summary.json", ui_data).json()
    assert {c["name"]: c["status"] for c in body["components"]} == {
        "Payments": "major_outage",  # checkout's open episode, under its public name
        "auth": "operational",
    }
    assert body["incidents"][0]["name"] == "Major outage of Payments"
