"""SLOs -> Prometheus rule groups (recording + multi-window multi-burn-rate alerts). Pure.

The output is compatible with Sloth (same series names and ``sloth_*`` labels), so Grafana
dashboards built for Sloth work unchanged, with two deliberate differences, both documented in
``docs/rules.md``:

* For ratio and latency indicators the error and total event *rates* are recorded per window
  (``slo:sli_errors:rate<w>``, ``slo:sli_total:rate<w>``) and ``slo:sli_error:ratio_rate<w>`` is
  their quotient. The period ratio (``slo:sli_error:ratio_rate30d``) is then
  ``sum_over_time(errors 5m) / sum_over_time(total 5m)``: every event weighs the same, where
  Sloth's ``avg_over_time`` of 5m *ratios* lets a quiet night weigh as much as a busy day.
* Alerts carry ``severity: SEV1|SEV2|SEV3`` (one alert rule per severity; two tiers of one
  severity are joined with ``or``, as Sloth's ticket alert joins its two windows pairs).

The package: names and numbers (``_text``), rule types and rendering (``_rule``), recording
rules (``_recording``), alert rules (``_alerts``); the groups of an SLO are put together here.

The SEV1 tier's short window (5m by default) is recorded in a group of its own that Prometheus
evaluates every ``fast_interval_seconds`` (15 s by default) instead of its global interval (1m
by default): a recorded window is up to one evaluation old, and this one decides how soon an
SLO about to page joins the daemon's fast path when it reads recorded series (docs/rules.md).
The windows of 6h and more, the period and the meta series go the other way, every
``slow_interval_seconds`` (2m by default): no page waits on them, and at 10,000 SLOs a
Prometheus cannot evaluate every rule every minute on two cores.

Everything here is deterministic: same SLOs in, byte-identical YAML out.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from sloguard.model import SLO
from sloguard.rules._alerts import alert_rules, tier_threshold
from sloguard.rules._recording import (
    calendar_notes,
    fast_windows,
    meta_rules,
    recorded_windows,
    sli_hash,
    sli_rules,
    slow_windows,
    summed_ratio,
)
from sloguard.rules._rule import (
    HEADER_MARK,
    Rule,
    RuleGroup,
    render_prometheusrule,
    render_rules,
)
from sloguard.rules._text import (
    ALERT_NAME,
    ERRORS,
    HASH_LABEL,
    INFO,
    RATIO,
    TOTAL,
    budget_text,
    number,
    objective_text,
    prom_duration,
    ratio_series,
    sloth_id,
    sloth_slo,
)

FAST_INTERVAL_SECONDS = 15
"""The default evaluation interval of the fast group: a common scrape interval, so a burn that
one scrape shows is recorded within one more interval."""

SLOW_INTERVAL_SECONDS = 120
"""The default evaluation interval of the slow group and of the meta group: a twelfth of the
evaluations they would cost every 15 s, half of those at a 1m global interval, and well inside
Prometheus' 5m lookback, so an instant query at any moment still finds their series."""


def slo_rule_groups(
    slo: SLO,
    *,
    mode: str = "sloguard",
    fast_interval_seconds: int = FAST_INTERVAL_SECONDS,
    slow_interval_seconds: int = SLOW_INTERVAL_SECONDS,
) -> tuple[RuleGroup, ...]:
    """The rule groups of one SLO: the fast SLI recordings (:func:`fast_windows`, evaluated every
    ``fast_interval_seconds``; 0: none), the other SLI recordings at the global interval, the
    slow ones (:func:`slow_windows`, every ``slow_interval_seconds``; 0: none, at the global
    interval), the meta recordings (every ``slow_interval_seconds`` when set), and the alerts
    (if any tier), at the global interval. Each window's rules move together, in order, so the
    layout changes when a number is recorded, never what it is."""
    sid = sloth_id(slo)
    fast = fast_windows(slo) if fast_interval_seconds > 0 else ()
    slow = slow_windows(slo) if slow_interval_seconds > 0 else ()
    rest = [w for w in recorded_windows(slo) if w not in fast and w not in slow]
    slow_interval = prom_duration(slow_interval_seconds) if slow_interval_seconds > 0 else ""
    groups = []
    if fast:
        interval = prom_duration(fast_interval_seconds)
        rules = sli_rules(slo, fast)
        groups.append(RuleGroup(f"sloguard-slo-sli-fast-recordings-{sid}", rules, interval))
    if rest:
        groups.append(RuleGroup(f"sloguard-slo-sli-recordings-{sid}", sli_rules(slo, rest)))
    if slow:
        rules = sli_rules(slo, slow)
        groups.append(RuleGroup(f"sloguard-slo-sli-slow-recordings-{sid}", rules, slow_interval))
    meta = meta_rules(slo, mode)
    groups.append(RuleGroup(f"sloguard-slo-meta-recordings-{sid}", meta, slow_interval))
    alerts = alert_rules(slo)
    if alerts:
        groups.append(RuleGroup(f"sloguard-slo-alerts-{sid}", alerts))
    return tuple(groups)


def rule_groups(
    slos: Iterable[SLO],
    *,
    fast_interval_seconds: int = FAST_INTERVAL_SECONDS,
    slow_interval_seconds: int = SLOW_INTERVAL_SECONDS,
) -> tuple[RuleGroup, ...]:
    """All groups of ``slos`` (:func:`slo_rule_groups`), ordered by ``sloth_id`` so the output
    never depends on input order.

    Raises ValueError when two SLOs share a ``sloth_id`` (their series would collide).
    """
    ordered = sorted(slos, key=sloth_id)
    for a, b in itertools.pairwise(ordered):
        if sloth_id(a) == sloth_id(b):
            raise ValueError(
                f"{b.source}: SLO {b.name!r} of service {b.service!r} is also defined at "
                f"{a.source}: their recorded series would collide (sloth_id {sloth_id(a)!r})"
            )
    return tuple(
        g
        for slo in ordered
        for g in slo_rule_groups(
            slo,
            fast_interval_seconds=fast_interval_seconds,
            slow_interval_seconds=slow_interval_seconds,
        )
    )


__all__ = [
    "ALERT_NAME",
    "ERRORS",
    "FAST_INTERVAL_SECONDS",
    "HASH_LABEL",
    "HEADER_MARK",
    "INFO",
    "RATIO",
    "SLOW_INTERVAL_SECONDS",
    "TOTAL",
    "Rule",
    "RuleGroup",
    "budget_text",
    "calendar_notes",
    "fast_windows",
    "number",
    "objective_text",
    "prom_duration",
    "ratio_series",
    "recorded_windows",
    "render_prometheusrule",
    "render_rules",
    "rule_groups",
    "sli_hash",
    "slo_rule_groups",
    "sloth_id",
    "sloth_slo",
    "slow_windows",
    "summed_ratio",
    "tier_threshold",
]
