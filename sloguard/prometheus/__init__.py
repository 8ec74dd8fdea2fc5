"""The Prometheus edge: an httpx client for the HTTP API (instant and range queries)."""

from sloguard.prometheus.config import PrometheusConfig

__all__ = ["PrometheusConfig"]
