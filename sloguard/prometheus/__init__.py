"""The Prometheus edge: an httpx client for the HTTP API (instant and range queries)."""

from sloguard.prometheus.client import PrometheusClient
from sloguard.prometheus.config import BasicAuth, PrometheusConfig

__all__ = ["BasicAuth", "PrometheusClient", "PrometheusConfig"]
