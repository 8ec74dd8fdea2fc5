"""The state machine of one SLO key: one evaluation in, the new state and its events out. Pure.

The picture and the rules are in :mod:`sloguard.lifecycle`.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, replace
from itertools import repeat
from typing import Any

from sloguard.burn import Evaluation
from sloguard.lifecycle._impact import fastest_burn_rate, track_impact
from sloguard.lifecycle._state import (
    STATE_FIELDS,
    EpisodeState,
    Event,
    EventKind,
    LifecyclePolicy,
    Phase,
    episode_id,
)
from sloguard.model import Severity


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
        return seen(state, now, evaluation.error_budget_remaining), []
    return full_step(state, evaluation, now, policy, silence=silence)


def seen(state: EpisodeState, now: float, budget_remaining: float | None) -> EpisodeState:
    """The state of an idle key (:func:`is_idle`) after an evaluation at ``now`` that found
    ``budget_remaining``: only ``last_at`` and ``last_budget_remaining`` move. ``replace``
    at half its cost (every idle key, every tick): a copy of the fields; EpisodeState has
    nothing to check at construction."""
    new = object.__new__(EpisodeState)
    set_field = object.__setattr__
    # The kept fields read in one call and set in C: ``any`` only drives the map (each call
    # returns None), where a loop of getattr and __setattr__ cost a fifth more.
    any(map(set_field, repeat(new, len(_KEPT)), _KEPT, _read_kept(state)))
    set_field(new, "last_at", now)
    set_field(new, "last_budget_remaining", budget_remaining)
    return new


# What seen() copies: every field but the two it moves.
_KEPT = tuple(n for n in STATE_FIELDS if n not in ("last_at", "last_budget_remaining"))
_read_kept = operator.attrgetter(*_KEPT)


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
    applied = replace(
        current,
        last_at=now,
        last_budget_remaining=evaluation.error_budget_remaining,
        silenced=silence,
    )
    run = _Step(applied, now, silence, policy)
    severity = evaluation.severity
    if evaluation.error or severity is Severity.NO_DATA:
        _no_data(run, evaluation.error or "no data")
    elif severity is Severity.OK:
        _clear(run)
    else:
        _firing(run, severity)
    return track_impact(current, run.state, evaluation, now), run.events


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
