"""The SLO file the backtest and postmortem suites replay."""

from __future__ import annotations


def slo_yaml(job: str, *, tiers: bool) -> str:
    alerting = """\
  alerting:
    tiers:
      - {severity: SEV1, long: 1h, short: 5m, budget_percent: 2}
      - {severity: SEV2, long: 6h, short: 30m, budget_percent: 5}
"""

    def one(service: str) -> str:
        sel = f'job="{job}",service="{service}"'
        return f"""\
apiVersion: sloguard/v1
kind: SLO
metadata:
  name: {service}-availability
spec:
  service: {service}
  objective: 99.9
  window: 30d
  owner: {{team: payments}}
  indicator:
    ratio:
      errors: sum(rate(http_requests_total{{{sel},code=~"5.."}}[{{{{.window}}}}]))
      total: sum(rate(http_requests_total{{{sel}}}[{{{{.window}}}}]))
  runbook_url: https://runbooks.example.com/{service}
  dashboard_url: https://grafana.example.com/d/{service}
{alerting if tiers else ""}"""

    return one("checkout") + "---\n" + one("search")
