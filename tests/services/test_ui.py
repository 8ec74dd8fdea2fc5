"""The web UI in-process (httpx.ASGITransport): what each page shows, and that it escapes."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import httpx
import pytest

from sloguard.clock import ManualClock
from sloguard.metrics import Metrics
from sloguard.model import Runbook
from sloguard.server import Readiness, Sources, build_app
from sloguard.server.ui import Ui
from tests.support.ui import HOSTILE, FakeUiData, dead_episode, evaluation, slo


def data() -> FakeUiData:
    slos = {
        "checkout": slo("checkout", description=HOSTILE, tier="1"),
        "search": slo("search", service="catalog", tier="2"),
        "login": slo("login", service="auth"),
    }
    evals = [
        evaluation("search", 0.8, 0.5),
        evaluation("checkout", 0.1, 20.0),
        evaluation("login", None, 0.0),
    ]
    return FakeUiData(evals, slos, [dead_episode()])


def get(path: str, ui_data: FakeUiData | None = None) -> httpx.Response:
    async def main() -> httpx.Response:
        readiness = Readiness(ManualClock(), interval_seconds=30)
        ui = Ui(ui_data or data())
        app = build_app(Sources(Metrics().render, readiness, dict, extra_routes=ui.routes()))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get(path)

    return asyncio.run(main())


def slo_order(html: str) -> list[str]:
    return re.findall(r'<a href="/slos/([^"]+)">', html)


@pytest.mark.parametrize(
    ("path", "order"),
    [
        pytest.param("/", ["checkout", "search", "login"], id="worst-budget-first"),
        pytest.param("/?severity=SEV1", ["checkout"], id="by-severity"),
        pytest.param("/?service=catalog", ["search"], id="by-service"),
        pytest.param("/?label=tier%3D2", ["search"], id="by-label"),
        pytest.param("/?q=LOGI", ["login"], id="by-text"),
        pytest.param("/?q=onerror", ["checkout"], id="text-searches-description"),
        pytest.param("/?q=nothing-matches", [], id="no-match"),
        pytest.param("/?page=2", [], id="page-past-the-end"),
    ],
)
def test_list_order_and_filters(path: str, order: list[str]) -> None:
    reply = get(path)
    assert reply.status_code == 200
    assert slo_order(reply.text) == order


def test_list_paginates_10000_slos() -> None:
    evals = [evaluation(f"slo-{i:05d}", i / 10000, 1.0) for i in range(10000)]
    reply = get("/?page=3", FakeUiData(evals, {}, []))
    keys = slo_order(reply.text)
    assert keys[0] == "slo-00100"
    assert len(keys) == 50
    assert "10000 SLOs, page 3 of 200" in reply.text
    assert 'rel="next" href="?page=4"' in reply.text


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/", id="list"),
        pytest.param("/slos/checkout", id="detail"),
        pytest.param("/?q=%3Cscript%3E", id="query-echoed"),
    ],
)
def test_hostile_text_is_escaped(path: str) -> None:
    reply = get(path)
    assert "<img" not in reply.text
    assert "<script" not in reply.text
    if path != "/?q=%3Cscript%3E":
        assert "&lt;img src=x onerror=alert(1)&gt;" in reply.text


def test_detail_shows_numbers_graph_tiers_runbook_and_episodes() -> None:
    reply = get("/slos/checkout")
    text = reply.text
    assert reply.status_code == 200
    assert '<span class="sev SEV1" id="severity">SEV1</span>' in text
    assert 'id="budget">10.0 %' in text
    assert text.count('<rect class="over"') == 7  # every window burns at 20x, over its threshold
    assert text.count('class="threshold"') == 7
    assert "https://runbooks.example/checkout" in text
    assert 'href="/incidents/ep-1"' in text


def runbook_data(runbook: Runbook, dashboard_url: str = "") -> FakeUiData:
    target = dataclasses.replace(
        slo("checkout"), runbook=runbook, dashboard_url=dashboard_url, runbook_url=""
    )
    return FakeUiData([evaluation("checkout", 0.5, 1.0)], {"checkout": target}, [])


def runbook_html(text: str) -> str:
    found = re.search(r'<div id="runbook">(.*?)</div>', text, re.S)
    assert found is not None
    return found[1]


@pytest.mark.parametrize(
    ("runbook", "dashboard_url", "shown"),
    [
        pytest.param(
            Runbook(("kubectl -n shop logs deploy/checkout",), ("roll back",), ("page @db",)),
            "",
            [
                "<h3>Diagnostics</h3>",
                "<li>kubectl -n shop logs deploy/checkout</li>",
                "<h3>Mitigations</h3>",
                "<li>roll back</li>",
                "<h3>Escalation</h3>",
                "<li>page @db</li>",
            ],
            id="every-section-in-reading-order",
        ),
        pytest.param(
            Runbook(mitigations=(HOSTILE, "a && b")),
            "",
            ["<li>&lt;img src=x onerror=alert(1)&gt;</li>", "<li>a &amp;&amp; b</li>"],
            id="steps-escaped",
        ),
        pytest.param(
            Runbook(),
            "https://grafana.example/d/x?a=1&b=2",
            ['Dashboard: <a href="https://grafana.example/d/x?a=1&amp;b=2"'],
            id="dashboard-link-only",
        ),
        pytest.param(Runbook(), "", ["No runbook in the spec."], id="none"),
    ],
)
def test_detail_shows_the_runbook_steps_and_links(
    runbook: Runbook, dashboard_url: str, shown: list[str]
) -> None:
    html = runbook_html(get("/slos/checkout", runbook_data(runbook, dashboard_url)).text)
    positions = [html.index(piece) for piece in shown]
    assert positions == sorted(positions)
    assert "<img" not in html


@pytest.mark.parametrize(
    ("path", "status", "has"),
    [
        pytest.param("/incidents", 200, 'href="/incidents/ep-1"', id="incidents"),
        pytest.param("/incidents/ep-1", 200, "dead-lettered", id="dead-letter"),
        pytest.param("/incidents/ep-1", 200, "HTTP 400: bad key", id="dead-reason"),
        pytest.param("/incidents/ep-1", 200, "retrying", id="retrying"),
        pytest.param("/incidents/ep-1", 200, "<td>timed out", id="retrying-last-error"),
        pytest.param(
            "/incidents/ep-1",
            200,
            '<span class="next">next attempt 2023-11-14 22:15:20 UTC</span>',
            id="retrying-next-attempt",
        ),
        pytest.param("/incidents/ep-1", 200, "burn 20x over 1h/5m", id="timeline"),
        pytest.param("/incidents/ep-1", 200, "# Postmortem draft: checkout", id="postmortem"),
        pytest.param("/incidents/nope", 404, "no episode", id="unknown-incident"),
        pytest.param("/slos/nope", 404, "no SLO", id="unknown-slo"),
        pytest.param("/ui.css", 200, ".SEV1", id="stylesheet"),
    ],
)
def test_pages(path: str, status: int, has: str) -> None:
    reply = get(path)
    assert reply.status_code == status
    assert has in reply.text
    assert "script-src" not in reply.headers["content-security-policy"]  # none allowed
