"""Reading an episode's history back: the record the postmortem and the CLI show."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sloguard.records import Delivery, EpisodeRecord, Transition

EPISODE_COLUMNS = (
    "id, slo, declared_at, resolved_at, peak, burn_started_at, peak_burn_rate, burn_seconds, "
    "budget_remaining"
)


Fetch = Callable[[str, tuple[Any, ...]], Sequence[Sequence[Any]]]
"""Runs one SELECT (``?`` placeholders) and returns its rows: each engine's own way."""


def episode_record(
    fetch: Fetch,
    eid: str,
    slo: str,
    declared_at: float,
    resolved_at: float | None,
    peak: str,
    burn_started_at: float | None,
    peak_burn_rate: float | None,
    burn_seconds: float | None,
    budget_remaining: float | None,
) -> EpisodeRecord:
    """One ``episodes`` row (its :data:`EPISODE_COLUMNS`, in order) with its transitions and
    deliveries, as the postmortem reads it."""
    transitions = fetch(
        "SELECT at, kind, severity, previous, paged, reason FROM transitions "
        "WHERE episode_id = ? ORDER BY id",
        (eid,),
    )
    deliveries = fetch(
        "SELECT notifier, kind, status, attempts, created_at, finished_at, last_error, "
        "last_status, CASE WHEN status = 'pending' THEN next_attempt_at END "
        "FROM outbox WHERE episode_id = ? ORDER BY id",
        (eid,),
    )
    return EpisodeRecord(
        id=eid,
        slo=slo,
        declared_at=declared_at,
        resolved_at=resolved_at,
        peak=peak,
        transitions=tuple(
            Transition(
                at=r[0], kind=r[1], severity=r[2], previous=r[3], paged=bool(r[4]), reason=r[5]
            )
            for r in transitions
        ),
        deliveries=tuple(Delivery(*r) for r in deliveries),
        burn_started_at=burn_started_at,
        peak_burn_rate=peak_burn_rate,
        burn_seconds=burn_seconds,
        budget_remaining=budget_remaining,
    )
