"""sloguard's own metrics: every series it exports is defined here, on a private registry.

This edge owns prometheus-client. Nothing else imports it; services call the methods of
:class:`Metrics` and the HTTP server serves :meth:`Metrics.render`.

Conventions (STYLE.md rule 7): names start with ``sloguard_``, values are in base units
(seconds, ratios 0..1), and labels are bounded: ``slo`` and ``service`` come from the SLO
definitions, ``window`` from their tiers, every other label from a fixed set checked here.

Per-SLO series carry ``slo`` (the evaluation key; one per group of a grouped SLO) and
``service`` (for Grafana's service variable). They describe the *current* set of SLOs:
:meth:`Metrics.observe_evaluations` removes the series of SLOs, groups and windows that are no
longer evaluated (after a reload), so a deleted SLO does not linger as a frozen value.

Unknown values are absent, never invented:

* ``sloguard_slo_severity`` is -1 while an SLO has no data (Prometheus unreachable, no series,
  too few events), matching :class:`sloguard.model.Severity`; ``sloguard_slo_no_data`` is 1 then.
  -1 never compares above OK, so ``sloguard_slo_severity >= 1`` means "burning".
* a window whose burn rate is unknown has no ``sloguard_slo_burn_rate`` series;
* ``sloguard_slo_error_budget_remaining_ratio`` is absent when the period has no data; it goes
  negative once the budget is overspent;
* ``sloguard_slo_time_to_exhaustion_seconds`` is 0 when the budget is spent, +Inf when nothing
  burns (it is never exhausted at this rate), absent when unknown.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Iterable, Mapping, Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from sloguard import __version__
from sloguard.burn import Evaluation
from sloguard.durations import format_duration
from sloguard.model import SLO, Severity
from sloguard.sink import FastOutcome, NotificationOutcome, TickOutcome

# ``*_created`` series double every counter and histogram and no dashboard uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]

# The classic text format: every sloguard name is a legacy-valid name, so what
# ``generate_latest`` writes is exactly version 0.0.4, which every Prometheus parses.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Evaluation ticks take milliseconds with a few SLOs and seconds with hundreds of 30d queries.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_SLO_LABELS = ("slo", "service")


_OPEN_SEVERITIES = (Severity.SEV3, Severity.SEV2, Severity.SEV1)
_MAX_INTEGRATION_LEN = 32


class _SeriesSet:
    """A labelled gauge whose whole set of series is replaced at once; stale series go away."""

    def __init__(self, gauge: Gauge) -> None:
        self._gauge = gauge
        self._present: set[tuple[str, ...]] = set()

    def replace(self, values: Mapping[tuple[str, ...], float]) -> None:
        for labels, value in values.items():
            self._gauge.labels(*labels).set(value)
        for stale in self._present - values.keys():
            self._gauge.remove(*stale)
        self._present = set(values)


class Metrics:
    """The metrics of one sloguard process, on its own :class:`CollectorRegistry`: the
    :class:`~sloguard.sink.MetricsSink` the services report to.

    Each instance is independent, so tests (and two daemons in one process) never share state.
    """

    def __init__(self, *, version: str = __version__, python: str | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry

        # Per SLO (labels: slo, service [, window]).
        self._burn_rate = _SeriesSet(
            Gauge(
                "sloguard_slo_burn_rate",
                "Error-budget burn rate over a window: error ratio / (1 - objective). "
                "1 spends the budget exactly over the SLO period.",
                (*_SLO_LABELS, "window"),
                registry=r,
            )
        )
        self._budget = _SeriesSet(
            Gauge(
                "sloguard_slo_error_budget_remaining_ratio",
                "Share of the error budget left over the SLO period (1 untouched, 0 spent, "
                "negative overspent). Absent without data.",
                _SLO_LABELS,
                registry=r,
            )
        )
        self._severity = _SeriesSet(
            Gauge(
                "sloguard_slo_severity",
                "Current severity: 0 OK, 1 SEV3, 2 SEV2, 3 SEV1, -1 no data.",
                _SLO_LABELS,
                registry=r,
            )
        )
        self._no_data = _SeriesSet(
            Gauge(
                "sloguard_slo_no_data",
                "1 when the SLO could not be classified (no series, too few events, "
                "query failed), else 0.",
                _SLO_LABELS,
                registry=r,
            )
        )
        self._objective = _SeriesSet(
            Gauge(
                "sloguard_slo_objective_ratio",
                "The SLO's objective as a ratio (99.9 % -> 0.999).",
                _SLO_LABELS,
                registry=r,
            )
        )
        self._exhaustion = _SeriesSet(
            Gauge(
                "sloguard_slo_time_to_exhaustion_seconds",
                "Seconds until the error budget is spent at the current burn rate "
                "(0 spent, +Inf not burning). Absent when unknown.",
                _SLO_LABELS,
                registry=r,
            )
        )

        # Process.
        self._duration = Histogram(
            "sloguard_evaluation_duration_seconds",
            "Wall time of one evaluation tick (all SLOs, one pinned instant).",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self._evaluations = Counter(
            "sloguard_evaluations",
            "Evaluation ticks by outcome: success, partial, failure, skipped (overlap).",
            ("outcome",),
            registry=r,
        )
        self._fast_probes = Counter(
            "sloguard_fast_path_probes",
            "Fast-path probes of the SLOs approaching a page, between the regular ticks, by "
            "outcome: below (no long window over its factor yet), crossed (the SLOs that "
            "crossed were evaluated and stepped), failure.",
            ("outcome",),
            registry=r,
        )
        self._fast_slos = Gauge(
            "sloguard_fast_path_slos",
            "SLOs on the fast path now: a paging tier's short window burns over its factor.",
            registry=r,
        )
        self._last_success = Gauge(
            "sloguard_last_successful_evaluation_timestamp_seconds",
            "Unix time at which the last successful (or partial) tick finished.",
            registry=r,
        )
        self._prometheus_up = Gauge(
            "sloguard_prometheus_up",
            "1 when the last tick could reach Prometheus, else 0.",
            registry=r,
        )
        self._notifications = Counter(
            "sloguard_notifications",
            "Delivery attempts by integration and outcome: sent, retry, dead_letter.",
            ("integration", "outcome"),
            registry=r,
        )
        self._outbox_pending = Gauge(
            "sloguard_outbox_pending",
            "Notifications waiting in the outbox for (re)delivery.",
            registry=r,
        )
        self._dead_letters = Gauge(
            "sloguard_outbox_dead_letters",
            "Notifications given up on (refused for good or out of attempts).",
            registry=r,
        )
        self._reload_success = Gauge(
            "sloguard_config_reload_success",
            "1 when the last configuration (re)load succeeded, 0 when it was rejected and the "
            "previous configuration keeps running.",
            registry=r,
        )
        self._reload_timestamp = Gauge(
            "sloguard_config_reload_timestamp_seconds",
            "Unix time of the last successful configuration (re)load.",
            registry=r,
        )
        self._reloads = Counter(
            "sloguard_config_reloads",
            "Configuration (re)load attempts by outcome: success, failure.",
            ("outcome",),
            registry=r,
        )
        self._open_episodes = Gauge(
            "sloguard_open_episodes",
            "Open burn episodes (declared, not yet resolved) by their current severity.",
            ("severity",),
            registry=r,
        )
        self._shards_held = Gauge(
            "sloguard_shards_held",
            "Shards whose lease this replica holds (HA on PostgreSQL; 0 on a standby).",
            registry=r,
        )
        self._lease_transitions = Counter(
            "sloguard_lease_transitions",
            "Shard lease changes of this replica by reason: acquired, takeover, lost, released.",
            ("reason",),
            registry=r,
        )
        self._heartbeats = Counter(
            "sloguard_heartbeat_pings",
            "Dead man's switch pings after successful ticks, by target (url, opsgenie) and "
            "outcome (ok, failure).",
            ("target", "outcome"),
            registry=r,
        )
        build_info = Gauge(
            "sloguard_build_info",
            "Always 1; the labels say which sloguard and Python run.",
            ("version", "python"),
            registry=r,
        )
        build_info.labels(version, python or platform.python_version()).set(1)

        # Pre-create the bounded label values, so rate() sees the first increment.
        for outcome in TickOutcome:
            self._evaluations.labels(outcome.value)
        for fast_outcome in FastOutcome:
            self._fast_probes.labels(fast_outcome.value)
        for reload_outcome in ("success", "failure"):
            self._reloads.labels(reload_outcome)
        self.set_open_episodes({})

    # -- per SLO ------------------------------------------------------------------------------

    def observe_evaluations(
        self, evaluations: Sequence[Evaluation], slos_by_key: Mapping[str, SLO]
    ) -> None:
        """Export the verdicts of one tick. ``evaluations`` is the *complete* current set:
        series of SLOs (or groups, or windows) not in it are removed.

        ``slos_by_key`` maps each ``Evaluation.slo`` key to its SLO (for ``service`` and the
        objective); an evaluation whose key is missing is exported with ``service=""``.
        """
        burn: dict[tuple[str, ...], float] = {}
        budget: dict[tuple[str, ...], float] = {}
        severity: dict[tuple[str, ...], float] = {}
        no_data: dict[tuple[str, ...], float] = {}
        objective: dict[tuple[str, ...], float] = {}
        exhaustion: dict[tuple[str, ...], float] = {}
        for ev in evaluations:
            slo = slos_by_key.get(ev.slo)
            key = (ev.slo, slo.service if slo is not None else "")
            severity[key] = float(int(ev.severity))
            no_data[key] = 1.0 if ev.severity is Severity.NO_DATA else 0.0
            if slo is not None:
                objective[key] = slo.objective_ratio
            for window, rate in ev.burn_rates.items():
                if rate is not None and math.isfinite(rate):
                    burn[(*key, format_duration(window))] = rate
            remaining = ev.error_budget_remaining
            if remaining is not None and math.isfinite(remaining):
                budget[key] = remaining
            tte = _time_to_exhaustion(ev)
            if tte is not None:
                exhaustion[key] = tte
        self._burn_rate.replace(burn)
        self._budget.replace(budget)
        self._severity.replace(severity)
        self._no_data.replace(no_data)
        self._objective.replace(objective)
        self._exhaustion.replace(exhaustion)

    # -- process ------------------------------------------------------------------------------

    def observe_tick(self, duration_seconds: float, outcome: TickOutcome, *, at: float) -> None:
        """Count one tick. ``at`` is the wall-clock unix time it finished; a successful or
        partial tick moves ``sloguard_last_successful_evaluation_timestamp_seconds`` to it.
        Skipped ticks are counted but not timed."""
        outcome = TickOutcome(outcome)
        self._evaluations.labels(outcome.value).inc()
        if outcome is not TickOutcome.SKIPPED:
            self._duration.observe(max(duration_seconds, 0.0))
        if outcome.successful:
            self._last_success.set(at)

    def observe_fast_path(self, outcome: FastOutcome | None, slos: int) -> None:
        """Count one fast tick (``outcome`` None: a regular tick changed the set) and
        set the number of SLOs on the fast path after it."""
        if outcome is not None:
            self._fast_probes.labels(FastOutcome(outcome).value).inc()
        self._fast_slos.set(slos)

    def set_prometheus_up(self, up: bool) -> None:
        self._prometheus_up.set(1 if up else 0)

    def count_notification(
        self, integration: str, outcome: NotificationOutcome | str, n: int = 1
    ) -> None:
        """Count ``n`` delivery attempts. ``integration`` is the notifier type (pagerduty,
        opsgenie, webhook, slack), never its configured name or URL."""
        _check_integration(integration)
        self._notifications.labels(integration, NotificationOutcome(outcome).value).inc(n)

    def declare_integrations(self, integrations: Iterable[str]) -> None:
        """Create the notification series of the configured integrations at 0, so that the
        first failure is visible to ``rate()`` / ``increase()``."""
        for integration in integrations:
            _check_integration(integration)
            for outcome in NotificationOutcome:
                self._notifications.labels(integration, outcome.value)

    def set_outbox(self, pending: int, dead_letters: int) -> None:
        self._outbox_pending.set(pending)
        self._dead_letters.set(dead_letters)

    def count_heartbeat(self, target: str, *, ok: bool) -> None:
        self._heartbeats.labels(target, "ok" if ok else "failure").inc()

    def observe_leases(self, held: int, transitions: Sequence[str]) -> None:
        self._shards_held.set(held)
        for reason in transitions:
            self._lease_transitions.labels(reason).inc()

    def config_reloaded(self, ok: bool, at: float) -> None:
        """Record a configuration (re)load attempt at wall-clock ``at``."""
        self._reloads.labels("success" if ok else "failure").inc()
        self._reload_success.set(1 if ok else 0)
        if ok:
            self._reload_timestamp.set(at)

    def set_open_episodes(self, by_severity: Mapping[Severity, int]) -> None:
        """Open episodes per current severity; severities not given are 0."""
        for sev in _OPEN_SEVERITIES:
            self._open_episodes.labels(sev.name).set(by_severity.get(sev, 0))

    # -- exposition ---------------------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text exposition format (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)


def _time_to_exhaustion(ev: Evaluation) -> float | None:
    if ev.time_to_exhaustion_seconds is not None:
        return ev.time_to_exhaustion_seconds
    # burn.time_to_exhaustion gives None both for "unknown" and for "not burning"; with the
    # remaining budget positive and a burn rate known, it is the latter: never exhausted.
    remaining = ev.error_budget_remaining
    burning_known = any(v is not None and math.isfinite(v) for v in ev.burn_rates.values())
    if remaining is not None and math.isfinite(remaining) and remaining > 0 and burning_known:
        return math.inf
    return None


def _check_integration(name: str) -> None:
    """Integration names are few and fixed in code; refuse anything that looks like free text
    (a configured name, a URL), which would make the label unbounded or leak a secret."""
    ok = 0 < len(name) <= _MAX_INTEGRATION_LEN and all(
        c.islower() or c.isdigit() or c == "_" for c in name
    )
    if not ok:
        raise ValueError(f"integration label must be a short lowercase word, got {len(name)} chars")


__all__ = ["CONTENT_TYPE", "DURATION_BUCKETS", "Metrics"]
