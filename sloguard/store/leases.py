"""Shard leases in PostgreSQL: which replica evaluates and pages which SLOs, with fencing.

Each shard has one row in ``leases``: its holder, an epoch that grows by one every time the
shard changes hands, and when the lease expires. Every time is PostgreSQL's own
(``clock_timestamp()``): a replica's clock, fast or slow or scaled by ``--replay-from``, never
decides who holds a shard. One :func:`claim` per tick, in one transaction:

1. the replica says it is alive (``replicas``) and counts the live ones;
2. it renews the leases it still holds (an expired one is *lost*: another replica may have
   taken it, and the epoch it knew is dead);
3. it gives back what it holds beyond its fair share (``ceil(shards / live replicas)``), so a
   replica joining later gets work;
4. it takes free or expired shards up to its share; taking one bumps the epoch (``FOR UPDATE
   SKIP LOCKED``: two replicas never take the same shard in one round).

Fencing (:func:`check`): a commit or a delivery record of a shard reads the shard's lease row
``FOR SHARE`` in its own transaction and is refused unless this replica still holds it at the
epoch it claimed and it has not expired. The shared row lock also makes a takeover wait for a
commit in flight, so a commit either lands under a live lease or not at all.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from sloguard.errors import StoreError
from sloguard.records import Fence, shard_of


class FencedError(StoreError):
    """The lease this write relied on is gone (expired or taken over): nothing was written."""


@dataclass(frozen=True, slots=True)
class Claim:
    """What one :func:`claim` found: the shards held (shard -> epoch) and what changed,
    as (shard, reason) with reason one of acquired, takeover, lost, released."""

    epochs: Mapping[int, int]
    transitions: tuple[tuple[int, str], ...]
    live_replicas: int


def claim(
    cur: psycopg.Cursor[Any],
    instance: str,
    shards: int,
    lease_seconds: float,
    previous: Mapping[int, int] | None = None,
) -> Claim:
    """Renew, rebalance and take shard leases for ``instance`` (see the module docstring).
    ``previous`` is what it held after its last claim: a shard of it not renewed now was
    *lost*. Runs inside the caller's transaction."""
    lease = f"{float(lease_seconds)} seconds"
    cur.execute(
        "INSERT INTO replicas (instance, seen_at) VALUES (%s, clock_timestamp()) "
        "ON CONFLICT (instance) DO UPDATE SET seen_at = excluded.seen_at",
        (instance,),
    )
    row = cur.execute(
        "SELECT count(*) FROM replicas WHERE seen_at > clock_timestamp() - %s::interval",
        (lease,),
    ).fetchone()
    live = max(1, int(row[0]) if row else 1)
    share = math.ceil(shards / live)
    cur.execute(
        "INSERT INTO leases (shard, holder, epoch, expires_at) "
        "SELECT s, '', 0, '-infinity' FROM generate_series(0, %s - 1) AS s "
        "ON CONFLICT (shard) DO NOTHING",
        (shards,),
    )
    transitions: list[tuple[int, str]] = []
    held = dict(
        cur.execute(
            "UPDATE leases SET expires_at = clock_timestamp() + %s::interval "
            "WHERE holder = %s AND expires_at > clock_timestamp() AND shard < %s "
            "RETURNING shard, epoch",
            (lease, instance, shards),
        ).fetchall()
    )
    transitions += [(s, "lost") for s, e in (previous or {}).items() if held.get(s) != e]
    if len(held) > share:
        extra = sorted(held)[share:]
        cur.execute(
            "UPDATE leases SET expires_at = '-infinity' WHERE holder = %s AND shard = ANY(%s)",
            (instance, extra),
        )
        for shard in extra:
            del held[shard]
            transitions.append((shard, "released"))
    wanted = share - len(held)
    if wanted > 0:
        free = cur.execute(
            "SELECT shard, holder FROM leases WHERE expires_at <= clock_timestamp() "
            "AND shard < %s ORDER BY shard LIMIT %s FOR UPDATE SKIP LOCKED",
            (shards, wanted),
        ).fetchall()
        previous = dict(free)
        taken = cur.execute(
            "UPDATE leases SET holder = %s, epoch = epoch + 1, "
            "expires_at = clock_timestamp() + %s::interval WHERE shard = ANY(%s) "
            "RETURNING shard, epoch",
            (instance, lease, list(previous)),
        ).fetchall()
        for shard, epoch in taken:
            held[shard] = epoch
            was = previous[shard]
            transitions.append((shard, "acquired" if was in ("", instance) else "takeover"))
    return Claim(held, tuple(sorted(transitions)), live)


def release(cur: psycopg.Cursor[Any], instance: str) -> None:
    """Give back every lease of ``instance`` (a clean shutdown: no waiting for expiry)."""
    cur.execute("UPDATE leases SET expires_at = '-infinity' WHERE holder = %s", (instance,))
    cur.execute("DELETE FROM replicas WHERE instance = %s", (instance,))


def check(
    cur: psycopg.Cursor[Any], instance: str, epochs: Mapping[int, int], shards: Collection[int]
) -> None:
    """Refuse (:class:`FencedError`) unless ``instance`` holds every shard in ``shards`` at the
    epoch in ``epochs``, unexpired, by PostgreSQL's clock. Locks those lease rows FOR SHARE
    until the caller's transaction ends."""
    wanted = sorted(set(shards))
    missing = [s for s in wanted if s not in epochs]
    if missing:
        raise FencedError(f"this replica ({instance}) holds no lease on shard(s) {missing}")
    current = dict(
        cur.execute(
            "SELECT shard, epoch FROM leases WHERE holder = %s AND shard = ANY(%s) "
            "AND expires_at > clock_timestamp() FOR SHARE",
            (instance, wanted),
        ).fetchall()
    )
    stale = [s for s in wanted if current.get(s) != epochs[s]]
    if stale:
        raise FencedError(
            f"this replica ({instance}) lost the lease on shard(s) {stale} (expired or taken "
            "over): nothing written"
        )


def check_keys(cur: psycopg.Cursor[Any], fence: Fence | None, keys: Collection[str]) -> None:
    """:func:`check` the shards of SLO ``keys`` (nothing to check without a fence)."""
    if fence is not None:
        wanted = {shard_of(k, fence.shards) for k in keys}
        check(cur, fence.instance, fence.epochs, wanted)


def check_rows(cur: psycopg.Cursor[Any], fence: Fence | None, row_ids: Sequence[int]) -> None:
    """:func:`check` the shards of outbox rows ``row_ids`` (nothing to check without a fence)."""
    if fence is not None:
        shards = cur.execute(
            "SELECT DISTINCT shard FROM outbox WHERE id = ANY(%s)", (list(row_ids),)
        ).fetchall()
        check(cur, fence.instance, fence.epochs, [row[0] for row in shards])
