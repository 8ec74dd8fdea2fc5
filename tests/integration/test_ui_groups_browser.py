"""A grouped SLO's pages in a real headless chromium, on a real Prometheus (a few seconds,
apart from the long outage walk-through of test_ui_browser.py): the list links each group;
the SLO's page lists its groups, the burning one first; a group's page, reached by its link,
draws its graphs; no console message, no dialog, the hostile description is text."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote

import pytest

from harness import scenarios as sc
from sloguard.clock import ManualClock
from sloguard.engine import Engine, run
from sloguard.metrics import Metrics
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.server import HttpServer, Readiness, Sources, build_app
from sloguard.server.graphs import BurnHistory
from sloguard.server.ui import Ui
from tests.support.browser import Visit, chromium
from tests.support.prom import Served, grouped_slo
from tests.support.ui import HOSTILE, FakeUiData

pytestmark = pytest.mark.prometheus


@contextmanager
def served_ui(incidents: Served, at: float) -> Iterator[str]:
    """The UI of a grouped SLO evaluated at ``at``, on 127.0.0.1, served from a loop of its
    own (Playwright's sync API needs this thread free)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    slo = grouped_slo(incidents, ("checkout", "catalog"), description=HOSTILE)
    client = PrometheusClient(PrometheusConfig(url=incidents.url))
    server: HttpServer | None = None

    async def start() -> HttpServer:
        await client.__aenter__()
        evaluations = await run(Engine().plan([slo]), client, at)
        data = FakeUiData(evaluations, {ev.slo: slo for ev in evaluations})
        clock = ManualClock(start=at)
        ui = Ui(data, BurnHistory(client, clock.now))
        readiness = Readiness(clock, interval_seconds=30)
        app = build_app(Sources(Metrics().render, readiness, dict, extra_routes=ui.routes()))
        http = HttpServer(app)
        await http.start("127.0.0.1", 0)
        return http

    async def stop() -> None:
        if server is not None:
            await server.stop()
        await client.__aexit__(None, None, None)

    try:
        server = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
        host, port = server.address
        yield f"http://{host}:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def clean(visit: Visit) -> None:
    assert visit.console == []
    assert visit.dialogs == []
    assert "<img" not in visit.html


def test_group_pages_in_chromium(incidents: Served) -> None:
    at = incidents.scenario.at(sc.OUTAGE_START + 15 * 60)
    with served_ui(incidents, at) as ui, chromium() as browser:
        listed = browser.visit(ui + "/")
        clean(listed)
        assert re.findall(r'href="/slos/(http[^"]*)"', listed.html)[:2] == [
            "http%7Bservice%3D%22checkout%22%7D",
            "http%7Bservice%3D%22catalog%22%7D",
        ]
        groups = browser.visit(ui + "/slos/http")
        clean(groups)
        assert "2 groups, worst budget first" in groups.text
        links = re.findall(r'<tr class="group">\s*<td><a href="([^"]*)"', groups.html)
        assert [unquote(link) for link in links] == [
            '/slos/http{service="checkout"}',
            '/slos/http{service="catalog"}',
        ]
        page = browser.visit(ui + links[0])
        clean(page)
        assert "One group of http." in page.text
        assert page.html.count('class="tier-history"') == 4
        assert page.html.count("<polyline") == 1 + 4 * 2
        assert HOSTILE in page.text
