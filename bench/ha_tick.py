"""A steady tick at N SLOs on PostgreSQL beside SQLite, and N SLOs in 4 shards over 2 replicas.

    python -m bench.ha_tick [--slos 10000] [--ticks 3] [--setups sqlite,postgresql,sharded]
        [--fresh]

Prometheus's answers are canned in memory (bench.profile_tick's stand-in), so the figures are
sloguard's own CPU and the state database's wall time. PostgreSQL is a real server started by
harness.pgserver (fsync=off, loopback). For the sharded run each of two replicas (a Tick with
its own Replica and connection) holds two of the four shards and evaluates only their SLOs;
its figures are per replica; ``--fresh`` makes every recorded number new each tick.
Prints one JSON line per setup.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import common
from bench.profile_tick import Canned
from harness.pgserver import serve
from sloguard.app import paging_policy
from sloguard.clock import SystemClock
from sloguard.collector import CollectorPause
from sloguard.config import DaemonConfig
from sloguard.engine import Engine
from sloguard.ha import Replica
from sloguard.model import SLO
from sloguard.spec import load_slos
from sloguard.store import AnyStore, PostgresStore, Store
from sloguard.tick import Tick

SETUPS = ("sqlite", "postgresql", "sharded")
CONFIG = DaemonConfig.model_validate(
    {"prometheus": {"url": "http://127.0.0.1:9"}, "slo_paths": ["."], "state_path": "x"}
)


def tick_for(
    slos: list[SLO], store: AnyStore, replica: Replica | None = None, *, fresh: bool = False
) -> tuple[Tick, Canned]:
    """A Tick over a canned source, and that source (the Tick wraps it)."""
    canned = Canned(slos, fresh=fresh)
    return Tick(
        slos=slos,
        source=canned,
        evaluate=Engine().evaluate_all,
        paging=paging_policy(CONFIG),
        store=store,
        clock=SystemClock(),
        collector=CollectorPause(),
        shards=replica,
    ), canned


def owned(tick: Tick, slo: SLO) -> bool:
    return tick.shards is None or tick.shards.owns(slo.name)


async def steady(ticks: list[tuple[Tick, Canned]], n: int) -> dict[str, object]:
    """One cold tick each, then ``n`` steady ones; CPU and wall seconds per replica's tick."""
    now = time.time()
    for t, _ in ticks:
        await t.run(now)
    cpu, wall = [], []
    for i in range(n):
        for t, canned in ticks:
            canned.ready(now + 30 * (i + 1))
            c, w = time.process_time(), time.perf_counter()
            report = await t.run(now + 30 * (i + 1))
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - w)
            assert not report.failures, report.failures[:3]
    return {
        "tick_cpu_seconds_median": round(statistics.median(cpu), 3),
        "tick_wall_seconds_median": round(statistics.median(wall), 3),
        "slos_per_replica": [
            len([s for s in t.slos if t.shards is None or t.shards.owns(s.name)]) for t, _ in ticks
        ],
    }


async def run(
    slos: list[SLO], tmp: Path, n: int, setups: Sequence[str] = SETUPS, *, fresh: bool = False
) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    if "sqlite" in setups:
        sqlite = Store.open(tmp / "state.db")
        out.append({"setup": "sqlite", **await steady([tick_for(slos, sqlite, fresh=fresh)], n)})
        sqlite.close()
    with serve() as pg:
        if "postgresql" in setups:
            one = PostgresStore.open(pg.fresh_database("one"))
            got = await steady([tick_for(slos, one, fresh=fresh)], n)
            out.append({"setup": "postgresql", **got})
            one.close()
        if "sharded" not in setups:
            return out
        url = pg.fresh_database("sharded")
        replicas = [
            Replica(PostgresStore.open(url), name, shards=4, lease_seconds=60)
            for name in ("r1", "r2")
        ]
        for r in replicas:  # both alive, then balanced: two shards each
            r.claim()
        for r in replicas:
            r.claim()
        ticks = [tick_for(slos, r.store, r, fresh=fresh) for r in replicas]
        out.append({"setup": "postgresql, 4 shards over 2 replicas", **await steady(ticks, n)})
        for r in replicas:
            r.store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=10_000)
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--ticks", type=int, default=3)
    parser.add_argument(
        "--setups", default=",".join(SETUPS), help="a subset of " + ",".join(SETUPS)
    )
    parser.add_argument("--fresh", action="store_true", help="every recorded number new each tick")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sloguard-bench-ha-") as tmp:
        names = [f"svc{i:03d}" for i in range(args.services)]
        common.write_slos(Path(tmp) / "slos", args.slos, names, "bench")
        slos = load_slos([Path(tmp) / "slos"])
        results = asyncio.run(
            run(slos, Path(tmp), args.ticks, args.setups.split(","), fresh=args.fresh)
        )
    for result in results:
        print(json.dumps({"slos": args.slos, "fresh": args.fresh, **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
