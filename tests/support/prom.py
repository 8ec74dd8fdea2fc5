"""A served Prometheus scenario, as the session fixtures hand it out."""

from __future__ import annotations

from dataclasses import dataclass

from harness.promserver import DAY, Generated, PrometheusServer, Scenario
from sloguard.model import SLO, RatioIndicator


@dataclass(frozen=True, slots=True)
class Served:
    """A scenario, its generated samples (the independent truth) and the server holding them."""

    scenario: Scenario
    data: Generated
    server: PrometheusServer

    @property
    def url(self) -> str:
        return self.server.url


def grouped_slo(served: Served, services: tuple[str, ...], description: str = "") -> SLO:
    """One availability SLO over ``services``, grouped by service: one evaluation per service."""
    job = f'job="{served.scenario.job}",service=~"{"|".join(services)}"'
    errors = f'http_requests_total{{{job},code=~"5.."}}'
    return SLO(
        name="http",
        service="shop",
        objective_percent=99.9,
        period_seconds=30 * DAY,
        indicator=RatioIndicator(
            errors=f"sum by (service) (rate({errors}[{{{{.window}}}}]))",
            total=f"sum by (service) (rate(http_requests_total{{{job}}}[{{{{.window}}}}]))",
        ),
        group_by=("service",),
        description=description,
    )
