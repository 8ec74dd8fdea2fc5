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
* **Impact is measured as it happens** (for the postmortem and the backtest, see
  :func:`_track_impact`): when the burn started, the peak burn rate and the budget it spent,
  all from the *shortest* window of the SLO's tiers (the fastest to react).

No I/O, no clock: ``now`` is the pinned instant of the tick that produced the evaluation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
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
        )


_STATE_FIELDS = tuple(f.name for f in fields(EpisodeState))


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
    if is_idle(state, evaluation, now, silence):
        assert state is not None
        return seen(state, now), []
    return full_step(state, evaluation, now, policy, silence=silence)


def seen(state: EpisodeState, now: float) -> EpisodeState:
    """The state of an idle key (:func:`is_idle`) after an evaluation at ``now``: only its
    ``last_at`` moves. ``replace(state, last_at=now)`` at half its cost (every idle key,
    every tick): a copy of the fields; EpisodeState has nothing to check at construction."""
    new = object.__new__(EpisodeState)
    for name in _STATE_FIELDS:
        object.__setattr__(new, name, getattr(state, name))
    object.__setattr__(new, "last_at", now)
    return new


def is_idle(
    state: EpisodeState | None, evaluation: Evaluation, now: float, silence: str = ""
) -> bool:
    """Whether applying ``evaluation`` at ``now`` only moves ``last_at`` (the common key of a
    large fleet, every tick): no episode, OK before and now, no run of a burn above 1x starting
    or going on, the same silence. :func:`step` then skips the state machine, whose answer
    would be the same (see :func:`full_step`)."""
    if state is None or state.phase is not Phase.OK:
        return False
    if state.last_at is not None and now <= state.last_at:
        return False
    if evaluation.severity is not Severity.OK or evaluation.error:
        return False
    if (
        state.severity is not Severity.OK
        or state.no_data_since is not None
        or state.stale_sent
        or state.error
        or state.silenced != silence
        or state.burning_since is not None
        or state.run_peak_burn_rate != 0.0
        or state.run_burn_seconds != 0.0
    ):
        return False
    burn = fastest_burn_rate(evaluation)
    return burn is None or burn <= 1.0


def full_step(
    state: EpisodeState | None,
    evaluation: Evaluation,
    now: float,
    policy: LifecyclePolicy,
    *,
    silence: str = "",
) -> tuple[EpisodeState, list[Event]]:
    """:func:`step` through the whole state machine, even for an idle key."""
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
    return _track_impact(current, run.state, evaluation, now), run.events


def fastest_burn_rate(evaluation: Evaluation) -> float | None:
    """The burn rate of the shortest window of the evaluation (None when unknown)."""
    rates = evaluation.burn_rates
    return rates[min(rates)] if rates else None


def _track_impact(
    old: EpisodeState, new: EpisodeState, evaluation: Evaluation, now: float
) -> EpisodeState:
    """Measure the burn with the shortest window ("fast" burn rate ``b``, 5m by default).

    * A *run* is a stretch of evaluations with ``b > 1`` (spending the budget faster than the
      period allows). No data neither starts nor ends a run; ``b <= 1`` ends it.
    * Burn-seconds add ``b x (now - previous evaluation)`` at every evaluation (a right
      Riemann sum; the burn is taken as constant since the previous evaluation). Divided by the
      SLO period they are the share of the error budget spent (exact for steady traffic).
    * At the declaration the episode takes over the run: ``burn_started_at`` is the run's
      start (the declaration itself when ``b`` was not above 1), its peak and burn-seconds.
      From then on, until the resolve included, every evaluation adds to the episode.
    """
    burn = fastest_burn_rate(evaluation)
    dt = now - old.last_at if old.last_at is not None else 0.0
    spent = (burn or 0.0) * max(dt, 0.0)
    since: float | None
    if burn is not None and burn > 1.0:
        if old.burning_since is None:
            since, run_peak, run_seconds = now, burn, spent
        else:
            since = old.burning_since
            run_peak = max(old.run_peak_burn_rate, burn)
            run_seconds = old.run_burn_seconds + spent
    elif burn is None:
        since, run_peak, run_seconds = (
            old.burning_since,
            old.run_peak_burn_rate,
            old.run_burn_seconds,
        )
    else:
        since, run_peak, run_seconds = None, 0.0, 0.0
    out = replace(
        new, burning_since=since, run_peak_burn_rate=run_peak, run_burn_seconds=run_seconds
    )
    remaining = evaluation.error_budget_remaining
    if new.open and (not old.open or new.episode_id != old.episode_id):  # declared now
        return replace(
            out,
            burn_started_at=since if since is not None else now,
            peak_burn_rate=run_peak if since is not None else (burn or 0.0),
            burn_seconds=run_seconds if since is not None else spent,
            budget_remaining=remaining,
        )
    if old.open:  # the episode goes on (or resolves now)
        return replace(
            out,
            peak_burn_rate=max(old.peak_burn_rate, burn or 0.0),
            burn_seconds=old.burn_seconds + spent,
            budget_remaining=remaining if remaining is not None else old.budget_remaining,
        )
    return out


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
