"""The statements that record a delivery attempt, shared by the SQLite and PostgreSQL stores.

Written with ``?`` marks; the PostgreSQL store turns them into ``%s`` (``_pg.marks``). A
whole batch of attempts goes into one transaction: the delivery loop sends a batch, then
records it, so a crash re-sends at most that batch (the vendors' dedup keys make it harmless)
and a row is never marked delivered before its receiver said so.
"""

from __future__ import annotations

from typing import Any

from sloguard.records import Attempt

_UPDATE = {
    "delivered": "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, "
    "finished_at = ?, last_status = ?, last_error = '' WHERE id = ?",
    "retry": "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, "
    "last_status = ? WHERE id = ?",
    "dead": "UPDATE outbox SET status = 'dead', attempts = attempts + ?, finished_at = ?, "
    "last_error = ?, last_status = ? WHERE id = ?",
    "deferred": "UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND status = 'pending'",
}
HISTORY = (
    "INSERT INTO attempts (outbox_id, at, outcome, status, error, duration_seconds) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def statements(attempt: Attempt) -> list[tuple[str, tuple[Any, ...]]]:
    """The (SQL, parameters) that record ``attempt``: the row's update, then its history line
    (none for a deferral, which is no attempt)."""
    a = attempt
    params: tuple[Any, ...]
    if a.outcome == "delivered":
        params = (a.at, a.status, a.row_id)
    elif a.outcome == "retry":
        params = (a.next_attempt_at, a.error, a.status, a.row_id)
    elif a.outcome == "dead":
        params = (int(a.counted), a.at, a.error, a.status, a.row_id)
    else:
        return [(_UPDATE["deferred"], (a.next_attempt_at, a.row_id))]
    history = (a.row_id, a.at, a.outcome, a.status, a.error, a.duration_seconds)
    return [(_UPDATE[a.outcome], params), (HISTORY, history)]
