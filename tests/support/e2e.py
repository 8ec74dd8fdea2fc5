"""The end-to-end setup the real-Prometheus suites share: SLO files, secrets, receivers, routes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.receivers import OpsgenieReceiver, PagerDutyReceiver, WebhookReceiver
from tests.support.prom import Served

ROUTING_KEY = "R0utingKeyLeakCanary0123456789ab"


GENIE_KEY = "genie-LeakCanary-5f1c2d3e"


WEBHOOK_SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


SECRETS = (ROUTING_KEY, GENIE_KEY, WEBHOOK_SECRET, "LeakCanary")


def slo_yaml(job: str) -> str:
    def one(service: str) -> str:
        sel = f'job="{job}",service="{service}"'
        return f"""\
apiVersion: sloguard/v1
kind: SLO
metadata:
  name: {service}-availability
  labels: {{team: payments}}
spec:
  service: {service}
  objective: 99.9
  window: 30d
  indicator:
    ratio:
      errors: sum(rate(http_requests_total{{{sel},code=~"5.."}}[{{{{.window}}}}]))
      total: sum(rate(http_requests_total{{{sel}}}[{{{{.window}}}}]))
  runbook_url: https://runbooks.example.com/{service}
"""

    return one("checkout") + "---\n" + one("search")


Receivers = tuple[PagerDutyReceiver, OpsgenieReceiver, WebhookReceiver]


@contextmanager
def slos_secrets_and_receivers(served: Served, home: Path) -> Iterator[Receivers]:
    """What both end-to-end suites (``run --once`` here, the long-running daemon in
    test_daemon_prometheus) start from: the checkout and search SLOs in ``home/slos``, the
    notifiers' secrets in ``home/secrets``, and the three contract receivers."""
    (home / "slos").mkdir()
    (home / "slos" / "slos.yaml").write_text(slo_yaml(served.scenario.job))
    (home / "secrets").mkdir()
    (home / "secrets" / "pd").write_text(ROUTING_KEY + "\n")
    (home / "secrets" / "og").write_text(GENIE_KEY + "\n")
    (home / "secrets" / "whsec").write_text(WEBHOOK_SECRET + "\n")
    with (
        PagerDutyReceiver(routing_keys=[ROUTING_KEY]) as pd,
        OpsgenieReceiver(api_keys=[GENIE_KEY]) as og,
        WebhookReceiver(secret=WEBHOOK_SECRET) as hook,
    ):
        yield pd, og, hook


def notifiers_and_routes(pd: PagerDutyReceiver, og: OpsgenieReceiver, hook: WebhookReceiver) -> str:
    """Config lines: the three receivers as notifiers; pages to PagerDuty and the incident
    webhook, the payments team's SEV3 tickets to Opsgenie."""
    return f"""\
notifiers:
  - {{name: pd, type: pagerduty, routing_key_file: secrets/pd, url: "{pd.enqueue_url}"}}
  - {{name: og, type: opsgenie, api_key_file: secrets/og, url: "{og.url}"}}
  - {{name: incidents, type: webhook, url: "{hook.url}/hook", secret_file: secrets/whsec}}
routes:
  - {{match: {{severity: [SEV1, SEV2]}}, notifiers: [pd, incidents]}}
  - {{match: {{severity: [SEV3], labels: {{team: payments}}}}, notifiers: [og]}}
"""
