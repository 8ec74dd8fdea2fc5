"""Profile the daemon's recorded-mode tick on N SLOs, with Prometheus's answers canned in memory.

    python -m bench.profile_tick [--slos 10000] [--ticks 3] [--profile]

Isolates sloguard's own CPU from Prometheus and the network: a stand-in Source answers the
probe and the bulk recorded-series queries with one sample per SLO (the shape Prometheus
returns), and a real SQLite state database takes the commits. Prints the CPU seconds of each
steady-state tick; ``--profile`` adds a pyinstrument tree of one more tick (pyinstrument is a
profiling aid only: ``pip install pyinstrument``, not a sloguard dependency). The same ticks
over a real Prometheus are in ``bench.cost``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from bench import common
from bench.tick import peak_rss_mb
from sloguard import rules
from sloguard.app import Daemon, paging_policy
from sloguard.clock import SystemClock
from sloguard.config import DaemonConfig
from sloguard.delivery import Deliverer
from sloguard.engine import evaluate_all
from sloguard.model import SLO
from sloguard.ports import Sample, Series
from sloguard.spec import load_slos
from sloguard.store import Store


class Canned:
    """Answers like a Prometheus running the SLOs' rules: one sample per SLO per series."""

    def __init__(self, slos: list[SLO]) -> None:
        self.slos = slos
        self.info = [
            Sample({"sloth_id": rules.sloth_id(s), rules.HASH_LABEL: rules.sli_hash(s)}, 1.0)
            for s in slos
        ]
        self.cache: dict[str, list[Sample]] = {}

    def _series(self, name: str) -> list[Sample]:
        return [
            Sample(
                {
                    "__name__": name,
                    "sloth_id": rules.sloth_id(s),
                    "sloth_service": s.service,
                    "sloth_slo": rules.sloth_slo(s),
                    **s.labels,
                },
                0.0004 if name.startswith(rules.RATIO) else 100.0,
            )
            for s in self.slos
        ]

    async def query(self, expr: str, at: float) -> list[Sample]:
        if expr.startswith("group by"):
            return self.info
        if expr not in self.cache:
            self.cache[expr] = self._series(expr)
        # Fresh objects each time, as a parsed answer would be.
        return [Sample(dict(s.labels), s.value) for s in self.cache[expr]]

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        raise NotImplementedError


async def measure(slos: list[SLO], state: Path, ticks: int, profile: bool) -> dict[str, object]:
    store = Store.open(state)
    config = DaemonConfig.model_validate(
        {"prometheus": {"url": "http://127.0.0.1:9"}, "slo_paths": ["."], "state_path": "x"}
    )
    clock = SystemClock()
    daemon = Daemon(
        slos=slos,
        source=Canned(slos),
        evaluate=evaluate_all,
        paging=paging_policy(config),
        store=store,
        deliverer=Deliverer(store, {}, clock),
        clock=clock,
    )
    now = time.time()
    await daemon.tick(now)  # cold: creates every state
    cpu = []
    for n in range(ticks):
        started = time.process_time()
        await daemon.tick(now + 30 * (n + 1))
        cpu.append(time.process_time() - started)
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
        await daemon.tick(now + 30 * (ticks + 1))
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
    store.close()
    return {"tick_cpu_seconds": cpu, "median": common.median(cpu), "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=10_000)
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--ticks", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--label", default="after", help="saved as profile-<label>.json")
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sloguard-bench-profile-") as tmp:
        names = [f"svc{i:03d}" for i in range(args.services)]
        common.write_slos(Path(tmp) / "slos", args.slos, names, "bench")
        slos = load_slos([Path(tmp) / "slos"])
        result = asyncio.run(measure(slos, Path(tmp) / "state.db", args.ticks, args.profile))
    print(json.dumps({"slos": args.slos, **result}))
    common.save(
        f"profile-{args.label}",
        {"slos": args.slos, "label": args.label, **result},
        args.out,
        module="bench.profile_tick",
        argv=argv,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
