"""The one exception tree of sloguard.

    SloguardError                   anything sloguard raises on purpose
    ├── SpecError                   an SLO definition is invalid (carries located Problems)
    ├── ConfigError                 the daemon configuration is invalid (carries located Problems)
    ├── PostmortemError             an edited postmortem's action items are not specific enough
    ├── SourceError                 Prometheus could not answer a query
    │   ├── SourceUnavailable       transport failure, timeout, 5xx: worth retrying
    │   └── QueryError              4xx / bad_data / unexpected result shape: not worth retrying
    ├── DeliveryError               a notification could not be delivered
    │   ├── TransientDeliveryError  worth retrying (5xx, 429, timeouts), may carry retry_after
    │   └── PermanentDeliveryError  the receiver refused it for good (400, 401, 403, 404, 422)
    └── StoreError                  the state database is unusable (corrupt, read-only, full)

Third-party exceptions are translated at the edge with ``raise ... from exc``.
Messages never include secrets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """Where in a source file something sits. Lines and columns are 1-based; 0 means unknown."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column or 1}"
        return self.file


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in an input file: ``FILE:LINE:COLUMN: error: message``."""

    location: Location
    message: str
    field: str = ""
    level: str = "error"

    def __str__(self) -> str:
        return f"{self.location}: {self.level}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "field": self.field,
            "level": self.level,
            "message": self.message,
        }


class SloguardError(Exception):
    """Base of every error sloguard raises on purpose."""


class _ProblemsError(SloguardError):
    def __init__(self, problems: list[Problem] | Problem) -> None:
        self.problems: list[Problem] = [problems] if isinstance(problems, Problem) else problems
        super().__init__("\n".join(str(p) for p in self.problems))


class SpecError(_ProblemsError):
    """One or more SLO definitions are invalid."""


class ConfigError(_ProblemsError):
    """The daemon configuration is invalid."""


class PostmortemError(_ProblemsError):
    """An edited postmortem cannot be pushed: an action item lacks an owner or a due date."""


class SourceError(SloguardError):
    """Prometheus could not answer. ``query`` is the PromQL, ``slo`` the SLO it was for, if any."""

    def __init__(self, message: str, *, query: str = "", slo: str = "") -> None:
        self.query = query
        self.slo = slo
        super().__init__(message)


class SourceUnavailable(SourceError):
    """Transport failure, timeout or 5xx: Prometheus may answer later."""


class QueryError(SourceError):
    """Prometheus rejected the query or answered with an unexpected shape."""


class DeliveryError(SloguardError):
    """A notification could not be delivered."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class TransientDeliveryError(DeliveryError):
    """Worth retrying; ``retry_after_seconds`` is the receiver's own hint, if it gave one."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after_seconds: float | None = None
    ) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(message, status=status)


class PermanentDeliveryError(DeliveryError):
    """The receiver refused the notification for good; it goes to the dead letters."""


class StoreError(SloguardError):
    """The state database cannot be used safely."""
