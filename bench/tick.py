"""Measure daemon ticks in this process (run it as a subprocess, so its RSS is its own).

    python -m bench.tick --config sloguard.yaml --mode direct|recorded --ticks 3

Builds the daemon exactly as ``sloguard run`` does (``open_daemon``), then does ``--ticks``
ticks at the present, each one evaluating every SLO, stepping every episode and committing to
the state database. Prints one JSON object: per tick the wall seconds, the CPU seconds of this
process and the Prometheus queries sent; the peak RSS; the time to load the SLOs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections.abc import Sequence

from sloguard.app import open_daemon
from sloguard.burn import Evaluation
from sloguard.config import load_config
from sloguard.engine import Engine
from sloguard.model import SLO
from sloguard.ports import Sample, Series, Source
from sloguard.prometheus.reachability import Reachability


class Counting:
    """A Source that counts the queries it forwards."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner
        self.count = 0

    async def query(self, expr: str, at: float) -> list[Sample]:
        self.count += 1
        return await self.inner.query(expr, at)

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        self.count += 1
        return await self.inner.query_range(expr, start, end, step)


async def measure(
    config_path: str, mode: str, ticks: int, profile: str | None
) -> dict[str, object]:
    config = load_config(config_path)
    started = time.perf_counter()
    async with open_daemon(config) as daemon:
        tick = daemon.tick
        load_seconds = time.perf_counter() - started
        counting = Counting(tick.source)
        tick.source = Reachability(counting)

        engine = Engine()

        async def evaluate(slos: Sequence[SLO], source: Source, at: float) -> list[Evaluation]:
            return await engine.evaluate_all(slos, source, at, recorded=mode == "recorded")

        tick.evaluate = evaluate
        results = []
        profiler = None
        for n in range(ticks):
            if profile and n == ticks - 1:
                from pyinstrument import Profiler  # profiling only, not a project dependency

                profiler = Profiler(async_mode="enabled")
                profiler.start()
            before = counting.count
            cpu = time.process_time()
            wall = time.perf_counter()
            report = await tick.run(time.time())
            results.append(
                {
                    "wall_seconds": time.perf_counter() - wall,
                    "cpu_seconds": time.process_time() - cpu,
                    "queries": counting.count - before,
                    "keys": len(report.slos),
                    "failures": len(report.failures),
                    "severities": _severities(report.slos),
                }
            )
        if profiler is not None and profile:
            profiler.stop()
            with open(profile, "w", encoding="utf-8") as out:
                out.write(profiler.output_text(unicode=False, color=False, show_all=False))
    return {
        "mode": mode,
        "slos": len(tick.slos),
        "load_seconds": load_seconds,
        "ticks": results,
        "peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """This process's peak resident set (``VmHWM``). Not ``ru_maxrss``: on Linux that keeps the
    peak of the parent it was forked from across ``exec``."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _severities(reports: Sequence[object]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in reports:
        name = r.severity.name  # type: ignore[attr-defined]
        out[name] = out.get(name, 0) + 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--mode", choices=["direct", "recorded"], required=True)
    parser.add_argument("--ticks", type=int, default=3)
    parser.add_argument("--profile", help="write a pyinstrument profile of the last tick here")
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.config, args.mode, args.ticks, args.profile))
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
