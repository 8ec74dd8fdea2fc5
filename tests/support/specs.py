"""SLO spec texts several test modules load."""

from __future__ import annotations

# A native spec without its period: a test appends ``  calendar: ...`` or ``  window: ...``.
CHECKOUT_MONTHLY = """
apiVersion: sloguard/v1
kind: SLO
metadata: {name: checkout-monthly}
spec:
  service: checkout
  objective: 99.9
  indicator:
    ratio:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
"""
