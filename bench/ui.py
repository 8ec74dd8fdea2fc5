"""Server time of the UI's pages at 10,000 SLOs, in process (httpx.ASGITransport, no socket).

    python -m bench.ui [--slos 10000] [--runs 20]

Builds 10,000 evaluations with every default tier, and times ``/`` (sort + filter + one page
of 50), ``/?q=...&severity=SEV1`` and ``/slos/{name}``. The detail page draws its graph from
the last evaluation, so it has no cache to be cold or warm yet (docs/ui.md).
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
from sloguard.records import EpisodeRecord
from sloguard.server import Readiness, Sources, build_app
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
    app = build_app(Sources(Metrics().render, readiness, dict, extra_routes=Ui(data).routes()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await timed(client, "/", 2)  # templates compiled, imports warm
        for label, path in [
            ("/ (page 1 of the list)", "/"),
            ("/?q=svc042&severity=SEV1", "/?q=svc042&severity=SEV1"),
            ("/?page=100", "/?page=100"),
            ("/slos/{name}", f"/slos/{data.evals[count // 2].slo}"),
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
