"""The configuration's models: every field typed once, units in the names (see docs/config.md)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from sloguard.errors import Location
from sloguard.notify import NotifierConfig
from sloguard.notify.heartbeat import HeartbeatConfig
from sloguard.prometheus.config import PrometheusConfig

_FORBID = ConfigDict(extra="forbid", frozen=True)


SeverityName = Literal["SEV1", "SEV2", "SEV3"]
BudgetEventName = Literal["budget.threshold_crossed", "budget.exhausted", "budget.recovered"]
# Notifiers that render budget events: a message, a signed event, a freeze ticket, or a
# low-urgency alert per budget line (PagerDuty warning/error, Opsgenie P4/P3).
BUDGET_NOTIFIER_TYPES = ("webhook", "slack", "jira", "pagerduty", "opsgenie")


class RouteMatch(BaseModel):
    """Which SLOs and severities a route takes. Every given condition must hold."""

    model_config = _FORBID

    severity: list[SeverityName] = Field(default_factory=list, description="empty: all")
    slos: list[str] = Field(default_factory=list, description="SLO names; empty: all")
    labels: dict[str, str] = Field(default_factory=dict, description="exact label values")
    event: list[BudgetEventName] = Field(
        default_factory=list,
        description="budget events this route takes (and only those); empty: the episodes'",
    )


class BudgetConfig(BaseModel):
    """The error-budget policy's lines: events when the budget left crosses them."""

    model_config = _FORBID

    thresholds_percent: list[float] = Field(
        default_factory=lambda: [50.0, 25.0, 0.0],
        description="percent of the budget left, descending; 0 is exhaustion",
    )
    hysteresis_percent: float = Field(
        default=5.0, ge=0, le=50, description="climb this far above a line to recover"
    )

    @field_validator("thresholds_percent")
    @classmethod
    def _descending(cls, value: list[float]) -> list[float]:
        if value != sorted(set(value), reverse=True) or any(not 0 <= v < 100 for v in value):
            raise ValueError("give distinct percents from 0 to below 100, highest first")
        return value


class RouteConfig(BaseModel):
    model_config = _FORBID

    match: RouteMatch = Field(default_factory=RouteMatch)
    notifiers: list[str] = Field(min_length=1)


class SilenceMatch(BaseModel):
    model_config = _FORBID

    slos: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)


class SilenceConfig(BaseModel):
    """A maintenance window: pages for matching SLOs are held back from ``start`` to ``end``."""

    model_config = _FORBID

    match: SilenceMatch
    start: AwareDatetime
    end: AwareDatetime
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _sane(self) -> SilenceConfig:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if not self.match.slos and not self.match.labels:
            raise ValueError("a silence must match something: set match.slos or match.labels")
        return self


class LifecycleConfig(BaseModel):
    model_config = _FORBID

    quiet_period_seconds: float = Field(default=300.0, ge=0, le=86400)
    stale_after_seconds: float = Field(default=600.0, gt=0, le=7 * 86400)


class DeliveryConfig(BaseModel):
    model_config = _FORBID

    attempt_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    initial_backoff_seconds: float = Field(default=5.0, gt=0, le=3600)
    max_backoff_seconds: float = Field(default=300.0, gt=0, le=86400)
    max_retry_after_seconds: float = Field(default=3600.0, gt=0, le=86400)
    give_up_after_seconds: float = Field(default=86400.0, gt=0, le=30 * 86400)
    concurrency: int = Field(default=8, ge=1, le=256)


class HttpConfig(BaseModel):
    model_config = _FORBID

    listen: str = Field(
        default="0.0.0.0:9464",
        pattern=r"^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$",
        description="host:port of the read-only HTTP server (metrics, health, status)",
    )


class LogConfig(BaseModel):
    model_config = _FORBID

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"


class HaConfig(BaseModel):
    """Replicas on one PostgreSQL share ``shards`` by lease, renewed every tick and taken over
    ``lease_seconds`` after its holder stops (docs/reliability.md, "High availability")."""

    model_config = _FORBID

    shards: int = Field(default=1, ge=1, le=1024, description="1: active/standby")
    lease_seconds: float = Field(default=15.0, ge=1, le=600)


class RecordedSeriesConfig(BaseModel):
    """Whether to read the recorded series of ``sloguard generate``'s rules when they run.

    Recorded series are cheap (one query per window for all SLOs) but only change once per
    rule evaluation, so they add up to that interval to the time to page; direct queries see
    every scrape. See docs/rules.md, "Recorded mode in the evaluator".
    """

    model_config = _FORBID

    mode: Literal["auto", "off"] = Field(
        default="auto",
        description="auto: recorded series for the SLOs whose rules run; off: always direct",
    )
    direct_windows_max_seconds: int | None = Field(
        default=None,
        ge=0,
        le=366 * 86400,
        description=(
            "in auto mode, windows up to this long are still queried directly; unset: the "
            "shortest short window of the paging tiers (5m), while at most 500 SLOs are read "
            "from recorded series"
        ),
    )


class FastPathConfig(BaseModel):
    """Check the tripwires of the SLOs about to page between the regular ticks (see
    sloguard.fastpath).

    An SLO whose short window of a paging tier already burns over the tier's factor has that
    tier's long window checked (one direct query) every ``interval_seconds``; once it is over
    the factor the SLO is evaluated in full at once, so the page follows the long window's
    crossing within about a second rather than within a whole tick interval.
    """

    model_config = _FORBID

    interval_seconds: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description="seconds between fast ticks for the SLOs approaching a page; 0 turns it off",
    )
    max_slos: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="at most this many SLOs on the fast path (the hottest first)",
    )


ComponentStatus = Literal["operational", "degraded_performance", "partial_outage", "major_outage"]


class StatusPageConfig(BaseModel):
    """The public status page: its own listener, so the daemon's port can stay private."""

    model_config = _FORBID

    listen: str = Field(
        pattern=r"^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$",
        description="host:port of the public status page (a different port from http.listen)",
    )
    title: str = Field(default="Status", min_length=1, max_length=200)
    severity_status: dict[Literal["SEV1", "SEV2", "SEV3"], ComponentStatus] = Field(
        default_factory=lambda: {  # type: ignore[arg-type]  # the literals are the keys
            "SEV1": "major_outage",
            "SEV2": "partial_outage",
            "SEV3": "degraded_performance",
        },
        description="the component status an open episode of each severity shows",
    )


class DaemonConfig(BaseModel):
    """The whole file. ``prometheus``, ``slo_paths`` and one of ``state_path`` (SQLite) and
    ``state_url`` (PostgreSQL) are required."""

    model_config = _FORBID

    prometheus: PrometheusConfig
    slo_paths: list[str] = Field(min_length=1)
    interval_seconds: float = Field(default=30.0, ge=1, le=3600)
    interval_jitter_ratio: float = Field(
        default=0.1,
        ge=0,
        le=0.5,
        description="each interval is spread over +/- this share, so replicas de-synchronise",
    )
    state_path: str | None = Field(default=None, min_length=1)
    state_url: str | None = None  # postgresql://USER@HOST:PORT/DB[?sslmode=...]
    state_password_file: str | None = None
    state_password_env: str | None = None
    ha: HaConfig = Field(default_factory=HaConfig)
    heartbeat: HeartbeatConfig | None = None
    notifiers: list[NotifierConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    silences: list[SilenceConfig] = Field(default_factory=list)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    status_page: StatusPageConfig | None = None
    recorded_series: RecordedSeriesConfig = Field(default_factory=RecordedSeriesConfig)
    fast_path: FastPathConfig = Field(default_factory=FastPathConfig)
    log: LogConfig = Field(default_factory=LogConfig)

    _where: dict[str, Location] = PrivateAttr(default_factory=dict)

    @property
    def fast_path_interval_seconds(self) -> float:
        """The fast path's interval in effect: 0 (off) when it is not shorter than the tick
        interval (a short ``interval_seconds`` with the default fast path needs none)."""
        fast = self.fast_path.interval_seconds
        return fast if 0 < fast < self.interval_seconds else 0.0

    def where(self, notifier: str) -> Location:
        """Where the notifier named ``notifier`` is defined (for errors found when building it)."""
        return self._where.get(notifier, Location("<config>"))

    @field_validator("state_url")
    @classmethod
    def _postgresql_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"postgres(ql)?://[^/?#]+/[^/?#]+(\?.*)?", value):
            raise ValueError(
                "not a PostgreSQL URL; expected postgresql://USER@HOST:PORT/DB "
                "(TLS: ?sslmode=verify-full)"
            )
        return value

    @field_validator("slo_paths")
    @classmethod
    def _non_empty_paths(cls, value: list[str]) -> list[str]:
        if any(not p.strip() for p in value):
            raise ValueError("an entry is empty; give a file or directory of SLO YAML")
        return value


# --- loading --------------------------------------------------------------------------------
