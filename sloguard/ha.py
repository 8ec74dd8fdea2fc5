"""One replica among several on one PostgreSQL: the shards it holds, renewed every tick.

:class:`Replica` implements :class:`sloguard.ports.Shards` over the PostgreSQL store's leases
(:mod:`sloguard.store.leases`). Every regular tick it claims (renews, rebalances, takes over
expired shards); the tick then evaluates and commits only the keys of held shards, and the
deliverer sends only their rows. After each claim it hands the store a
:class:`~sloguard.records.Fence` (shard -> epoch), so a commit or delivery record of a shard
this replica no longer holds is refused in PostgreSQL.

A send cannot be refused by a receiver, so before each send the replica checks its own
deadline: the lease's length, counted on the process's real monotonic clock from *before* the
claim was sent, less a margin. A replica paused past its lease (SIGSTOP, a long GC) wakes past
that deadline and sends nothing until a new claim succeeds. The monotonic clock here is the
real one on purpose: ``--replay-from --speed`` scales the daemon's clock, not the lease.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable

from sloguard.records import Fence
from sloguard.sink import MetricsSink, NoMetrics
from sloguard.store import PostgresStore

log = logging.getLogger("sloguard.ha")

# The share of a lease kept in reserve for clock-rate differences and the send itself.
SAFETY_RATIO = 0.2


def default_instance_id() -> str:
    """The hostname and pid: unique per process, readable in logs (``--instance-id``)."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Replica:
    """This process's leases on ``shards`` shards (see the module docstring)."""

    def __init__(
        self,
        store: PostgresStore,
        instance: str,
        *,
        shards: int = 1,
        lease_seconds: float = 15.0,
        metrics: MetricsSink | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.instance = instance
        self.shards = shards
        self.lease_seconds = lease_seconds
        self.metrics: MetricsSink = metrics or NoMetrics()
        self._monotonic = monotonic
        self.fence = Fence(instance, shards, {}, valid_until=float("-inf"))

    def claim(self) -> bool:
        """Renew and take leases; True when the held shards (or their epochs) changed."""
        started = self._monotonic()
        try:
            got = self.store.claim(self.instance, self.shards, self.lease_seconds, self.fence)
        except BaseException:
            self._drop()
            raise
        valid_until = started + self.lease_seconds * (1.0 - SAFETY_RATIO)
        changed = dict(got.epochs) != dict(self.fence.epochs)
        self.fence = Fence(self.instance, self.shards, dict(got.epochs), valid_until)
        self.store.fence = self.fence
        for shard, reason in got.transitions:
            log.info(
                "shard %d %s (epoch %s, %d live replicas)",
                shard,
                reason,
                got.epochs.get(shard, "-"),
                got.live_replicas,
                extra={"instance": self.instance, "shard": shard, "reason": reason},
            )
        self.metrics.observe_leases(len(got.epochs), [r for _, r in got.transitions])
        return changed

    def _drop(self) -> None:
        """PostgreSQL could not be asked: keep the epochs for fencing, but send nothing more."""
        self.fence = Fence(self.instance, self.shards, self.fence.epochs, float("-inf"))
        self.store.fence = self.fence

    def owns(self, key: str) -> bool:
        return self.fence.holds(key)

    def may_send(self, key: str) -> bool:
        return self.fence.may_send(key, self._monotonic())

    @property
    def held(self) -> int:
        """How many shards this replica holds (0: a standby)."""
        return len(self.fence.epochs)

    def release(self) -> None:
        """Give every lease back (clean shutdown), so another replica takes over at once."""
        self.store.release(self.instance)
        self.fence = Fence(self.instance, self.shards, {}, valid_until=float("-inf"))
        self.store.fence = self.fence
