"""An SLO of another Mimir/Cortex tenant (``spec.prometheus.tenant``) has its graphs and its
status-page days read in that tenant, as its evaluations are: the UI never shows one tenant's
SLO from another tenant's series."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from sloguard.clock import ManualClock
from sloguard.model import SLO
from sloguard.ports import QUERY_TENANT, Sample, Series
from sloguard.server.daily import DailyRatios
from sloguard.server.graphs import BurnHistory
from tests.support.ui import slo

START = 1.7e9


class TenantSource:
    """Records the tenant each query is asked in; answers with one flat series."""

    def __init__(self) -> None:
        self.tenants: list[str | None] = []

    async def query(self, expr: str, at: float) -> list[Sample]:
        self.tenants.append(QUERY_TENANT.get())
        return []

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        self.tenants.append(QUERY_TENANT.get())
        return [Series({}, [(start, 0.0005), (end, 0.0005)])]


def tenant_slo(tenant: str | None) -> SLO:
    return dataclasses.replace(slo("checkout"), tenant=tenant)


@pytest.mark.parametrize("tenant", [pytest.param("team-a", id="own-tenant"), None])
def test_graphs_are_asked_in_the_slos_tenant(tenant: str | None) -> None:
    source = TenantSource()
    history = BurnHistory(source, ManualClock(start=START).now)
    assert asyncio.run(history.history(tenant_slo(tenant))) is not None
    assert source.tenants
    assert set(source.tenants) == {tenant}


@pytest.mark.parametrize("tenant", [pytest.param("team-a", id="own-tenant"), None])
def test_daily_bars_are_asked_in_the_slos_tenant(tenant: str | None) -> None:
    source = TenantSource()
    asyncio.run(DailyRatios(source).verdicts([tenant_slo(tenant)], START))
    assert source.tenants
    assert set(source.tenants) == {tenant}
