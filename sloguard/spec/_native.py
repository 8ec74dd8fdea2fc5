"""The native ``apiVersion: sloguard/v1`` ``kind: SLO`` document: its pydantic schema.

This is the YAML API only. :mod:`sloguard.spec._build` turns a validated document into the
frozen :class:`sloguard.model.SLO`; the Sloth and OpenSLO adapters produce documents of this
same shape, so one schema and one set of checks serve every input format.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from sloguard.durations import DurationError, parse_duration
from sloguard.model import QUERY_TAG_LABEL, SLICE_OPS, check_tenant
from sloguard.spec._calendar import CalendarSpec
from sloguard.spec._fields import (
    LABEL_RE,
    StrictModel,
    check_labels,
    check_name,
    check_url,
    check_window_days,
    shown,
)
from sloguard.spec._incident import IncidentSpec, RunbookSpec, StatusPageSpec

API_VERSION = "sloguard/v1"
KIND = "SLO"
DEFAULT_WINDOW = "30d"
SEVERITIES = ("SEV1", "SEV2", "SEV3")

K8S_NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
K8S_LABEL_RE = re.compile(
    r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)


class Metadata(StrictModel):
    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    # The Kubernetes namespace and object labels of a generated PrometheusRule.
    namespace: str = ""
    k8s_labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if value and not K8S_NAMESPACE_RE.match(value):
            raise ValueError(
                f"namespace {value!r} is not a Kubernetes namespace: lowercase letters, digits "
                "and '-', at most 63 (e.g. monitoring)"
            )
        return value

    @field_validator("k8s_labels")
    @classmethod
    def _k8s_labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not K8S_LABEL_RE.match(key):
                raise ValueError(
                    f"k8s_labels key {key!r} is not a Kubernetes label key "
                    "(e.g. release or app.kubernetes.io/part-of)"
                )
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        return check_labels(value)


class RatioSpec(StrictModel):
    errors: str = Field(min_length=1)
    total: str = Field(min_length=1)


class LatencySpec(StrictModel):
    histogram: str = Field(min_length=1)
    threshold_seconds: float = Field(gt=0)
    selector: str = ""

    @field_validator("histogram")
    @classmethod
    def _metric(cls, value: str) -> str:
        base = value.removesuffix("_bucket").removesuffix("_count")
        if not re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", base):
            raise ValueError(f"{value!r} is not a metric name, e.g. http_request_duration_seconds")
        if base != value:
            raise ValueError(
                f"give the histogram's base name {base!r}; sloguard adds _bucket and _count"
            )
        return value

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: str) -> str:
        text = value.strip()
        if text and not (text.startswith("{") and text.endswith("}")):
            raise ValueError(
                f'selector {value!r} must be label matchers in braces, e.g. {{job="api"}}'
            )
        return value


class RawSpec(StrictModel):
    error_ratio: str = Field(min_length=1)


class ThresholdSpec(StrictModel):
    """A slice is good when the query's value satisfies ``value <op> threshold``."""

    query: str = Field(min_length=1)
    op: str
    threshold: float

    @field_validator("op")
    @classmethod
    def _op(cls, value: str) -> str:
        if value not in SLICE_OPS:
            raise ValueError(f"op {value!r} is not one of {', '.join(SLICE_OPS)}")
        return value


class TimeslicesSpec(StrictModel):
    """The SLI over time slices: a ratio per slice or a threshold on a value per slice."""

    slice: str = "1m"
    ratio: RatioSpec | None = None
    threshold: ThresholdSpec | None = None
    # A ratio slice is good when its success ratio reaches this; omitted, the SLI is the mean
    # of the slices' success ratios (OpenSLO RatioTimeslices).
    slice_target_percent: float | None = Field(default=None, gt=0, le=100)

    @field_validator("slice")
    @classmethod
    def _slice(cls, value: str) -> str:
        try:
            parse_duration(value)
        except DurationError as exc:
            raise ValueError(f"{exc}; a slice is e.g. 1m or 5m") from None
        return value

    @model_validator(mode="after")
    def _one_sli(self) -> TimeslicesSpec:
        if (self.ratio is None) == (self.threshold is None):
            raise ValueError("give exactly one of ratio, threshold")
        if self.threshold is not None and self.slice_target_percent is not None:
            raise ValueError(
                "slice_target_percent is for a ratio; a threshold slice is good "
                "when its value satisfies op and threshold"
            )
        return self


class IndicatorSpec(StrictModel):
    ratio: RatioSpec | None = None
    latency: LatencySpec | None = None
    raw: RawSpec | None = None
    timeslices: TimeslicesSpec | None = None

    KINDS: ClassVar[tuple[str, ...]] = ("ratio", "latency", "raw", "timeslices")

    @model_validator(mode="after")
    def _exactly_one(self) -> IndicatorSpec:
        given = [k for k in self.KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            what = "is empty" if not given else "has " + " and ".join(repr(g) for g in given)
            raise ValueError(f"indicator {what}; give exactly one of {', '.join(self.KINDS)}")
        return self


class TierSpec(StrictModel):
    severity: str
    long: str
    short: str
    budget_percent: float = Field(gt=0, le=100)

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: str) -> str:
        if value.upper() not in SEVERITIES:
            raise ValueError(f"severity {value!r} is not one of SEV1, SEV2, SEV3")
        return value.upper()

    @field_validator("long", "short")
    @classmethod
    def _duration(cls, value: str) -> str:
        try:
            parse_duration(value)
        except DurationError as exc:
            raise ValueError(str(exc)) from None
        return value


def check_alert_name(value: str) -> str:
    if value and not re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", value):
        raise ValueError(
            f"alert name {shown(value)} is not a Prometheus alert name: letters, digits, "
            "'_' and ':', not starting with a digit (e.g. CheckoutHighErrorRate)"
        )
    return value


def _check_duration(value: str) -> str:
    try:
        parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None
    return value


AlertLabels = Annotated[dict[str, str], AfterValidator(lambda v: check_labels(v, "alert label"))]
AlertName = Annotated[str, AfterValidator(check_alert_name)]


class AlertMetaSpec(StrictModel):
    """Labels and annotations of one kind of alert (the paging or the ticket ones)."""

    labels: AlertLabels = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class AbsentSpec(StrictModel):
    """An alert when a series the SLO reads is missing (Pyrra's ``absent`` alerts)."""

    selectors: list[str] = Field(min_length=1)
    for_: Annotated[str, AfterValidator(_check_duration)] = Field(alias="for")
    name: AlertName = "SLOMetricAbsent"
    labels: AlertLabels = Field(default_factory=dict)


class AlertingSpec(StrictModel):
    """The alert policy (tiers; the default ones when omitted) and what the alerts carry."""

    tiers: list[TierSpec] | None = None
    name: AlertName = ""
    labels: AlertLabels = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    page: AlertMetaSpec | None = None
    ticket: AlertMetaSpec | None = None
    absent: AbsentSpec | None = None


class PrometheusSpec(StrictModel):
    """Where this SLO's queries go, when not as the connection says: its Mimir/Cortex tenant."""

    tenant: str | None = None

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, value: str | None) -> str | None:
        return None if value is None else check_tenant(value)


class SloSpec(StrictModel):
    service: str
    objective: float
    indicator: IndicatorSpec
    window: str = DEFAULT_WINDOW
    calendar: CalendarSpec | None = None  # a calendar period instead of the rolling window
    description: str = ""
    group_by: list[str] = Field(default_factory=list)
    min_events: float = Field(default=0.0, ge=0)
    alerting: AlertingSpec | None = None
    runbook_url: str = ""
    dashboard_url: str = ""
    owner: dict[str, str] = Field(default_factory=dict)
    runbook: RunbookSpec | None = None
    incident: IncidentSpec | None = None
    status_page: StatusPageSpec | None = None
    prometheus: PrometheusSpec | None = None

    @field_validator("service")
    @classmethod
    def _service(cls, value: str) -> str:
        return check_name(value, "service")

    @model_validator(mode="after")
    def _one_period(self) -> SloSpec:
        if self.calendar is not None and "window" in self.model_fields_set:
            raise ValueError("give window (rolling) or calendar, not both")
        return self

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        return check_window_days(value)

    @field_validator("runbook_url", "dashboard_url")
    @classmethod
    def _urls(cls, value: str) -> str:
        return check_url(value)

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: dict[str, str]) -> dict[str, str]:
        check_labels(value, "owner")
        account = value.get("jira_account_id", "")
        if "jira_account_id" in value and not re.match(r"^[A-Za-z0-9:_-]{1,128}$", account):
            raise ValueError(
                f"owner.jira_account_id {account!r} is not a Jira Cloud account id "
                "(e.g. 5b10ac8d82e05b22cc7d4ef5, from the user's profile URL)"
            )
        return value

    @field_validator("objective")
    @classmethod
    def _objective(cls, value: float) -> float:
        if not 0 < value < 100:
            raise ValueError(
                f"objective {value:g} is out of range: it is a percentage above 0 and below 100 "
                "(e.g. 99.9); 100 would leave no error budget"
            )
        return value

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, value: list[str]) -> list[str]:
        for label in value:
            if not LABEL_RE.match(label):
                raise ValueError(f"group_by label {label!r} is not a Prometheus label name")
        if len(set(value)) != len(value):
            raise ValueError("group_by lists a label twice")
        if QUERY_TAG_LABEL in value:
            raise ValueError(
                f"group_by label {QUERY_TAG_LABEL!r} is reserved: sloguard tags its queries "
                "with it; rename the label"
            )
        return value


class Document(StrictModel):
    apiVersion: str
    kind: str
    metadata: Metadata
    spec: SloSpec

    @field_validator("apiVersion")
    @classmethod
    def _api(cls, value: str) -> str:
        if value != API_VERSION:
            raise ValueError(f"apiVersion {value!r} is not {API_VERSION!r}")
        return value

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value != KIND:
            raise ValueError(f"kind {value!r} is not supported; sloguard/v1 has only kind: SLO")
        return value


def model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that sits at ``loc`` under ``root`` (for "did you mean" hints)."""
    current: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(str(part))
        if info is None:
            return None
        current = _unwrap(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _unwrap(arg)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    return annotation
