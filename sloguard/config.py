"""The daemon configuration file (``sloguard run --config sloguard.yaml``), typed once.

Everything is validated where it enters: pydantic models with ``extra="forbid"``, units in the
names. Errors are located (``FILE:LINE:COLUMN: error: field: message``) and say what would be
valid. Secrets are never inline: notifiers and Prometheus take ``*_file`` paths or ``*_env``
variable names. Relative paths (``slo_paths``, ``state_path``, every ``*_file``) are resolved
against the directory of the config file, so a config and its files move together.

See ``docs/config.md`` for the full reference and an example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from sloguard.errors import ConfigError, Location, Problem
from sloguard.notify import NotifierConfig
from sloguard.prometheus.config import PrometheusConfig
from sloguard.spec import DEFAULT_LIMITS, Doc, parse_documents, read_text

_FORBID = ConfigDict(extra="forbid", frozen=True)


SeverityName = Literal["SEV1", "SEV2", "SEV3"]


class RouteMatch(BaseModel):
    """Which SLOs and severities a route takes. Every given condition must hold."""

    model_config = _FORBID

    severity: list[SeverityName] = Field(default_factory=list, description="empty: all")
    slos: list[str] = Field(default_factory=list, description="SLO names; empty: all")
    labels: dict[str, str] = Field(default_factory=dict, description="exact label values")


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
    """The whole file. Only ``prometheus``, ``slo_paths`` and ``state_path`` are required."""

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
    state_path: str = Field(min_length=1)
    notifiers: list[NotifierConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    silences: list[SilenceConfig] = Field(default_factory=list)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
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

    @field_validator("slo_paths")
    @classmethod
    def _non_empty_paths(cls, value: list[str]) -> list[str]:
        if any(not p.strip() for p in value):
            raise ValueError("an entry is empty; give a file or directory of SLO YAML")
        return value


# --- loading --------------------------------------------------------------------------------


class _Located:
    """Where each path of the config document sits, for messages: the spec's located reader
    (:class:`sloguard.spec.Doc`), told to skip the tags pydantic adds to paths for unions."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc

    def _real(self, path: Sequence[str | int]) -> tuple[str | int, ...]:
        # Keep the parts that are in the file, and the last one (a missing field); drop the
        # tags pydantic adds for unions (e.g. "pagerduty" in notifiers[0].pagerduty.url).
        real: tuple[str | int, ...] = ()
        for i, part in enumerate(path):
            if self.doc.get((*real, part), _ABSENT) is not _ABSENT or i == len(path) - 1:
                real = (*real, part)
        return real

    def at(self, path: Sequence[str | int]) -> Location:
        """The location of ``path``, or of its nearest ancestor present in the file."""
        return self.doc.key(self._real(path))

    def problem(self, path: Sequence[str | int], message: str) -> Problem:
        real = self._real(path)
        name = self.doc.display(real)
        return Problem(self.doc.key(real), f"{name or '(top level)'}: {message}", name)


_ABSENT = object()


def _resolve_paths(data: Any, base: Path) -> Any:
    """Resolve relative ``slo_paths``, ``state_path`` and ``*_file`` values against ``base``."""

    def fix(value: Any) -> Any:
        if isinstance(value, str) and value and not Path(value).is_absolute():
            return str(base / value)
        return value

    if isinstance(data, dict):
        out: dict[Any, Any] = {}
        for key, value in data.items():
            if key == "slo_paths" and isinstance(value, list):
                out[key] = [fix(v) for v in value]
            elif isinstance(key, str) and (key == "state_path" or key.endswith("_file")):
                out[key] = fix(value)
            else:
                out[key] = _resolve_paths(value, base)
        return out
    if isinstance(data, list):
        return [_resolve_paths(v, base) for v in data]
    return data


def _message(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field; check its spelling against docs/config.md"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx") or {}
        return f"unknown type {ctx.get('tag')!r}; valid types: {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return "missing 'type' (e.g. pagerduty, opsgenie, webhook, slack)"
    return re.sub(r"^Value error, ", "", str(error.get("msg", "invalid value")))


def parse_config(text: str, file: str = "<config>", *, base: Path | None = None) -> DaemonConfig:
    """Validate config text; ``base`` is the directory relative paths are resolved against."""
    doc = _document(text, file)
    data = doc.data
    located = _Located(doc)
    if not isinstance(data, dict):
        raise ConfigError(
            located.problem((), "the config must be a mapping with prometheus, slo_paths, ...")
        )
    if base is not None:
        data = _resolve_paths(data, base)
    try:
        config = DaemonConfig.model_validate(data)
    except ValidationError as exc:
        problems = [
            located.problem(tuple(e["loc"]), _message(e)) for e in exc.errors(include_url=False)
        ]
        raise ConfigError(problems) from None
    _check_references(config, located)
    config._where = {n.name: located.at(("notifiers", i)) for i, n in enumerate(config.notifiers)}
    return config


def _document(text: str, file: str) -> Doc:
    """The config's one YAML document, read by the spec's hardened, located reader: nesting
    depth, alias expansion (YAML bombs), numbers and invisible characters are located errors."""
    docs: list[Doc] = []
    for item in parse_documents(text, file):
        if isinstance(item, Problem):
            raise ConfigError(_config_wording(item))
        docs.append(item)
    if len(docs) > 1:
        raise ConfigError(
            Problem(docs[1].start, f"expected one YAML document, found {len(docs)}; remove '---'")
        )
    return docs[0] if docs else Doc(file, None, Location(file, 1, 1))


def _config_wording(problem: Problem) -> Problem:
    # The config has always said "not valid YAML" where the SLO reader says "invalid YAML".
    message = problem.message
    if message.startswith("invalid YAML"):
        message = "not valid YAML" + message.removeprefix("invalid YAML")
    return Problem(problem.location, message, problem.field, problem.level)


def _check_references(config: DaemonConfig, located: _Located) -> None:
    problems: list[Problem] = []
    names: dict[str, int] = {}
    for i, notifier in enumerate(config.notifiers):
        if notifier.name in names:
            problems.append(
                located.problem(
                    ("notifiers", i, "name"),
                    f"duplicate notifier name {notifier.name!r} "
                    f"(first defined at notifiers[{names[notifier.name]}])",
                )
            )
        names.setdefault(notifier.name, i)
    valid = ", ".join(sorted(names)) or "none configured"
    for i, route in enumerate(config.routes):
        for j, name in enumerate(route.notifiers):
            if name not in names:
                problems.append(
                    located.problem(
                        ("routes", i, "notifiers", j),
                        f"no notifier named {name!r}; configured notifiers: {valid}",
                    )
                )
    fast = config.fast_path.interval_seconds
    explicit = "interval_seconds" in config.fast_path.model_fields_set
    if explicit and fast > 0 and fast >= config.interval_seconds:
        problems.append(
            located.problem(
                ("fast_path", "interval_seconds"),
                f"{fast:g} is not shorter than interval_seconds ({config.interval_seconds:g}): "
                "the fast path would never run between ticks; make it shorter, or 0 to turn "
                "it off",
            )
        )
    recorded = config.recorded_series
    if recorded.mode == "off" and recorded.direct_windows_max_seconds:
        problems.append(
            located.problem(
                ("recorded_series", "direct_windows_max_seconds"),
                "has no effect with recorded_series.mode: off (every window is already queried "
                "directly); remove it, or set mode: auto",
            )
        )
    if problems:
        raise ConfigError(problems)


def load_config(path: str | Path) -> DaemonConfig:
    """Read and validate the config file at ``path`` (relative paths resolve against its dir)."""
    file = Path(path)
    text = read_text(file, str(path), DEFAULT_LIMITS)  # size limit, UTF-8, no NUL bytes
    if isinstance(text, Problem):
        raise ConfigError(text)
    return parse_config(text, str(path), base=file.resolve().parent)
