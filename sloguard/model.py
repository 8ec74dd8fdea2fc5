"""The domain model: what an SLO *is*, independent of the YAML it was written in. Pure.

The YAML APIs (native ``sloguard/v1``, Sloth, OpenSLO) live in :mod:`sloguard.spec` and all
produce these frozen objects; everything downstream (burn math, rules, engine, lifecycle)
consumes only these.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType

from sloguard.durations import format_duration
from sloguard.errors import Location
from sloguard.periods import Calendar, elapsed_seconds, period_length_seconds

WINDOW_PLACEHOLDER = "{{.window}}"
# The label that tags each query of an SLO in the one query the engine sends for it; reserved,
# so no group_by may use it.
QUERY_TAG_LABEL = "sloguard_query"
# Mimir's tenant ID characters; '|' joins several for tenant federation.
_TENANTS = re.compile(r"[A-Za-z0-9!_.*'()-]{1,150}(\|[A-Za-z0-9!_.*'()-]{1,150})*")


def check_tenant(value: str) -> str:
    """``value`` if it is a Mimir/Cortex tenant ID (``X-Scope-OrgID``), else ValueError saying
    what would be valid: the connection's tenant and an SLO's are checked alike."""
    if not _TENANTS.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a tenant ID: letters, digits and !-_.*'() (at most 150), "
            "several joined by '|' for a federated query"
        )
    return value


class Severity(IntEnum):
    """Ordered so that ``max()`` picks the worst. NO_DATA is below OK: it never outranks a burn."""

    NO_DATA = -1
    OK = 0
    SEV3 = 1
    SEV2 = 2
    SEV1 = 3

    def __str__(self) -> str:
        return self.name

    @property
    def pages(self) -> bool:
        """SEV1 and SEV2 page a human; SEV3 is a ticket."""
        return self in (Severity.SEV1, Severity.SEV2)

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"{text!r} is not a severity: use SEV1, SEV2 or SEV3") from None


@dataclass(frozen=True, slots=True)
class Tier:
    """One multi-window alert: fires when both windows burn above ``factor(period)``."""

    severity: Severity
    long_seconds: int
    short_seconds: int
    budget_percent: float

    def factor(self, period_seconds: int) -> float:
        """Burn-rate threshold: the rate that spends ``budget_percent`` of the budget in the long
        window. 2 % over 1h of a 30d SLO gives 14.4 (SRE Workbook, Sloth)."""
        return (self.budget_percent / 100.0) * period_seconds / self.long_seconds

    @property
    def long(self) -> str:
        return format_duration(self.long_seconds)

    @property
    def short(self) -> str:
        return format_duration(self.short_seconds)


# The SRE Workbook's recommended policy, as data (DESIGN.md). Used when a spec has no tiers.
DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(Severity.SEV1, 3600, 300, 2.0),
    Tier(Severity.SEV2, 6 * 3600, 1800, 5.0),
    Tier(Severity.SEV3, 86400, 2 * 3600, 10.0),
    Tier(Severity.SEV3, 3 * 86400, 6 * 3600, 10.0),
)


def render_window(template: str, window: str) -> str:
    """Substitute Sloth's ``{{.window}}`` placeholder (spaces inside the braces allowed)."""
    out = template.replace(WINDOW_PLACEHOLDER, window)
    if "{{" in out:  # tolerate "{{ .window }}" as Go templates do
        out = re.sub(r"\{\{\s*\.window\s*\}\}", window, out)
    return out


@dataclass(frozen=True, slots=True)
class RatioIndicator:
    """errors / total, each a PromQL template with ``{{.window}}``."""

    errors: str
    total: str


@dataclass(frozen=True, slots=True)
class LatencyIndicator:
    """Share of requests slower than ``threshold_seconds`` from a Prometheus histogram."""

    histogram: str
    threshold_seconds: float
    selector: str = ""  # e.g. '{job="checkout"}'

    def _matchers(self, extra: str = "") -> str:
        inner = self.selector.strip()
        if inner.startswith("{") and inner.endswith("}"):
            inner = inner[1:-1].strip()
        parts = [p for p in (inner, extra) if p]
        return "{" + ",".join(parts) + "}"

    @property
    def le(self) -> str:
        """The ``le`` label as Prometheus client libraries write it (0.3 -> "0.3", 1 -> "1.0")."""
        return repr(float(self.threshold_seconds))

    @property
    def errors(self) -> str:
        count = f"{self.histogram}_count{self._matchers()}"
        good = self.good_bucket_selector
        return (
            f"(sum(rate({count}[{WINDOW_PLACEHOLDER}])) - sum(rate({good}[{WINDOW_PLACEHOLDER}])))"
        )

    @property
    def total(self) -> str:
        count = f"{self.histogram}_count{self._matchers()}"
        return f"sum(rate({count}[{WINDOW_PLACEHOLDER}]))"

    @property
    def good_bucket_selector(self) -> str:
        """The exact bucket series; evaluation reports an error when it does not exist."""
        le_matcher = 'le="' + self.le + '"'
        return f"{self.histogram}_bucket{self._matchers(le_matcher)}"


@dataclass(frozen=True, slots=True)
class RawIndicator:
    """A ready error-ratio expression with ``{{.window}}``. No event counts are available."""

    error_ratio: str


# A threshold slice is good when ``value <op> threshold`` holds (OpenSLO's objective ``op``).
SLICE_OPS: Mapping[str, str] = MappingProxyType({"lt": "<", "lte": "<=", "gt": ">", "gte": ">="})


@dataclass(frozen=True, slots=True)
class TimesliceIndicator:
    """The SLI over time slices of ``slice_seconds`` (OpenSLO Timeslices and RatioTimeslices).

    Each slice (aligned to multiples of its length, as Prometheus aligns subquery steps) gets a
    badness from 0 to 1, and the error ratio over a window is the mean badness of its slices:

    * ratio with ``slice_target``: a slice is bad (1) when its success ratio ``1 - errors/total``
      is below the target, so the error ratio is the share of bad slices (Timeslices);
    * ratio without a target: a slice's badness is its error ratio, so the error ratio is one
      minus the mean of the slices' success ratios (RatioTimeslices);
    * threshold (``query``, ``op``, ``threshold``): a slice is bad (1) when its value does not
      satisfy ``value <op> threshold`` (OpenSLO thresholdMetric).

    A slice without events (ratio) or whose value is NaN (threshold) has no badness and does not
    count, so quiet minutes neither spend nor earn budget. Queries get the slice length as their
    ``{{.window}}``.
    """

    slice_seconds: int
    errors: str = ""
    total: str = ""
    slice_target: float | None = None  # a ratio in (0, 1]; None: the mean of slice ratios
    query: str = ""
    op: str = ""
    threshold: float = 0.0

    @property
    def slice(self) -> str:
        return format_duration(self.slice_seconds)

    @property
    def slice_badness(self) -> str:
        """PromQL for the badness of the slice that ends at the evaluation time."""
        w = self.slice
        if self.query:
            # ">= -Inf" drops a NaN value (a quantile without requests): that slice does not count.
            value = render_window(self.query, w).strip()
            return f"1 - ((({value}) >= -Inf) {SLICE_OPS[self.op]} bool {self.threshold!r})"
        errors, total = render_window(self.errors, w).strip(), render_window(self.total, w).strip()
        # No error series yet (client libraries create it on the first error) is 0 errors; a
        # slice whose total is 0 is dropped, so it does not count.
        ratio = f"(({errors}) or 0 * ({total}))\n/\n(({total}) > 0)"
        if self.slice_target is None:
            return ratio
        return f"1 - ((1 - ({ratio})) >= bool {self.slice_target!r})"

    def error_ratio(self, window: str) -> str:
        """The mean badness of the slices in ``window`` (a whole number of slices)."""
        return f"avg_over_time((\n{self.slice_badness}\n)[{window}:{self.slice}])"


Indicator = RatioIndicator | LatencyIndicator | RawIndicator | TimesliceIndicator


@dataclass(frozen=True, slots=True)
class Runbook:
    """The runbook's steps, carried into the page, the incident channel and the postmortem."""

    diagnostics: tuple[str, ...] = ()
    mitigations: tuple[str, ...] = ()
    escalation: tuple[str, ...] = ()

    def steps(self) -> dict[str, list[str]]:
        """Non-empty sections, in reading order (JSON-ready)."""
        sections = (
            ("diagnostics", self.diagnostics),
            ("mitigations", self.mitigations),
            ("escalation", self.escalation),
        )
        return {name: list(steps) for name, steps in sections if steps}


@dataclass(frozen=True, slots=True)
class IncidentTeam:
    """Who runs the incident (Slack user IDs by role), whom else to bring in, and where to talk."""

    roles: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    invite: tuple[str, ...] = ()
    bridge_url: str = ""


@dataclass(frozen=True, slots=True)
class StatusComponent:
    """The SLO's component on the public status page; ``name`` is what customers read."""

    component_id: str
    name: str


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class AbsentAlert:
    """An alert when a series the SLO reads is missing (Pyrra's absent alerts): a burn rate
    over no data is no burn at all, so a broken exporter would otherwise stay silent."""

    selectors: tuple[str, ...]
    for_seconds: int
    name: str = "SLOMetricAbsent"
    labels: Mapping[str, str] = field(default_factory=lambda: _frozen(None))


@dataclass(frozen=True, slots=True)
class AlertMeta:
    """What a team attaches to an SLO's alerts: the generated rules' name, labels and
    annotations (every alert, then the paging or the ticket ones), and an absent alert.

    The labels are routing keys too: routes match them, the page (SEV1/SEV2) and ticket
    (SEV3) labels for that severity only."""

    name: str = ""  # "": the generated rules' default name
    labels: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    annotations: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    page_labels: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    page_annotations: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    ticket_labels: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    ticket_annotations: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    absent: AbsentAlert | None = None

    def labels_for(self, severity: Severity) -> dict[str, str]:
        """The labels of ``severity``'s alert: every alert's, then the page's or the ticket's."""
        own = self.page_labels if severity.pages else self.ticket_labels
        return {**self.labels, **(own if severity > Severity.OK else {})}

    def annotations_for(self, severity: Severity) -> dict[str, str]:
        own = self.page_annotations if severity.pages else self.ticket_annotations
        return {**self.annotations, **own}


def _windows(tiers: tuple[Tier, ...]) -> tuple[int, ...]:
    seen = {t.long_seconds for t in tiers} | {t.short_seconds for t in tiers}
    return tuple(sorted(seen))


@dataclass(frozen=True, slots=True)
class SLO:
    """One SLO, fully resolved (defaults applied, durations in seconds, objective in percent)."""

    name: str
    service: str
    objective_percent: float
    period_seconds: int
    indicator: Indicator
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    owner: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    runbook_url: str = ""
    dashboard_url: str = ""
    # A window with fewer events than this does not count (low-traffic protection); 0 = off.
    min_events: float = 0.0
    # Evaluate one SLO per distinct value of these labels (``sum by (...)``); () = one SLO.
    group_by: tuple[str, ...] = ()
    source: Location = field(default_factory=lambda: Location("<memory>"))
    # Where a PrometheusRule for this SLO goes, and the labels of that Kubernetes object (e.g.
    # the prometheus-operator's rule selector); never labels of the series.
    namespace: str = ""
    k8s_labels: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    runbook: Runbook = field(default_factory=Runbook)
    incident: IncidentTeam = field(default_factory=IncidentTeam)
    status_page: StatusComponent | None = None
    alerts: AlertMeta = field(default_factory=AlertMeta)
    # A calendar SLO's budget resets at each period start; ``period_seconds`` is then the
    # period's nominal length (for the tiers' factors), see :mod:`sloguard.periods`.
    calendar: Calendar | None = None
    # The Mimir/Cortex tenant this SLO's queries are asked in (X-Scope-OrgID); None: the
    # connection's own. SLOs of different tenants are never combined in one query.
    tenant: str | None = None
    # Every window the tiers use, ascending, without duplicates (not the period): worked out
    # once here, as it is read for every SLO every tick (a cache keyed by the tiers hashed
    # four Tiers per read).
    window_seconds: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "window_seconds", _windows(self.tiers))

    @property
    def budget(self) -> float:
        """Error budget as a ratio: 99.9 % -> 0.001, computed as Sloth does ((100 - obj) / 100)."""
        return (100.0 - self.objective_percent) / 100.0

    @property
    def objective_ratio(self) -> float:
        return self.objective_percent / 100.0

    @property
    def period(self) -> str:
        """``30d``; ``calendar month (UTC)`` for a calendar SLO."""
        if self.calendar is not None:
            return self.calendar.describe()
        return format_duration(self.period_seconds)

    def budget_window_seconds(self, at: float) -> int:
        """The range the budget is measured over at ``at``: the period, or for a calendar SLO
        the elapsed part of the current period."""
        if self.calendar is None:
            return self.period_seconds
        return elapsed_seconds(self.calendar, at)

    def budget_share(self, at: float) -> float:
        """The share of the whole period's budget that the error ratio over
        :meth:`budget_window_seconds` spends at ratio = budget: 1 for a rolling SLO, the elapsed
        share of the current period for a calendar one (the period's events are estimated from
        the traffic so far)."""
        if self.calendar is None:
            return 1.0
        return self.budget_window_seconds(at) / period_length_seconds(self.calendar, at)

    def exhaustion_period_seconds(self, at: float) -> float:
        """The period length a burn of 1 spends the whole budget in (the real length of the
        current calendar period)."""
        if self.calendar is None:
            return float(self.period_seconds)
        return period_length_seconds(self.calendar, at)

    @property
    def counts_events(self) -> bool:
        """Whether the indicator has event counts (a total rate) besides its error ratio."""
        return isinstance(self.indicator, RatioIndicator | LatencyIndicator)

    def error_ratio_query(self, window: str) -> str:
        """PromQL for the error ratio over ``window`` (e.g. ``"5m"``)."""
        ind = self.indicator
        if isinstance(ind, RawIndicator):
            return render_window(ind.error_ratio, window)
        if isinstance(ind, TimesliceIndicator):
            return ind.error_ratio(window)
        return f"({render_window(ind.errors, window)})\n/\n({render_window(ind.total, window)})"

    def total_query(self, window: str) -> str | None:
        """PromQL for the event *rate* over ``window``; None without event counts (raw and
        time-slice indicators)."""
        ind = self.indicator
        if not isinstance(ind, RatioIndicator | LatencyIndicator):
            return None
        return render_window(ind.total, window)
