"""Reading an episode's history back: the record the postmortem and the CLI show."""

from __future__ import annotations

import sqlite3

from sloguard.records import Delivery, EpisodeRecord, Transition

EPISODE_COLUMNS = (
    "id, slo, declared_at, resolved_at, peak, burn_started_at, peak_burn_rate, burn_seconds, "
    "budget_remaining"
)


def episode_record(
    db: sqlite3.Connection,
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
    transitions = db.execute(
        "SELECT at, kind, severity, previous, paged, reason FROM transitions "
        "WHERE episode_id = ? ORDER BY id",
        (eid,),
    ).fetchall()
    deliveries = db.execute(
        "SELECT notifier, kind, status, attempts, created_at, finished_at, last_error, "
        "last_status FROM outbox WHERE episode_id = ? ORDER BY id",
        (eid,),
    ).fetchall()
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
