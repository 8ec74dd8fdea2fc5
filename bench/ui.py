"""Server time of the UI's pages at 10,000 SLOs, in process (httpx.ASGITransport, no socket).

    python -m bench.ui [--slos 10000] [--runs 20]

Builds 10,000 evaluations with every default tier, and times ``/`` (sort + filter + one page
of 50), ``/?q=...&severity=SEV1`` and ``/slos/{name}``. The detail page draws its graph from
the last evaluation and its graphs over time (budget left over the period, every tier's two
windows) from range queries, answered here by a canned source (120 points, no Prometheus):
"cold" is the first view of an SLO (the recorded-series probe and eight range queries decoded
and plotted), "warm" a view within the cache's lifetime.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from sloguard.burn import Evaluation, TierDecision, TierState
from sloguard.clock import ManualClock
from sloguard.metrics import Metrics
from sloguard.model import DEFAULT_TIERS, SLO, RatioIndicator, Severity
from sloguard.ports import Sample, Series
from sloguard.records import EpisodeRecord
from sloguard.server import Readiness, Sources, build_app
from sloguard.server.graphs import BurnHistory
from sloguard.server.ui import Ui

PERIOD = 30 * 86400


@dataclass
class Data:
    evals: Sequence[Evaluation]
    slos: Mapping[str, SLO]

    def evaluations(self) -> tuple[Sequence[Evaluation], Mapping[str, SLO]]:
        return self.evals, self.slos

    def episodes(self) -> list[EpisodeRecord]:
        return []

    def episode(self, episode_id: str) -> EpisodeRecord | None:
        return None


class Canned:
    """A Source whose every range query returns one series of 120 points at once."""

    async def query(self, expr: str, at: float) -> list[Sample]:
        return []

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        return [Series({}, [(start + i * step, 0.01 + i * 1e-4) for i in range(120)])]


def fleet(count: int) -> Data:
    windows = sorted({w for t in DEFAULT_TIERS for w in (t.long_seconds, t.short_seconds)})
    evals, slos = [], {}
    for i in range(count):
        name = f"svc{i % 500:03d}-slo{i:05d}"
        burn = (i % 97) / 4.0
        decisions = tuple(
            TierDecision(
                t,
                t.factor(PERIOD),
                burn,
                burn,
                TierState.FIRING if burn >= t.factor(PERIOD) else TierState.CLEAR,
            )
            for t in DEFAULT_TIERS
        )
        firing = [d.tier.severity for d in decisions if d.state is TierState.FIRING]
        evals.append(
            Evaluation(
                name,
                1.7e9,
                max(firing, default=Severity.OK),
                dict.fromkeys(windows, burn),
                1.0 - (i % 1000) / 1000,
                3600.0 * (i % 50 + 1),
                decisions,
            )
        )
        slos[name] = SLO(
            name=name,
            service=f"svc{i % 500:03d}",
            objective_percent=99.9,
            period_seconds=PERIOD,
            indicator=RatioIndicator(errors="e{{.window}}", total="t{{.window}}"),
            description=f"SLO number {i}",
            labels={"tier": str(i % 3)},
        )
    return Data(evals, slos)


async def timed(client: httpx.AsyncClient, path: str, runs: int) -> list[float]:
    """CPU seconds of each request (process time: the machine is shared, wall time is noisy)."""
    out = []
    for _ in range(runs):
        start = time.process_time()
        reply = await client.get(path)
        out.append(time.process_time() - start)
        assert reply.status_code == 200, reply.text[:200]
    return out


async def main(count: int, runs: int) -> None:
    data = fleet(count)
    readiness = Readiness(ManualClock(), interval_seconds=30)
    history = BurnHistory(Canned(), ManualClock(start=1.7e9).now, ttl_seconds=1e9)
    ui = Ui(data, history)
    app = build_app(Sources(Metrics().render, readiness, dict, extra_routes=ui.routes()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await timed(client, "/", 2)  # templates compiled, imports warm
        cold = []
        for ev in data.evals[:runs]:  # each SLO's first view: nothing cached
            cold += await timed(client, f"/slos/{ev.slo}", 1)
        print(
            f"{'/slos/{name} cold':28s} {count} SLOs  CPU median "
            f"{statistics.median(cold) * 1000:6.1f} ms  max {max(cold) * 1000:6.1f} ms"
            f"  ({runs} runs)"
        )
        for label, path in [
            ("/ (page 1 of the list)", "/"),
            ("/?q=svc042&severity=SEV1", "/?q=svc042&severity=SEV1"),
            ("/?page=100", "/?page=100"),
            ("/slos/{name} warm", f"/slos/{data.evals[count // 2].slo}"),
        ]:
            times = await timed(client, path, runs)
            print(
                f"{label:28s} {count} SLOs  CPU median {statistics.median(times) * 1000:6.1f} ms"
                f"  max {max(times) * 1000:6.1f} ms  ({runs} runs)"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slos", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.slos, args.runs))
