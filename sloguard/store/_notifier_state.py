"""The ``notifier_state`` table's two statements, the same on SQLite and PostgreSQL.

What a multi-call notifier did for an episode (see :class:`sloguard.ports.NotifierState`): one
JSON object per (notifier, episode), replaced whole. Written with ``?`` marks; the PostgreSQL
store turns them into ``%s``, as it does for the history queries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

SELECT = "SELECT state FROM notifier_state WHERE notifier = ? AND episode_id = ?"
UPSERT = (
    "INSERT INTO notifier_state (notifier, episode_id, state, updated_at) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (notifier, episode_id) "
    "DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at"
)
_SORTED_JSON = json.JSONEncoder(sort_keys=True)


def encode(state: Mapping[str, Any]) -> str:
    return _SORTED_JSON.encode(dict(state))


def decode(row: Sequence[Any] | None) -> dict[str, Any]:
    """The stored object of a ``SELECT`` row ({} when nothing was recorded yet)."""
    return {} if row is None else dict(json.loads(row[0]))
