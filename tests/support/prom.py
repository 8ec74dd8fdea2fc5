"""A served Prometheus scenario, as the session fixtures hand it out."""

from __future__ import annotations

from dataclasses import dataclass

from harness.promserver import Generated, PrometheusServer, Scenario


@dataclass(frozen=True, slots=True)
class Served:
    """A scenario, its generated samples (the independent truth) and the server holding them."""

    scenario: Scenario
    data: Generated
    server: PrometheusServer

    @property
    def url(self) -> str:
        return self.server.url
