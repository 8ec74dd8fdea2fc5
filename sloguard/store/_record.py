"""What a tick records of its keys, the same on SQLite and PostgreSQL: the state rows, the
episode history, the transitions and the outbox rows, and reading the states and the due
outbox rows back.

Written once with SQLite's ``?`` marks; each store builds its :class:`Statements` with its
own marks (the PostgreSQL store with ``%s``), as for the history and notifier-state queries.
Both engines' cursors return themselves from ``execute``, with ``rowcount`` set.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sloguard.lifecycle import EpisodeState, Event
from sloguard.records import OutboxRow, Pending

_SORTED_JSON = json.JSONEncoder(sort_keys=True)

_STATE = (
    "INSERT INTO slo_state (slo, state, updated_at, last_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (slo) DO UPDATE SET state = excluded.state, "
    "updated_at = excluded.updated_at, last_at = excluded.last_at"
)
_EPISODE = (
    "INSERT INTO episodes (id, slo, declared_at, resolved_at, peak, "
    "burn_started_at, peak_burn_rate, burn_seconds, budget_remaining) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
    "resolved_at = excluded.resolved_at, peak = excluded.peak, "
    "burn_started_at = excluded.burn_started_at, "
    "peak_burn_rate = excluded.peak_burn_rate, "
    "burn_seconds = excluded.burn_seconds, "
    "budget_remaining = excluded.budget_remaining"
)
_TRANSITION = (
    "INSERT INTO transitions (episode_id, slo, at, kind, severity, previous, paged, reason) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# A row already queued (the same notifier and event: a replayed tick) is not queued twice.
_OUTBOX = (
    "INSERT INTO outbox (notifier, episode_id, event_id, kind, slo, "
    "severity, payload, created_at, next_attempt_at, shard) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (notifier, event_id) DO NOTHING"
)
_SEEN = "UPDATE slo_state SET last_at = ?, last_budget_remaining = ? WHERE slo = ?"
_LOAD = "SELECT state, last_at, last_budget_remaining FROM slo_state ORDER BY slo"


class Cursor(Protocol):
    """What both engines' cursors (and SQLite's connection) offer."""

    def execute(self, sql: Any, params: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, sql: Any, params: Iterable[Sequence[Any]], /) -> Any: ...


@dataclass(frozen=True, slots=True)
class Statements:
    """The recording statements, in one engine's marks."""

    state: Any
    episode: Any
    transition: Any
    outbox: Any
    seen: Any
    load: Any

    @classmethod
    def written_with(cls, marks: Callable[[str], Any]) -> Statements:
        return cls(*(marks(s) for s in (_STATE, _EPISODE, _TRANSITION, _OUTBOX, _SEEN, _LOAD)))


def record(
    cur: Cursor,
    sql: Statements,
    change: tuple[EpisodeState, Sequence[Event], Sequence[OutboxRow]],
    at: float,
    shard_of: Callable[[str], int],
) -> int:
    """Write one key's new state, its episode, transitions and outbox rows (inside the
    caller's transaction). Returns how many outbox rows were queued."""
    state, events, rows = change
    cur.execute(sql.state, (state.slo, _SORTED_JSON.encode(state.to_json()), at, state.last_at))
    if state.episode_id and state.declared_at is not None:
        cur.execute(
            sql.episode,
            (
                state.episode_id,
                state.slo,
                state.declared_at,
                state.resolved_at if not state.open else None,
                state.peak.name,
                state.burn_started_at,
                state.peak_burn_rate,
                state.burn_seconds,
                state.budget_remaining,
            ),
        )
    if events:
        cur.executemany(sql.transition, [_transition(e) for e in events])
    queued = 0
    for row in rows:
        payload = json.dumps(row.payload, sort_keys=True)
        values = (row.notifier, row.episode_id, row.event_id, row.kind, row.slo, row.severity)
        done = cur.execute(sql.outbox, (*values, payload, at, at, shard_of(row.slo)))
        queued += done.rowcount
    return queued


def record_seen(cur: Cursor, sql: Statements, seen: Sequence[EpisodeState]) -> None:
    """Idle keys: only ``last_at`` and ``last_budget_remaining`` moved; only they are written."""
    if seen:
        cur.executemany(sql.seen, [(s.last_at, s.last_budget_remaining, s.slo) for s in seen])


def states(rows: Iterable[Sequence[Any]]) -> dict[str, EpisodeState]:
    """The states of the rows of ``Statements.load``, each with its idle write laid over."""
    out: dict[str, EpisodeState] = {}
    for text, seen, budget in rows:
        state = EpisodeState.from_json(json.loads(text))
        if seen is not None and (state.last_at is None or seen > state.last_at):
            state = replace(state, last_at=seen, last_budget_remaining=budget)
        out[state.slo] = state
    return out


# The columns of a due outbox row, in the order :func:`pending` reads them.
PENDING_COLUMNS = (
    "id, notifier, episode_id, event_id, kind, slo, severity, payload, attempts, created_at"
)


def pending(r: Sequence[Any]) -> Pending:
    """A due outbox row selected as :data:`PENDING_COLUMNS`."""
    return Pending(
        id=r[0],
        notifier=r[1],
        episode_id=r[2],
        event_id=r[3],
        kind=r[4],
        slo=r[5],
        severity=r[6],
        payload=json.loads(r[7]),
        attempts=r[8],
        created_at=r[9],
    )


def _transition(e: Event) -> tuple[Any, ...]:
    previous = e.previous.name if e.previous is not None else None
    return (
        e.episode_id,
        e.slo,
        e.at,
        e.kind.value,
        e.severity.name,
        previous,
        int(e.notify),
        e.reason,
    )
