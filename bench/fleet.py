"""A synthetic fleet for the benchmarks: many services, history backfilled up to now, and a live
exporter that continues the same counters, scraped by a real Prometheus.

Every service has ``http_requests_total{job="bench", service=NAME, code="200"|"500"}``. The
counters are closed-form functions of time (``base + rps x seconds x (1 - error ratio)``), so
the backfilled history (one OpenMetrics file per 2h block, ``promtool tsdb create-blocks-from
openmetrics``) and the exporter's live values join without a reset. The scrape drops the
``instance`` label, so live samples extend the backfilled series instead of starting new ones.

An outage (``Exporter.outage(service)``) switches a service to 100 % errors from that moment.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from harness.promserver import BLOCK_SECONDS, PrometheusServer, start_prometheus

JOB = "bench"
METRIC = "http_requests"  # exposed as http_requests_total


@dataclass
class Service:
    """One service's counters: ``rps`` requests per second, ``error_ratio`` of them 5xx, and
    optional outages (100 % errors) as ``[start, end)`` unix times (``end`` may be ``inf``)."""

    name: str
    rps: float
    error_ratio: float
    origin: float
    base: float = 1_000_000.0
    outages: list[tuple[float, float]] = field(default_factory=list)

    def _outage_seconds(self, t: float) -> float:
        return sum(max(0.0, min(t, end) - start) for start, end in self.outages if t > start)

    def counters(self, t: float) -> tuple[float, float]:
        """(ok, errors) at unix time ``t``."""
        elapsed = max(0.0, t - self.origin)
        down = self._outage_seconds(t)
        up = elapsed - down
        ok = self.base + self.rps * up * (1.0 - self.error_ratio)
        bad = self.base + self.rps * (up * self.error_ratio + down)
        return ok, bad


def make_services(count: int, origin: float, prefix: str = "svc") -> list[Service]:
    """``count`` services with varied traffic (5-500 rps) and baseline error ratios (0.01-0.09 %):
    comfortably inside a 99.9 % objective."""
    width = max(3, len(str(count - 1)))
    return [
        Service(
            name=f"{prefix}{i:0{width}d}",
            rps=5.0 + (i * 37) % 496,
            error_ratio=(1 + (i * 7) % 9) / 10_000,
            origin=origin,
        )
        for i in range(count)
    ]


def _lines(s: Service, t: int) -> str:
    ok, bad = s.counters(t)
    sel = f'{METRIC}_total{{job="{JOB}",service="{s.name}",code='
    return f'{sel}"200"}} {ok!r} {t}\n{sel}"500"}} {bad!r} {t}\n'


def backfill(
    services: Sequence[Service],
    data_dir: Path,
    start: int,
    end: int,
    *,
    step: int = 60,
    parallel: int = 2,
) -> int:
    """Write samples every ``step`` seconds in ``[start, end]`` as one OpenMetrics file per 2h
    block and load them with promtool; returns the number of samples."""
    data_dir.mkdir(parents=True, exist_ok=True)
    text_dir = Path(tempfile.mkdtemp(prefix="om-", dir=data_dir.parent))
    first = start // BLOCK_SECONDS * BLOCK_SECONDS
    blocks = list(range(first, end + 1, BLOCK_SECONDS))
    samples = 0

    def write(lo: int) -> tuple[Path, int]:
        times = [t for t in range(start, end + 1, step) if lo <= t < lo + BLOCK_SECONDS]
        path = text_dir / f"block-{lo}.om"
        with path.open("w", encoding="utf-8") as out:
            out.write(f"# HELP {METRIC} Synthetic requests.\n# TYPE {METRIC} counter\n")
            for t in times:  # time-major: every series stays in increasing time order
                out.write("".join(_lines(s, t) for s in services))
            out.write("# EOF\n")
        return path, len(times) * 2 * len(services)

    def load(path: Path) -> None:
        cmd = ["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(path)]
        cmd.append(str(data_dir))
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"promtool failed on {path.name}: {done.stderr[-2000:]}")
        path.unlink()

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        pending = []
        for lo in blocks:
            path, n = write(lo)  # writing is Python (one core); loading overlaps it
            samples += n
            pending.append(pool.submit(load, path))
        for job in pending:
            job.result()
    shutil.rmtree(text_dir, ignore_errors=True)
    return samples


class _Collector(Collector):
    def __init__(self, exporter: Exporter) -> None:
        self.exporter = exporter

    def collect(self) -> Iterable[CounterMetricFamily]:
        now = time.time()
        family = CounterMetricFamily(
            METRIC, "Synthetic requests.", labels=["job", "service", "code"]
        )
        with self.exporter.lock:
            services = list(self.exporter.services)
        for s in services:
            ok, bad = s.counters(now)
            family.add_metric([JOB, s.name, "200"], ok)
            family.add_metric([JOB, s.name, "500"], bad)
        yield family


class Exporter:
    """A live ``/metrics`` on 127.0.0.1 for ``services``, computed at scrape time."""

    def __init__(self, services: Sequence[Service]) -> None:
        self.services = list(services)
        self.lock = threading.Lock()
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self))
        self._server, self._thread = start_http_server(0, addr="127.0.0.1", registry=registry)
        self.port = int(self._server.server_port)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def outage(self, name: str, start: float, end: float = math.inf) -> None:
        """100 % errors for ``name`` during ``[start, end)``."""
        with self.lock:
            for s in self.services:
                if s.name == name:
                    s.outages.append((start, end))
                    return
        raise KeyError(name)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def prometheus_config(
    target: str | None,
    *,
    scrape_interval: str = "15s",
    evaluation_interval: str = "1m",
    rule_files: Sequence[str] = (),
    alertmanager: str | None = None,
) -> str:
    """``prometheus.yml`` scraping the exporter (instance label dropped) with the given rules."""
    lines = [
        "global:",
        f"  scrape_interval: {scrape_interval}",
        f"  evaluation_interval: {evaluation_interval}",
    ]
    if rule_files:
        lines.append("rule_files:")
        lines += [f"  - {f}" for f in rule_files]
    if alertmanager:
        lines += [
            "alerting:",
            "  alertmanagers:",
            f"    - static_configs: [{{targets: ['{alertmanager}']}}]",
        ]
    if target:
        lines += [
            "scrape_configs:",
            f"  - job_name: {JOB}",
            "    honor_labels: true",
            f"    static_configs: [{{targets: ['{target}']}}]",
            "    metric_relabel_configs: [{action: labeldrop, regex: instance}]",
        ]
    return "\n".join(lines) + "\n"


@dataclass
class Fleet:
    """A running fleet: services, their exporter and a Prometheus holding their history."""

    services: list[Service]
    exporter: Exporter
    prometheus: PrometheusServer
    workdir: Path
    history_end: int
    samples: int

    @property
    def url(self) -> str:
        return self.prometheus.url


@contextmanager
def running_fleet(
    services: Sequence[Service],
    *,
    history_seconds: int,
    step: int = 60,
    rule_files: Sequence[Path] = (),
    evaluation_interval: str = "1m",
    scrape_interval: str = "15s",
    alertmanager: str | None = None,
    base_dir: Path | None = None,
    before_start: Callable[[Path], None] | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[Fleet]:
    """Backfill ``history_seconds`` up to now, start the exporter and a Prometheus scraping it
    (with ``rule_files`` copied into its work dir)."""
    workdir = Path(tempfile.mkdtemp(prefix="sloguard-bench-", dir=base_dir))
    exporter: Exporter | None = None
    server: PrometheusServer | None = None
    try:
        now = int(time.time())
        end = now // step * step
        start = end - history_seconds
        samples = backfill(services, workdir / "data", start, end, step=step)
        if before_start is not None:
            before_start(workdir / "data")
        exporter = Exporter(services)
        names = []
        for f in rule_files:
            shutil.copy(f, workdir / f.name)
            names.append(f.name)
        config = prometheus_config(
            exporter.target,
            scrape_interval=scrape_interval,
            evaluation_interval=evaluation_interval,
            rule_files=names,
            alertmanager=alertmanager,
        )
        server = start_prometheus(
            workdir / "data",
            workdir,
            owns_workdir=False,
            config_text=config,
            ready_timeout=300,
            extra_args=extra_args,
        )
        yield Fleet(list(services), exporter, server, workdir, end, samples)
    finally:
        if server is not None:
            server.stop()
        if exporter is not None:
            exporter.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def value(url: str, expr: str) -> float:
    """The single value of ``expr`` now (0 when empty)."""
    query = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=60) as resp:
        result = json.load(resp)["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def wait_for(url: str, expr: str, want: float, timeout: float) -> float:
    """Poll ``expr`` (one value) until it reaches ``want``; returns the seconds waited."""
    started = time.monotonic()
    while True:
        got = value(url, expr)
        if got >= want:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{expr} = {got}, wanted {want}, after {timeout:.0f}s")
        time.sleep(2)
