"""The native ``apiVersion: sloguard/v1`` ``kind: SLO`` document: its pydantic schema.

This is the YAML API only. :mod:`sloguard.spec._build` turns a validated document into the
frozen :class:`sloguard.model.SLO`; the Sloth and OpenSLO adapters produce documents of this
same shape, so one schema and one set of checks serve every input format.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sloguard.durations import DurationError, parse_duration
from sloguard.model import QUERY_TAG_LABEL, check_tenant

API_VERSION = "sloguard/v1"
KIND = "SLO"
DEFAULT_WINDOW = "30d"

# Sloth's name rule, so every Sloth and OpenSLO name imports unchanged (DNS-label style plus _ .).
NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9])?$")
LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
SEVERITIES = ("SEV1", "SEV2", "SEV3")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 80 else f"{value[:60]!r}... ({len(value)} characters)"


def check_name(value: str, what: str = "name") -> str:
    if not NAME_RE.match(value):
        raise ValueError(
            f"{what} {_shown(value)} is not valid: use letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit (e.g. checkout-availability)"
        )
    return value


def check_labels(value: dict[str, str], what: str = "label") -> dict[str, str]:
    for key in value:
        if not LABEL_RE.match(key) or key.startswith("__"):
            raise ValueError(
                f"{what} name {key!r} is not a Prometheus label name: use letters, digits and "
                "'_', not starting with a digit or '__' (e.g. team, routing_key)"
            )
    return value


def check_window_days(value: str) -> str:
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        raise ValueError(f"{exc}; the SLO window is whole days, e.g. 7d, 28d, 30d") from None
    if seconds % 86400:
        raise ValueError(f"window {value!r} is not a whole number of days; use e.g. 7d, 28d, 30d")
    return value


def check_url(value: str) -> str:
    if value and not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"{value!r} is not an http(s) URL, e.g. https://runbooks.example.com/x")
    return value


K8S_NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
K8S_LABEL_RE = re.compile(
    r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)


class Metadata(_Model):
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


class RatioSpec(_Model):
    errors: str = Field(min_length=1)
    total: str = Field(min_length=1)


class LatencySpec(_Model):
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


class RawSpec(_Model):
    error_ratio: str = Field(min_length=1)


class IndicatorSpec(_Model):
    ratio: RatioSpec | None = None
    latency: LatencySpec | None = None
    raw: RawSpec | None = None

    KINDS: ClassVar[tuple[str, ...]] = ("ratio", "latency", "raw")

    @model_validator(mode="after")
    def _exactly_one(self) -> IndicatorSpec:
        given = [k for k in self.KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            what = "is empty" if not given else "has " + " and ".join(repr(g) for g in given)
            raise ValueError(f"indicator {what}; give exactly one of ratio, latency, raw")
        return self


class TierSpec(_Model):
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


class AlertingSpec(_Model):
    tiers: list[TierSpec]


SLACK_USER_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
SLACK_INVITE_RE = re.compile(r"^[UWS][A-Z0-9]{2,}$")
STEP_MAX = 500  # one runbook step is one line of the page and the channel, not a document


class RunbookSpec(_Model):
    """What to look at, what to try, whom to call: shown in the page, the channel and the
    postmortem, so nobody has to find the runbook first."""

    diagnostics: list[str] = Field(default_factory=list)
    mitigations: list[str] = Field(default_factory=list)
    escalation: list[str] = Field(default_factory=list)

    @field_validator("diagnostics", "mitigations", "escalation")
    @classmethod
    def _steps(cls, value: list[str]) -> list[str]:
        for step in value:
            if not step.strip():
                raise ValueError("a runbook step is empty; write the command or the action")
            if len(step) > STEP_MAX:
                raise ValueError(
                    f"runbook step {_shown(step)} is longer than {STEP_MAX} characters; "
                    "link a document from runbook_url instead"
                )
        return value


def check_slack_id(value: str, pattern: re.Pattern[str], what: str) -> str:
    if value and not pattern.match(value):
        raise ValueError(
            f"{what} {value!r} is not a Slack ID: give the member ID (U012AB3CD, from the "
            "profile's 'Copy member ID')"
            + (" or a user group ID (S0PAYMENTS)" if "S" in pattern.pattern else "")
            + ", not a display name"
        )
    return value


class RolesSpec(_Model):
    """Who holds which incident role, as Slack user IDs."""

    commander: str = ""
    tech_lead: str = ""
    communications: str = ""

    @field_validator("commander", "tech_lead", "communications")
    @classmethod
    def _user(cls, value: str) -> str:
        return check_slack_id(value, SLACK_USER_RE, "role holder")


class IncidentSpec(_Model):
    """The incident's people and its standing video bridge."""

    roles: RolesSpec = Field(default_factory=RolesSpec)
    invite: list[str] = Field(default_factory=list)
    bridge_url: str = ""

    @field_validator("invite")
    @classmethod
    def _invite(cls, value: list[str]) -> list[str]:
        for ref in value:
            check_slack_id(ref, SLACK_INVITE_RE, "invite")
        return value

    @field_validator("bridge_url")
    @classmethod
    def _bridge(cls, value: str) -> str:
        return check_url(value)


class StatusPageSpec(_Model):
    """The SLO's component on the public status page: its Statuspage id and public name."""

    component_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)

    @field_validator("component_id")
    @classmethod
    def _component(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9]+$", value):
            raise ValueError(
                f"component_id {value!r} is not a Statuspage component id: lowercase letters "
                "and digits, e.g. 8kbf7d35c070 (from the component's API page)"
            )
        return value


class PrometheusSpec(_Model):
    """Where this SLO's queries go, when not as the connection says: its Mimir/Cortex tenant."""

    tenant: str | None = None

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, value: str | None) -> str | None:
        return None if value is None else check_tenant(value)


class SloSpec(_Model):
    service: str
    objective: float
    indicator: IndicatorSpec
    window: str = DEFAULT_WINDOW
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


class Document(_Model):
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
