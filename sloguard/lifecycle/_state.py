"""What the lifecycle remembers and says: phases, events, the episode state and its id. Pure.

The state is persisted by the store (``to_json``/``from_json``); the events go to the outbox.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from sloguard.model import Severity

EPISODE_ID_PREFIX = "sloguard-"


class Phase(StrEnum):
    OK = "ok"  # no open episode
    FIRING = "firing"  # open, a tier fires
    QUIET = "quiet"  # open, no tier fires; resolves after the quiet period


class EventKind(StrEnum):
    """Everything that happens to an episode. Only some of them are paged (``Event.notify``)."""

    DECLARED = "declared"
    ESCALATED = "escalated"  # above the highest severity of the episode so far
    REESCALATED = "reescalated"  # up again, but not above the peak: recorded, not paged
    DEESCALATED = "deescalated"  # down, still firing: recorded, not paged
    QUIET = "quiet"  # no tier fires any more; the quiet period starts
    REFIRED = "refired"  # a tier fires again within the quiet period: same episode
    RESOLVED = "resolved"
    NO_DATA = "no_data"  # no data or evaluation error while the episode is open
    STALE = "stale"  # no data for stale_after_seconds
    DATA_RESTORED = "data_restored"


@dataclass(frozen=True, slots=True)
class LifecyclePolicy:
    quiet_period_seconds: float = 300.0
    stale_after_seconds: float = 600.0


@dataclass(frozen=True, slots=True)
class Event:
    """One transition of one episode. ``notify`` says whether it goes to the outbox."""

    kind: EventKind
    slo: str
    episode_id: str
    at: float
    severity: Severity  # the evaluated severity; for RESOLVED the episode's peak
    previous: Severity | None = None
    notify: bool = False
    reason: str = ""  # why it was (not) paged, the evaluation error, the silence

    @property
    def event_id(self) -> str:
        """Unique per (episode, transition): the idempotency key of this one notification."""
        raw = f"{self.episode_id}\x00{self.kind.value}\x00{self.at!r}\x00{self.severity.name}"
        return f"{self.episode_id}-{hashlib.sha256(raw.encode()).hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class EpisodeState:
    """What sloguard remembers about one SLO key between ticks (persisted by the store).

    The record outlives its episodes: after a resolve ``phase`` is OK and ``episode_id`` names
    the last episode, so that ``last_at`` still guards against time running backwards.
    """

    slo: str
    phase: Phase = Phase.OK
    last_at: float | None = None  # the last evaluation applied
    severity: Severity = Severity.OK  # as last evaluated (NO_DATA when that failed)
    episode_id: str = ""
    declared_at: float | None = None
    resolved_at: float | None = None
    peak: Severity = Severity.OK  # highest severity of the episode
    paged: Severity = Severity.OK  # highest severity actually paged (OK: nothing paged yet)
    clear_since: float | None = None
    no_data_since: float | None = None
    stale_sent: bool = False
    silenced: str = ""  # the reason of the silence muting it, shown by status pages
    notified: tuple[str, ...] = ()  # notifiers told about this episode (see routing)
    error: str = ""  # the last evaluation error, if any
    # The current run of evaluations whose shortest window burns above 1x, open episode or not:
    # its start, peak burn rate and burn-seconds (burn rate x seconds, summed).
    burning_since: float | None = None
    run_peak_burn_rate: float = 0.0
    run_burn_seconds: float = 0.0
    # Impact of the episode named by episode_id (kept after it resolves, like declared_at).
    burn_started_at: float | None = None  # start of the run that led to the declaration
    peak_burn_rate: float = 0.0  # highest shortest-window burn rate from burn start on
    burn_seconds: float = 0.0  # burn-seconds from burn start; / period = budget share spent
    budget_remaining: float | None = None  # last known error budget remaining (period)
    budget_level: int = 0  # how many budget lines the budget is below (sloguard.budget)
    # The error budget remaining as evaluated at ``last_at``, episode or not: what another
    # replica shows of this key and judges it by (its gate), as the holder evaluated it.
    last_budget_remaining: float | None = None

    @property
    def open(self) -> bool:
        return self.phase is not Phase.OK

    @property
    def shown_severity(self) -> Severity:
        """The severity an open episode counts at: its current one, or its peak while it is
        quiet or without data (metrics, the fast path's choice)."""
        return self.severity if self.severity > Severity.OK else self.peak

    def to_json(self) -> dict[str, Any]:
        return {
            "slo": self.slo,
            "phase": self.phase.value,
            "last_at": self.last_at,
            "severity": self.severity.name,
            "episode_id": self.episode_id,
            "declared_at": self.declared_at,
            "resolved_at": self.resolved_at,
            "peak": self.peak.name,
            "paged": self.paged.name,
            "clear_since": self.clear_since,
            "no_data_since": self.no_data_since,
            "stale_sent": self.stale_sent,
            "silenced": self.silenced,
            "notified": list(self.notified),
            "error": self.error,
            "burning_since": self.burning_since,
            "run_peak_burn_rate": self.run_peak_burn_rate,
            "run_burn_seconds": self.run_burn_seconds,
            "burn_started_at": self.burn_started_at,
            "peak_burn_rate": self.peak_burn_rate,
            "burn_seconds": self.burn_seconds,
            "budget_remaining": self.budget_remaining,
            "budget_level": self.budget_level,
            "last_budget_remaining": self.last_budget_remaining,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EpisodeState:
        return cls(
            slo=str(data["slo"]),
            phase=Phase(data["phase"]),
            last_at=data.get("last_at"),
            severity=Severity[data.get("severity", "OK")],
            episode_id=str(data.get("episode_id", "")),
            declared_at=data.get("declared_at"),
            resolved_at=data.get("resolved_at"),
            peak=Severity[data.get("peak", "OK")],
            paged=Severity[data.get("paged", "OK")],
            clear_since=data.get("clear_since"),
            no_data_since=data.get("no_data_since"),
            stale_sent=bool(data.get("stale_sent", False)),
            silenced=str(data.get("silenced", "")),
            notified=tuple(data.get("notified", ())),
            error=str(data.get("error", "")),
            burning_since=data.get("burning_since"),
            run_peak_burn_rate=float(data.get("run_peak_burn_rate", 0.0)),
            run_burn_seconds=float(data.get("run_burn_seconds", 0.0)),
            burn_started_at=data.get("burn_started_at"),
            peak_burn_rate=float(data.get("peak_burn_rate", 0.0)),
            burn_seconds=float(data.get("burn_seconds", 0.0)),
            budget_remaining=data.get("budget_remaining"),
            budget_level=int(data.get("budget_level", 0)),
            last_budget_remaining=data.get("last_budget_remaining"),
        )


STATE_FIELDS = tuple(f.name for f in fields(EpisodeState))


def episode_id(slo: str, declared_at: float) -> str:
    """Stable id of the episode of ``slo`` declared at ``declared_at`` (41 characters)."""
    digest = hashlib.sha256(f"{slo}\x00{float(declared_at)!r}".encode()).hexdigest()
    return EPISODE_ID_PREFIX + digest[:32]
