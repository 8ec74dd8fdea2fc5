"""The demo's story: 30 days of recorded traffic for four services, one bad night, and the
sloguard files that watch it. All instants are fixed and in the past, so every run tells the
same story and the daemon replays it with ``sloguard run --replay-from``.

Night of 2024-03-13/14 (UTC)::

    17:00  search starts failing at 4x its error budget (a slow burn: a ticket, not a page)
    03:00  the replay starts: the daemon's clock begins here
    03:02  checkout fails completely for 5 minutes            -> SEV1 page about a minute later
    03:07  checkout recovers; its 5m window drains             -> down to SEV2 (not paged)
    ~03:19 search has burnt long enough                        -> SEV3 ticket to Opsgenie
    ~03:37 checkout's 30m window lets go of the outage         -> quiet, then resolved at ~03:42

History: 31 days, so the 30-day error budget and the 1-day and 3-day windows are real, and
sampled every 15 seconds (as a scrape would be) for the last 7 hours and the replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from harness.promserver import (
    DAY,
    HOUR,
    Event,
    Generated,
    Latency,
    Scenario,
    Service,
    burn,
)

MINUTE = 60
JOB = "shop"

REPLAY_FROM = 1710385200  # 2024-03-14T03:00:00Z
OUTAGE_AT = REPLAY_FROM + 2 * MINUTE
OUTAGE_SECONDS = 5 * MINUTE
SEARCH_BURN_AT = REPLAY_FROM - 10 * HOUR  # 2024-03-13T17:00:00Z
SEARCH_BURN_FACTOR = 4.0
REPLAY_UNTIL = REPLAY_FROM + 55 * MINUTE  # the story must be over by then
DATA_END = REPLAY_FROM + HOUR
# The history in three parts, coarse to fine (promtool costs one run per 2h block with data):
# a sample a day for the month (the 30d budget), every 5 minutes for the last 4 days (the 1d
# and 3d windows of the slow tiers), every 15 seconds (a scrape) for the last 7 hours and the
# replay (every window up to 6h).
PARTS = (
    (REPLAY_FROM - 31 * DAY, REPLAY_FROM - 4 * DAY, DAY),
    (REPLAY_FROM - 4 * DAY, REPLAY_FROM - 7 * HOUR, 5 * MINUTE),
    (REPLAY_FROM - 7 * HOUR, DATA_END, 15),
)
DATA_START = PARTS[0][0]

INTERVAL_SECONDS = 30
QUIET_PERIOD_SECONDS = 300

# The cast: SLO name -> (service, what happens to it)
CHECKOUT = "checkout-availability"
SEARCH = "search-availability"
CATALOG = "catalog-latency"
LOGIN = "login-availability"
SLOS = (CHECKOUT, SEARCH, CATALOG, LOGIN)


def clock(at: float) -> str:
    """``03:04:30``: the time of day in the story (UTC)."""
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S")


@dataclass(frozen=True, slots=True)
class _Change:
    """An event in absolute unix time; cut into each part of the history it overlaps."""

    start: float
    end: float
    error_ratio: float

    def within(self, part_start: int, part_end: int) -> Event | None:
        lo, hi = max(self.start, part_start), min(self.end, part_end)
        if hi <= lo:
            return None
        return Event(int(lo - part_start), int(hi - lo), error_ratio=self.error_ratio)


_SEARCH_BURN = burn(0, 1, factor=SEARCH_BURN_FACTOR).error_ratio
assert _SEARCH_BURN is not None
CHANGES = {
    "checkout": (_Change(OUTAGE_AT, OUTAGE_AT + OUTAGE_SECONDS, 1.0),),
    "search": (_Change(SEARCH_BURN_AT, DATA_END, _SEARCH_BURN),),
}


def _services(part_start: int, part_end: int) -> tuple[Service, ...]:
    def events(name: str) -> tuple[Event, ...]:
        cut = (c.within(part_start, part_end) for c in CHANGES.get(name, ()))
        return tuple(e for e in cut if e is not None)

    return (
        # 0.05 % errors: half the budget of a 99.9 % SLO, a normal month.
        Service("checkout", rps=40.0, error_ratio=0.0005, events=events("checkout")),
        Service("search", rps=120.0, error_ratio=0.0005, events=events("search")),
        Service(
            "catalog",
            rps=60.0,
            error_ratio=0.0002,
            latency=Latency(threshold_seconds=0.25, slow_ratio=0.002),
        ),
        Service("login", rps=15.0, error_ratio=0.0001),
    )


def scenarios() -> tuple[Scenario, ...]:
    """The parts of the history, back to back, coarse to fine."""
    return tuple(
        Scenario(
            services=_services(start, end),
            duration_seconds=end - start,
            step_seconds=step,
            start=start,
            job=JOB,
        )
        for start, end, step in PARTS
    )


def history() -> Generated:
    """All samples: each part continues the previous one's counters."""
    parts = [s.generate() for s in scenarios()]
    times, series = list(parts[0].times), {k: list(v) for k, v in parts[0].series.items()}
    for part in parts[1:]:
        assert part.times[0] == times[-1]
        times += part.times[1:]
        for key, values in series.items():
            after = part.series[key]
            shift = values[-1] - after[0]
            values += [v + shift for v in after[1:]]
    return Generated(
        scenario=parts[-1].scenario, times=times, series=series, families=parts[-1].families
    )


# --------------------------------------------------------------------------- sloguard's files


def _selector(service: str, extra: str = "") -> str:
    return f'http_requests_total{{job="{JOB}",service="{service}"{"," + extra if extra else ""}}}'


def _ratio(service: str) -> str:
    five_xx = 'code=~"5.."'
    errors = f"sum(rate({_selector(service, five_xx)}[{{{{.window}}}}]))"
    total = f"sum(rate({_selector(service)}[{{{{.window}}}}]))"
    return f"    ratio:\n      errors: {errors}\n      total: {total}\n"


SLO_YAML = f"""\
# The demo's SLOs (written by python -m harness.demo). Four services of a web shop.
apiVersion: sloguard/v1
kind: SLO
metadata:
  name: {CHECKOUT}
  labels: {{team: payments}}
spec:
  service: checkout
  description: Checkout requests succeed (no 5xx).
  objective: 99.9
  window: 30d
  indicator:
{_ratio("checkout")}  alerting:
    # The two paging tiers of the SRE Workbook. The slow SEV3 tiers (1d/2h, 3d/6h) are left
    # out on purpose: their short windows (2h, 6h) would hold this 5-minute outage for hours
    # after checkout has recovered, so the incident would stay open (at SEV3) for 6 simulated
    # hours instead of resolving minutes after the burn stops. Whether that is right for a
    # real service is a policy choice; see docs/lifecycle.md.
    tiers:
      - {{severity: SEV1, long: 1h, short: 5m, budget_percent: 2}}    # 14.4x: page
      - {{severity: SEV2, long: 6h, short: 30m, budget_percent: 5}}   # 6x: page
  runbook_url: https://runbooks.example.com/checkout/availability
  dashboard_url: https://grafana.example.com/d/checkout
  owner: {{team: payments, slack: "#payments-oncall"}}
---
apiVersion: sloguard/v1
kind: SLO
metadata:
  name: {SEARCH}
  labels: {{team: discovery}}
spec:
  service: search
  description: Search requests succeed (no 5xx).
  objective: 99.9
  window: 30d
  indicator:
{_ratio("search")}  # No alerting: the SRE Workbook's four tiers (SEV1 1h/5m, SEV2 6h/30m,
  # SEV3 1d/2h and 3d/6h). A 4x burn is a SEV3: a ticket for working hours, not a page.
  runbook_url: https://runbooks.example.com/search/availability
  owner: {{team: discovery}}
---
apiVersion: sloguard/v1
kind: SLO
metadata:
  name: {CATALOG}
  labels: {{team: discovery}}
spec:
  service: catalog
  description: 99 % of catalog requests complete within 250 ms.
  objective: 99
  window: 30d
  indicator:
    latency:
      histogram: http_request_duration_seconds
      selector: '{{job="{JOB}",service="catalog"}}'
      threshold_seconds: 0.25
  owner: {{team: discovery}}
---
apiVersion: sloguard/v1
kind: SLO
metadata:
  name: {LOGIN}
  labels: {{team: identity}}
spec:
  service: login
  description: Logins succeed (no 5xx).
  objective: 99.9
  window: 30d
  indicator:
{_ratio("login")}  owner: {{team: identity}}
"""


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the daemon's config points: the local Prometheus and the four receivers."""

    prometheus: str
    pagerduty: str
    opsgenie: str
    webhook: str


def config_yaml(endpoints: Endpoints) -> str:
    """The daemon config. Secrets are files beside it (``secrets/``), never inline."""
    return f"""\
# sloguard's config for the demo (written by python -m harness.demo); all on 127.0.0.1.
prometheus: {{url: "{endpoints.prometheus}"}}
slo_paths: [slos/]
interval_seconds: {INTERVAL_SECONDS}
state_path: state/sloguard.db
notifiers:
  - {{name: pd, type: pagerduty, routing_key_file: secrets/pagerduty-routing-key,
     url: "{endpoints.pagerduty}"}}
  - {{name: og, type: opsgenie, api_key_file: secrets/opsgenie-api-key,
     url: "{endpoints.opsgenie}"}}
  - {{name: incidents, type: webhook, preset: incident_io, url: "{endpoints.webhook}",
     secret_file: secrets/webhook-secret}}
  - {{name: chat, type: slack, url_file: secrets/slack-webhook-url}}
routes:
  - {{match: {{severity: [SEV1, SEV2]}}, notifiers: [pd, incidents, chat]}}   # pages
  - {{match: {{severity: [SEV3]}}, notifiers: [og]}}                          # tickets
lifecycle: {{quiet_period_seconds: {QUIET_PERIOD_SECONDS}}}
delivery: {{attempt_timeout_seconds: 5}}
http: {{listen: "127.0.0.1:0"}}
log: {{level: info, format: json}}
"""
