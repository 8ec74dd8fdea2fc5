"""Burn episodes: one per burn of one SLO key, from declaration to resolution. Pure.

The state machine, per SLO key (an SLO, or one group of a grouped SLO)::

                 tier fires                         no tier fires
      OK  ───────────────────────▶  FIRING  ─────────────────────────▶  QUIET
       ▲        DECLARED (page)     │  ▲  higher than ever: ESCALATED     │ │
       │                            │  │  lower: DEESCALATED (no page)    │ │
       │                            │  └──────── fires again: REFIRED ◀──┘ │
       └────────────────────────────┴── clear for the quiet period: RESOLVED

* **One episode per burn.** Its id is a hash of the SLO key and the declaration time, stable
  across restarts and short enough for a PagerDuty ``dedup_key`` (≤255) or an Opsgenie
  ``alias`` (≤512).
* **Pages only go up.** A severity above the highest one already paged re-pages (ESCALATED);
  going down is recorded (DEESCALATED) and shown, never paged.
* **Resolving waits for a quiet period** (default 5 minutes of evaluation time with no tier
  firing), so a flapping SLI neither pages nor resolves in a loop: a burn that returns inside
  the quiet period continues the same episode (REFIRED).
* **No data never resolves.** NO_DATA or an evaluation error keeps the episode open; once it
  has lasted ``stale_after_seconds`` one STALE event is raised for the episode.
* **Silences** mute pages for a matching SLO; the episode is still tracked and recorded. When
  the silence ends while the SLO still burns, the page that was held back goes out. A resolve
  is sent whenever something was paged, silence or not: a silence never leaves a page open.
* **Time only moves forward.** An evaluation at or before the last one applied (a clock jump
  backwards, or the same ``--at`` run twice) changes nothing and emits nothing.

No I/O, no clock: ``now`` is the pinned instant of the tick that produced the evaluation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sloguard.burn import Evaluation
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

    @property
    def open(self) -> bool:
        return self.phase is not Phase.OK

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
        )


def episode_id(slo: str, declared_at: float) -> str:
    """Stable id of the episode of ``slo`` declared at ``declared_at`` (41 characters)."""
    digest = hashlib.sha256(f"{slo}\x00{float(declared_at)!r}".encode()).hexdigest()
    return EPISODE_ID_PREFIX + digest[:32]


@dataclass(slots=True)
class _Step:
    state: EpisodeState
    now: float
    muted: str
    policy: LifecyclePolicy
    events: list[Event] = field(default_factory=list)

    def emit(
        self,
        kind: EventKind,
        severity: Severity,
        previous: Severity | None = None,
        *,
        notify: bool = False,
        reason: str = "",
    ) -> Event:
        event = Event(
            kind=kind,
            slo=self.state.slo,
            episode_id=self.state.episode_id,
            at=self.now,
            severity=severity,
            previous=previous,
            notify=notify,
            reason=reason,
        )
        self.events.append(event)
        return event


def step(
    state: EpisodeState | None,
    evaluation: Evaluation,
    now: float,
    policy: LifecyclePolicy,
    *,
    silence: str = "",
) -> tuple[EpisodeState, list[Event]]:
    """Apply one evaluation of one SLO key at the tick's instant ``now``.

    ``silence`` is the reason of the silence that matches this SLO at ``now`` ("" for none; see
    :func:`sloguard.routing.active_silence`). Returns the new state and what happened, in order.
    """
    current = state or EpisodeState(slo=evaluation.slo)
    if current.last_at is not None and now <= current.last_at:
        return current, []  # time went backwards or this instant was already applied
    run = _Step(replace(current, last_at=now, silenced=silence), now, silence, policy)
    severity = evaluation.severity
    if evaluation.error or severity is Severity.NO_DATA:
        _no_data(run, evaluation.error or "no data")
    elif severity is Severity.OK:
        _clear(run)
    else:
        _firing(run, severity)
    return run.state, run.events


def _firing(run: _Step, severity: Severity) -> None:
    old = run.state
    run.state = replace(
        old, severity=severity, clear_since=None, no_data_since=None, stale_sent=False, error=""
    )
    if old.no_data_since is not None and old.open:
        run.emit(EventKind.DATA_RESTORED, severity, Severity.NO_DATA)
    if not old.open:
        run.state = replace(
            run.state,
            phase=Phase.FIRING,
            episode_id=episode_id(old.slo, run.now),
            declared_at=run.now,
            resolved_at=None,
            peak=severity,
            paged=Severity.OK,
            notified=(),
        )
        recorded = run.emit(EventKind.DECLARED, severity)
    else:
        run.state = replace(run.state, phase=Phase.FIRING, peak=max(old.peak, severity))
        if severity > old.peak:
            recorded = run.emit(EventKind.ESCALATED, severity, old.peak)
        elif old.phase is Phase.QUIET:
            recorded = run.emit(EventKind.REFIRED, severity, Severity.OK)
        elif severity < old.severity:
            recorded = run.emit(EventKind.DEESCALATED, severity, old.severity)
        elif severity > old.severity and old.severity >= Severity.SEV3:
            recorded = run.emit(EventKind.REESCALATED, severity, old.severity)
        else:
            recorded = None
    _page(run, severity, recorded)


def _page(run: _Step, severity: Severity, recorded: Event | None) -> None:
    """Page what has not been paged yet: a new episode, or a severity above the paged one."""
    paged = run.state.paged
    if paged >= severity:
        return
    kind = EventKind.DECLARED if paged is Severity.OK else EventKind.ESCALATED
    if run.muted:
        if recorded is not None and recorded.kind in (EventKind.DECLARED, EventKind.ESCALATED):
            _replace_last(run, recorded, reason=f"silenced: {run.muted}")
        return
    if recorded is not None and recorded.kind is kind:
        _replace_last(run, recorded, notify=True)
    else:  # a silence ended while burning: send the page it held back
        previous = None if paged is Severity.OK else paged
        run.emit(kind, severity, previous, notify=True, reason="silence ended")
    run.state = replace(run.state, paged=severity)


def _replace_last(run: _Step, event: Event, **changes: Any) -> None:
    index = run.events.index(event)
    run.events[index] = replace(event, **changes)


def _clear(run: _Step) -> None:
    old = run.state
    run.state = replace(old, severity=Severity.OK, no_data_since=None, stale_sent=False, error="")
    if not old.open:
        return
    if old.no_data_since is not None:
        run.emit(EventKind.DATA_RESTORED, Severity.OK, Severity.NO_DATA)
    clear_since = old.clear_since
    if old.phase is Phase.FIRING:
        clear_since = run.now
        run.emit(EventKind.QUIET, Severity.OK, old.severity)
    run.state = replace(run.state, phase=Phase.QUIET, clear_since=clear_since)
    assert clear_since is not None
    if run.now - clear_since >= run.policy.quiet_period_seconds:
        paged = old.paged is not Severity.OK
        run.emit(
            EventKind.RESOLVED,
            old.peak,
            notify=paged,
            reason="" if paged else "nothing was paged (silenced)",
        )
        run.state = replace(run.state, phase=Phase.OK, resolved_at=run.now, clear_since=None)


def _no_data(run: _Step, error: str) -> None:
    old = run.state
    since = old.no_data_since if old.no_data_since is not None else run.now
    run.state = replace(old, severity=Severity.NO_DATA, no_data_since=since, error=error)
    if not old.open:
        return
    if old.no_data_since is None:
        run.emit(EventKind.NO_DATA, Severity.NO_DATA, old.severity, reason=error)
    if not old.stale_sent and run.now - since >= run.policy.stale_after_seconds:
        notify = old.paged is not Severity.OK and not run.muted
        why = f"silenced: {run.muted}" if run.muted else "nothing was paged for this episode"
        reason = error if notify else f"not paged ({why}): {error}"
        run.emit(EventKind.STALE, old.peak, notify=notify, reason=reason)
        run.state = replace(run.state, stale_sent=True)
