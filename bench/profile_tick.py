"""Profile the daemon's recorded-mode tick on N SLOs, with Prometheus's answers canned in memory.

    python -m bench.profile_tick [--slos 10000] [--ticks 3] [--profile] [--http] [--fresh]

Isolates sloguard's own CPU from Prometheus and the network: a stand-in Source answers the
probe and the bulk recorded-series queries with one series per SLO (the labels Prometheus
returns), and a real SQLite state database takes the commits. With ``--http`` the answers are
Prometheus's JSON, served to the real Prometheus client through ``httpx.MockTransport``, so
decoding and parsing count too (no socket, no Prometheus). With ``--fresh`` every recorded
number is new each tick. Prints the CPU seconds of each steady-state tick; ``--profile`` adds
a pyinstrument tree of one more tick (pyinstrument is a profiling aid only: ``pip install
pyinstrument``, not a sloguard dependency). The same ticks over a real Prometheus are in
``bench.cost``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import urllib.parse
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path

import httpx

from bench import common
from bench.tick import peak_rss_mb
from sloguard import rules
from sloguard.app import paging_policy
from sloguard.clock import SystemClock
from sloguard.collector import CollectorPause
from sloguard.config import DaemonConfig
from sloguard.engine import Engine
from sloguard.model import SLO
from sloguard.ports import Sample, Series, Source
from sloguard.prometheus.client import PrometheusClient
from sloguard.spec import load_slos
from sloguard.store import Store
from sloguard.tick import Tick


class Canned:
    """Answers like a Prometheus running the SLOs' rules: one series per SLO per recorded
    series, with the labels the rules give it (``__name__``, the ``sloth_*`` ids and window,
    the SLO's labels); an aggregation ``max without (labels) (name)`` drops ``__name__`` and
    those labels, as Prometheus does. Fresh objects every time, as a parsed answer would be.

    With ``fresh`` every recorded number is new at each instant (its SLO's usual value nudged
    by a part in a million that depends on the SLO and the instant), so no memo of unchanged
    answers can help: the tick a fleet pays when every rule evaluation moved every number.
    :meth:`ready` makes an instant's answers before it is asked, so making them is not
    counted as the tick's work.
    """

    def __init__(self, slos: list[SLO], *, fresh: bool = False) -> None:
        self.slos = slos
        self.fresh = fresh
        self.info = [
            {"sloth_id": rules.sloth_id(s), rules.HASH_LABEL: rules.sli_hash(s)} for s in slos
        ]
        self.cache: dict[str, list[tuple[dict[str, str], float]]] = {}
        self.now: dict[str, list[tuple[dict[str, str], float]]] = {}  # the ready instant's
        self.bodies: dict[tuple[str, float], bytes] = {}  # ``--http``: the ready instant's

    def _series(self, expr: str) -> list[tuple[dict[str, str], float]]:
        if expr.startswith("group by"):
            return [(labels, 1.0) for labels in self.info]
        without: list[str] = []
        name = expr
        if expr.startswith("max without ("):
            inner, _, rest = expr[len("max without (") :].partition(")")
            without = [x.strip() for x in inner.split(",")]
            name = rest.strip()[1:-1]
        window = name.rsplit("_rate", 1)[-1] if "_rate" in name else name.rsplit(":rate", 1)[-1]
        out = []
        for s in self.slos:
            labels = {
                "__name__": name,
                "sloth_id": rules.sloth_id(s),
                "sloth_service": s.service,
                "sloth_slo": rules.sloth_slo(s),
                "sloth_window": window,
                **s.labels,
            }
            if without:
                for label in ("__name__", *without):
                    labels.pop(label, None)
            out.append((labels, 0.0004 if name.startswith(rules.RATIO) else 100.0))
        return out

    def answer(self, expr: str) -> list[tuple[dict[str, str], float]]:
        if expr in self.now:
            return self.now[expr]
        if expr not in self.cache:
            self.cache[expr] = self._series(expr)
        return self.cache[expr]

    def ready(self, at: float) -> None:
        """With ``fresh``, make the answers of the recorded series asked so far new for ``at``
        (and their JSON, once the real client asked for it); the last instant's are dropped."""
        if not self.fresh:
            return
        self.now = {}
        for expr, series in self.cache.items():
            if expr.startswith("group by"):
                continue
            self.now[expr] = [
                (labels, value * (1 + ((i * 7919 + int(at)) % 100_003) * 1e-11))
                for i, (labels, value) in enumerate(series)
            ]
        asked = {expr for expr, _ in self.bodies}
        at = float(f"{at:.3f}")  # the instant as the client sends it (``time=`` in ms)
        self.bodies = {(expr, at): self._body(expr, at) for expr in asked}

    async def query(self, expr: str, at: float) -> list[Sample]:
        return [Sample(dict(labels), value) for labels, value in self.answer(expr)]

    async def query_by_sloth_id(
        self, expr: str, at: float, sids: Mapping[str, str], grouped: AbstractSet[str]
    ) -> dict[str, list[Sample] | float]:
        """The answer by ``sloth_id``, as a source that splits what it reads hands it over
        (``sloguard.ports.BulkSource``): one value per ungrouped SLO, no object per series."""
        out: dict[str, list[Sample] | float] = {}
        for labels, value in self.answer(expr):
            sid = sids.get(labels.get("sloth_id", ""))
            if sid is None:
                continue
            if sid in grouped or sid in out:  # not in these canned answers
                raise NotImplementedError("one series per ungrouped SLO only")
            out[sid] = value
        return out

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        raise NotImplementedError

    def _body(self, expr: str, at: float) -> bytes:
        result = [
            {"metric": labels, "value": [at, repr(value)]} for labels, value in self.answer(expr)
        ]
        body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        return json.dumps(body).encode()

    def transport(self) -> httpx.MockTransport:
        """The same answers as Prometheus's JSON, for the real client (``--http``)."""

        def handle(request: httpx.Request) -> httpx.Response:
            form = urllib.parse.parse_qs(request.content.decode())
            expr, at = form["query"][0], float(form["time"][0])
            # Only the bytes are kept, as a socket would hold them; steady answers keep the
            # first instant's (the same numbers), fresh ones are made by ready().
            key = (expr, at) if self.fresh else (expr, 0.0)
            if key not in self.bodies:
                self.bodies[key] = self._body(expr, at)
            return httpx.Response(
                200, content=self.bodies[key], headers={"Content-Type": "application/json"}
            )

        return httpx.MockTransport(handle)


async def measure(
    slos: list[SLO],
    state: Path,
    ticks: int,
    profile: bool,
    http: bool = False,
    *,
    fresh: bool = False,
) -> dict[str, object]:
    store = Store.open(state)
    config = DaemonConfig.model_validate(
        {"prometheus": {"url": "http://127.0.0.1:9"}, "slo_paths": ["."], "state_path": "x"}
    )
    clock = SystemClock()
    canned = Canned(slos, fresh=fresh)
    source: Source = canned
    if http:
        source = PrometheusClient(config.prometheus, transport=canned.transport())
    tick = Tick(
        slos=slos,
        source=source,
        evaluate=Engine().evaluate_all,
        paging=paging_policy(config),
        store=store,
        clock=clock,
        collector=CollectorPause(),
    )
    now = time.time()
    report = await tick.run(now)  # cold: creates every state
    cpu, wall = [], []
    for n in range(ticks):
        canned.ready(now + 30 * (n + 1))
        started, wall_started = time.process_time(), time.perf_counter()
        report = await tick.run(now + 30 * (n + 1))
        cpu.append(time.process_time() - started)
        wall.append(time.perf_counter() - wall_started)
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        canned.ready(now + 30 * (ticks + 1))
        profiler.start()
        await tick.run(now + 30 * (ticks + 1))
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
    if isinstance(source, PrometheusClient):
        await source.aclose()
    store.close()
    return {
        "tick_cpu_seconds": cpu,
        "median": common.median(cpu),
        "tick_wall_seconds": wall,
        "median_wall": common.median(wall),
        "peak_rss_mb": peak_rss_mb(),
        # Keys the last measured tick could not evaluate: 0, or the figures mean nothing.
        "errors": sum(1 for e in report.evaluations if e.error) + len(report.failures),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=10_000)
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--ticks", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--http",
        action="store_true",
        help="answer as JSON through the real Prometheus client (adds decoding and parsing)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="every recorded number new each tick (no memo of unchanged answers helps)",
    )
    parser.add_argument("--label", default="after", help="saved as profile-<label>.json")
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sloguard-bench-profile-") as tmp:
        names = [f"svc{i:03d}" for i in range(args.services)]
        common.write_slos(Path(tmp) / "slos", args.slos, names, "bench")
        slos = load_slos([Path(tmp) / "slos"])
        result = asyncio.run(
            measure(
                slos, Path(tmp) / "state.db", args.ticks, args.profile, args.http, fresh=args.fresh
            )
        )
    head = {"slos": args.slos, "http": args.http, "fresh": args.fresh}
    print(json.dumps({**head, **result}))
    common.save(
        f"profile-{args.label}" + ("-http" if args.http else "") + ("-fresh" if args.fresh else ""),
        {"label": args.label, **head, **result},
        args.out,
        module="bench.profile_tick",
        argv=argv,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
