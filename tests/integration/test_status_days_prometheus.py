"""The status page's daily bars from a real Prometheus: the ledger burns its budget at 2x on
the scenario's third and fourth days and at 0.5x before and after.

Each complete day's 1-day error ratio is asked in one range query; a day over the budget is
"missed_objective", within it "operational", before the data "no_data"; today (the fifth day,
incomplete) is left to the episodes, of which there are none.
"""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from harness import scenarios as sc
from harness.promserver import DAY, HOUR, availability_slo
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.server.daily import DailyRatios
from sloguard.server.statuspage import build_status_app
from tests.support.prom import Served
from tests.support.ui import FakeUiData, evaluation

pytestmark = pytest.mark.prometheus


def test_daily_bars_say_which_days_missed_the_objective(slow_burn: Served) -> None:
    slo = availability_slo(slow_burn.scenario, "ledger")
    now = slow_burn.scenario.at(4 * DAY + 5 * HOUR)
    data = FakeUiData([evaluation(slo.name, 0.5, 0.5)], {slo.name: slo}, [])

    async def main() -> str:
        async with PrometheusClient(PrometheusConfig(url=slow_burn.url)) as client:
            app = build_status_app(
                data,
                title="Acme status",
                severity_status={},
                now=lambda: now,
                daily=DailyRatios(client),
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                return (await http.get("/")).text

    html = asyncio.run(main())
    days = re.findall(r'<rect class="([a-z_]+)"', html)
    assert len(days) == 90
    assert (sc.BURN2_START, sc.BURN2_END) == (2 * DAY, 4 * DAY)  # days 3 and 4 burn at 2x
    assert days[-5:] == [
        "operational",  # 2024-01-01, 0.5x
        "operational",  # 2024-01-02, 0.5x
        "missed_objective",  # 2024-01-03, 2x
        "missed_objective",  # 2024-01-04, 2x
        "operational",  # today: no episode, not asked of Prometheus
    ]
    assert set(days[:-5]) == {"no_data"}
    assert "2024-01-03: More errors than the objective allows" in html
