"""A real Prometheus filled with a synthetic scenario, for tests, the demo and benchmarks.

A :class:`Scenario` describes services in Python (traffic per second, a baseline error ratio,
an optional latency histogram, and events: outages, burns, slowdowns, traffic drops).
:meth:`Scenario.generate` turns it into cumulative counter samples; :func:`serve` writes them as
OpenMetrics text (one file per 2h-aligned block, timestamps in seconds, ``# EOF``), backfills a
fresh TSDB with ``promtool tsdb create-blocks-from openmetrics`` and starts ``prometheus`` on a
kernel-chosen loopback port with no scrape jobs and a 100y retention, so old blocks stay.

The :class:`Generated` samples also answer the questions tests ask Prometheus, computed
independently from the increments: :meth:`Generated.error_ratio`, :meth:`Generated.latency_ratio`
(exact: with shared sample timestamps, ``rate()``'s extrapolation cancels in a ratio) and
:meth:`Generated.rate` (Prometheus 2.x's extrapolated rate, for event counts).

Counters start at a large offset, as on a server that has been up for a while: Prometheus
limits a counter's extrapolation to where it would reach zero, which for a counter starting
at 0 would break the exact cancellation.

Query at instants off the sample grid (e.g. ``scenario.at(offset) + 7``) when comparing with
these numbers: Prometheus 3 made the left edge of a range exclusive, 2.x includes it.
"""

from __future__ import annotations

import bisect
import math
import re
import shutil
import subprocess  # nosec B404
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from harness.process import ServerProcess
from sloguard.model import DEFAULT_TIERS, SLO, LatencyIndicator, RatioIndicator, Tier

BLOCK_SECONDS = 7200  # promtool writes 2h blocks aligned to multiples of 7200 s since the epoch
DEFAULT_START = 1704067200  # 2024-01-01T00:00:00Z, block-aligned
HOUR = 3600
DAY = 86400

Labels = tuple[tuple[str, str], ...]  # sorted (name, value) pairs, including __name__


# --------------------------------------------------------------------------- the scenario


@dataclass(frozen=True, slots=True)
class Event:
    """A change during ``[start, start + duration)`` (seconds from the scenario's start).

    Each field left None keeps the service's baseline for that quantity.
    """

    start_seconds: int
    duration_seconds: int
    error_ratio: float | None = None
    traffic_factor: float | None = None
    slow_ratio: float | None = None

    def active(self, offset: float) -> bool:
        return self.start_seconds <= offset < self.start_seconds + self.duration_seconds

    @property
    def end_seconds(self) -> int:
        return self.start_seconds + self.duration_seconds


def outage(start_seconds: int, duration_seconds: int = 20 * 60) -> Event:
    """Every request fails (a 100 % error ratio)."""
    return Event(start_seconds, duration_seconds, error_ratio=1.0)


def burn(
    start_seconds: int, duration_seconds: int, factor: float, objective_percent: float = 99.9
) -> Event:
    """Errors at ``factor`` times the budget of an SLO with ``objective_percent``."""
    return Event(
        start_seconds,
        duration_seconds,
        error_ratio=factor * (100.0 - objective_percent) / 100.0,
    )


def traffic_drop(start_seconds: int, duration_seconds: int) -> Event:
    """No requests at all: counters stay flat (the series still exist)."""
    return Event(start_seconds, duration_seconds, traffic_factor=0.0)


def slowdown(start_seconds: int, duration_seconds: int, slow_ratio: float) -> Event:
    """``slow_ratio`` of requests take longer than the service's latency threshold."""
    return Event(start_seconds, duration_seconds, slow_ratio=slow_ratio)


@dataclass(frozen=True, slots=True)
class Latency:
    """A request-duration histogram. Fast requests land at or below ``threshold_seconds``
    (split evenly over the buckets up to it), slow ones in the first bucket above it."""

    threshold_seconds: float = 0.25
    buckets: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
    slow_ratio: float = 0.001

    def __post_init__(self) -> None:
        if self.threshold_seconds not in self.buckets or self.threshold_seconds == max(
            self.buckets
        ):
            raise ValueError("threshold_seconds must be one of the buckets, not the largest")


@dataclass(frozen=True, slots=True)
class Service:
    """One service: ``http_requests_total{service=NAME, code="200"|"500"}`` and, with
    ``latency``, ``http_request_duration_seconds_*{service=NAME}``."""

    name: str
    rps: float = 100.0
    error_ratio: float = 0.0005
    events: tuple[Event, ...] = ()
    latency: Latency | None = None

    def state(self, offset: float) -> tuple[float, float, float]:
        """(requests per second, error ratio, slow ratio) at ``offset``; later events win."""
        rps, err = self.rps, self.error_ratio
        slow = self.latency.slow_ratio if self.latency else 0.0
        for ev in self.events:
            if ev.active(offset):
                rps = self.rps * ev.traffic_factor if ev.traffic_factor is not None else rps
                err = ev.error_ratio if ev.error_ratio is not None else err
                slow = ev.slow_ratio if ev.slow_ratio is not None else slow
        return rps, err, slow

    @property
    def peak_rps(self) -> float:
        factors = [e.traffic_factor for e in self.events if e.traffic_factor is not None]
        return self.rps * max([1.0, *factors])


@dataclass(frozen=True, slots=True)
class Scenario:
    """Services sampled every ``step_seconds`` from ``start`` for ``duration_seconds``.

    The sample at ``t`` carries the increments of ``(t - step, t]`` at the state in force at
    ``t - step``, so an event starting at offset S first shows in the sample at S + step.
    """

    services: tuple[Service, ...]
    duration_seconds: int
    step_seconds: int = 60
    start: int = DEFAULT_START
    job: str = "sloguard-test"
    requests_metric: str = "http_requests_total"
    latency_metric: str = "http_request_duration_seconds"

    def __post_init__(self) -> None:
        if self.duration_seconds % self.step_seconds:
            raise ValueError("duration_seconds must be a multiple of step_seconds")
        if self.start >= 10**11:
            raise ValueError("start is unix *seconds*; milliseconds would land in year 5000+")
        names = [s.name for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate service names in {names}")

    def at(self, offset_seconds: float) -> float:
        """The unix time ``offset_seconds`` after the scenario's start."""
        return self.start + offset_seconds

    @property
    def end(self) -> int:
        return self.start + self.duration_seconds

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def generate(self) -> Generated:
        return _generate(self)


# --------------------------------------------------------------------------- generation


def _labels(name: str, **labels: str) -> Labels:
    return tuple(sorted({"__name__": name, **labels}.items()))


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def _generate(sc: Scenario) -> Generated:
    n = sc.duration_seconds // sc.step_seconds
    times = [sc.start + i * sc.step_seconds for i in range(n + 1)]
    series: dict[Labels, list[float]] = {}
    families: dict[Labels, str] = {}
    for svc in sc.services:
        # A server that has been up for a while: every counter starts well above the increments
        # of one step, so Prometheus's extrapolation-to-zero never applies (see module doc).
        base = max(1000.0, svc.peak_rps * sc.step_seconds * 100)
        ok = [base]
        bad = [base]
        hist = svc.latency
        bounds = [*hist.buckets, math.inf] if hist else []
        buckets: list[list[float]] = [[base] for _ in bounds]
        count = [base]
        total_sum = [base]
        for i in range(1, n + 1):
            rps, err, slow = svc.state((i - 1) * sc.step_seconds)
            requests = rps * sc.step_seconds
            ok.append(ok[-1] + requests * (1.0 - err))
            bad.append(bad[-1] + requests * err)
            if hist:
                fast_bounds = [b for b in hist.buckets if b <= hist.threshold_seconds]
                slow_bound = min(b for b in hist.buckets if b > hist.threshold_seconds)
                fast_each = requests * (1.0 - slow) / len(fast_bounds)
                slow_n = requests * slow
                for j, b in enumerate(bounds):
                    inc = fast_each * sum(1 for fb in fast_bounds if fb <= b)
                    inc += slow_n if b >= slow_bound else 0.0
                    buckets[j].append(buckets[j][-1] + inc)
                count.append(count[-1] + requests)
                total_sum.append(total_sum[-1] + fast_each * sum(fast_bounds) + slow_n * slow_bound)
        common = {"job": sc.job, "service": svc.name}
        for code, values in (("200", ok), ("500", bad)):
            key = _labels(sc.requests_metric, code=code, **common)
            series[key] = values
            families[key] = sc.requests_metric
        if hist:
            m = sc.latency_metric
            for b, values in zip(bounds, buckets, strict=True):
                series[_labels(f"{m}_bucket", le=_le(b), **common)] = values
            series[_labels(f"{m}_count", **common)] = count
            series[_labels(f"{m}_sum", **common)] = total_sum
            for key in series:
                if dict(key)["__name__"].startswith(m):
                    families[key] = m
    return Generated(sc, times, series, families)


@dataclass(slots=True)
class Generated:
    """The samples of a scenario, and the exact answers Prometheus should give about them."""

    scenario: Scenario
    times: list[int]
    series: dict[Labels, list[float]]
    families: dict[Labels, str] = field(default_factory=dict)

    # ---- OpenMetrics text ----

    def openmetrics(self, lo: int, hi: int) -> str:
        """All samples with ``lo <= t < hi`` as OpenMetrics text (seconds, ``# EOF``)."""
        idx = [i for i, t in enumerate(self.times) if lo <= t < hi]
        out: list[str] = []
        by_family: dict[str, list[Labels]] = {}
        for key in self.series:
            by_family.setdefault(self.families[key], []).append(key)
        for family, keys in by_family.items():
            is_hist = family == self.scenario.latency_metric
            name = family.removesuffix("_total")
            out.append(f"# HELP {name} Synthetic {name} from a sloguard test scenario.")
            out.append(f"# TYPE {name} {'histogram' if is_hist else 'counter'}")
            # Time-major inside a family: a histogram's samples at one instant stay together,
            # and every series is still in increasing time order.
            for i in idx:
                t = self.times[i]
                for key in keys:
                    out.append(f"{_render(key)} {self.series[key][i]!r} {t}")
        out.append("# EOF")
        return "\n".join(out) + "\n"

    def block_files(self, directory: Path) -> list[Path]:
        """One OpenMetrics file per 2h-aligned block with samples (promtool re-reads a file per
        block, and each run costs tens of milliseconds even for an empty one)."""
        paths = []
        for lo in sorted({t // BLOCK_SECONDS * BLOCK_SECONDS for t in self.times}):
            path = directory / f"block-{lo}.om"
            path.write_text(self.openmetrics(lo, lo + BLOCK_SECONDS), encoding="utf-8")
            paths.append(path)
        return paths

    # ---- the independent computation ----

    def _window(self, window_seconds: float, at: float) -> tuple[int, int] | None:
        """First and last sample index inside ``[at - window, at]`` (2.x: both ends inclusive)."""
        first = bisect.bisect_left(self.times, at - window_seconds)
        last = bisect.bisect_right(self.times, at) - 1
        if last - first < 1:
            return None
        return first, last

    def _selected(
        self, where: Callable[[Mapping[str, str]], bool], window_seconds: float, at: float
    ) -> tuple[int, int, list[list[float]]] | None:
        """The window's first and last sample index and the chosen series' values; None when
        the window holds fewer than two samples or no series matches."""
        span = self._window(window_seconds, at)
        chosen = [v for k, v in self.series.items() if where(dict(k))]
        if span is None or not chosen:
            return None
        return (*span, chosen)

    def increase(
        self, where: Callable[[Mapping[str, str]], bool], window_seconds: float, at: float
    ) -> float | None:
        """Exact sum of increments between the first and last sample in the window."""
        selected = self._selected(where, window_seconds, at)
        if selected is None:
            return None
        a, b, chosen = selected
        return sum(v[b] - v[a] for v in chosen)

    def rate(
        self, where: Callable[[Mapping[str, str]], bool], window_seconds: float, at: float
    ) -> float | None:
        """``sum(rate(x[window]))`` as Prometheus 2.x computes it (with extrapolation)."""
        selected = self._selected(where, window_seconds, at)
        if selected is None:
            return None
        a, b, chosen = selected
        t0, t1 = self.times[a], self.times[b]
        sampled = float(t1 - t0)
        avg = sampled / (b - a)
        total = 0.0
        for v in chosen:
            delta = v[b] - v[a]
            to_start = t0 - (at - window_seconds)
            to_end = at - t1
            if delta > 0 and v[a] >= 0:
                to_start = min(to_start, sampled * (v[a] / delta))
            interval = sampled
            interval += to_start if to_start < avg * 1.1 else avg / 2
            interval += to_end if to_end < avg * 1.1 else avg / 2
            total += delta * (interval / sampled) / window_seconds
        return total

    def _svc(self, service: str, name: str) -> Callable[[Mapping[str, str]], bool]:
        return lambda lab: lab["__name__"] == name and lab.get("service") == service

    def error_ratio(self, service: str, window_seconds: float, at: float) -> float | None:
        """Exact 5xx ratio of ``service`` over the window; None without samples or traffic."""
        m = self.scenario.requests_metric
        errors = self.increase(
            lambda lab: self._svc(service, m)(lab) and lab["code"].startswith("5"),
            window_seconds,
            at,
        )
        total = self.increase(self._svc(service, m), window_seconds, at)
        if errors is None or not total:
            return None
        return errors / total

    def latency_ratio(
        self, service: str, threshold_seconds: float, window_seconds: float, at: float
    ) -> float | None:
        """Exact share of requests slower than ``threshold_seconds`` over the window."""
        m = self.scenario.latency_metric
        le = _le(threshold_seconds)
        count = self.increase(self._svc(service, f"{m}_count"), window_seconds, at)
        good = self.increase(
            lambda lab: self._svc(service, f"{m}_bucket")(lab) and lab["le"] == le,
            window_seconds,
            at,
        )
        if count is None or good is None or not count:
            return None
        return (count - good) / count

    def request_rate(self, service: str, window_seconds: float, at: float) -> float | None:
        """``sum(rate(http_requests_total{service=...}[window]))`` as Prometheus 2.x gives it."""
        return self.rate(self._svc(service, self.scenario.requests_metric), window_seconds, at)


def _render(key: Labels) -> str:
    name = dict(key)["__name__"]
    inner = ",".join(f'{k}="{v}"' for k, v in key if k != "__name__")
    return f"{name}{{{inner}}}"


# --------------------------------------------------------------------------- SLOs for scenarios


def requests_selector(scenario: Scenario, service: str, extra: str = "") -> str:
    parts = [f'job="{scenario.job}"', f'service="{service}"', *([extra] if extra else [])]
    return f"{scenario.requests_metric}{{{','.join(parts)}}}"


def availability_slo(
    scenario: Scenario,
    service: str,
    *,
    objective_percent: float = 99.9,
    period_seconds: int = 30 * DAY,
    tiers: tuple[Tier, ...] = DEFAULT_TIERS,
    name: str | None = None,
    min_events: float = 0.0,
) -> SLO:
    """A ratio SLO on ``service``'s 5xx responses, as an SRE would write it."""
    errors = requests_selector(scenario, service, 'code=~"5.."')
    total = requests_selector(scenario, service)
    return SLO(
        name=name or f"{service}-availability",
        service=service,
        objective_percent=objective_percent,
        period_seconds=period_seconds,
        indicator=RatioIndicator(
            errors=f"sum(rate({errors}[{{{{.window}}}}]))",
            total=f"sum(rate({total}[{{{{.window}}}}]))",
        ),
        tiers=tiers,
        min_events=min_events,
    )


def latency_slo(
    scenario: Scenario,
    service: str,
    *,
    threshold_seconds: float | None = None,
    objective_percent: float = 99.0,
    period_seconds: int = 30 * DAY,
    name: str | None = None,
) -> SLO:
    """A latency SLO on ``service``'s histogram (default threshold: the service's own)."""
    hist = scenario.service(service).latency
    if threshold_seconds is None:
        if hist is None:
            raise ValueError(f"service {service!r} has no latency histogram")
        threshold_seconds = hist.threshold_seconds
    return SLO(
        name=name or f"{service}-latency",
        service=service,
        objective_percent=objective_percent,
        period_seconds=period_seconds,
        indicator=LatencyIndicator(
            histogram=scenario.latency_metric,
            threshold_seconds=threshold_seconds,
            selector=f'{{job="{scenario.job}",service="{service}"}}',
        ),
    )


# --------------------------------------------------------------------------- the server


class PrometheusError(RuntimeError):
    """The test Prometheus could not be built or started; the message has the log tail."""


@dataclass(slots=True)
class PrometheusServer(ServerProcess):
    """A running ``prometheus`` on 127.0.0.1; :meth:`stop` (SIGTERM, wait) when done, and its
    work directory removed when it owns it."""

    _owns_workdir: bool = True

    def stop(self, timeout: float = 20.0) -> None:
        ServerProcess.stop(self, timeout)
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def backfill(
    generated: Generated,
    data_dir: Path,
    *,
    promtool: str = "promtool",
    parallel: int = 2,
) -> int:
    """Write one OpenMetrics file per block and run promtool on each; returns the file count."""
    data_dir.mkdir(parents=True, exist_ok=True)
    text_dir = data_dir.parent / "openmetrics"
    text_dir.mkdir(parents=True, exist_ok=True)
    files = generated.block_files(text_dir)

    def one(path: Path) -> None:
        cmd = [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "-q",
            str(path),
            str(data_dir),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)  # nosec B603
        if done.returncode != 0:
            raise PrometheusError(
                f"promtool failed on {path.name} (exit {done.returncode}):\n"
                f"{done.stderr[-2000:]}{done.stdout[-2000:]}"
            )

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        list(pool.map(one, files))
    shutil.rmtree(text_dir, ignore_errors=True)
    return len(files)


_LISTENING = re.compile(r'msg="Listening on" address=127\.0\.0\.1:(\d+)')


def start_prometheus(
    data_dir: Path,
    workdir: Path,
    *,
    binary: str = "prometheus",
    ready_timeout: float = 30.0,
    extra_args: Sequence[str] = (),
    owns_workdir: bool = True,
    config_text: str = "global:\n  evaluation_interval: 15s\n",
) -> PrometheusServer:
    """Start ``prometheus`` on a kernel-chosen loopback port and wait for ``/-/ready``.

    ``config_text`` is the ``prometheus.yml`` (default: no scrape jobs, no rules); relative
    paths in it (rule files) resolve against ``workdir``.
    """
    config = workdir / "prometheus.yml"
    config.write_text(config_text, encoding="utf-8")
    log_path = workdir / "prometheus.log"
    log = log_path.open("wb")
    cmd = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={data_dir}",
        "--storage.tsdb.retention.time=100y",  # retention counts from the newest block, not now
        "--web.listen-address=127.0.0.1:0",
        *extra_args,
    ]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)  # nosec B603
    log.close()
    server = PrometheusServer("", proc, workdir, log_path, owns_workdir)
    deadline = time.monotonic() + ready_timeout
    try:
        port = None
        while port is None:
            if proc.poll() is not None:
                raise PrometheusError(
                    f"prometheus exited with {proc.returncode}:\n{server.log_tail()}"
                )
            found = _LISTENING.search(log_path.read_text(encoding="utf-8", errors="replace"))
            if found:
                port = int(found.group(1))
            elif time.monotonic() > deadline:
                raise PrometheusError(f"prometheus did not listen in time:\n{server.log_tail()}")
            else:
                time.sleep(0.02)
        server.url = f"http://127.0.0.1:{port}"
        while not _ready(server.url):
            if proc.poll() is not None:
                raise PrometheusError(
                    f"prometheus exited with {proc.returncode}:\n{server.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise PrometheusError(f"prometheus not ready in time:\n{server.log_tail()}")
            time.sleep(0.02)
    except BaseException:
        server.stop()
        raise
    return server


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as resp:  # noqa: S310 (loopback)  # nosec B310
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def serve(
    scenario: Scenario | Generated,
    *,
    base_dir: Path | None = None,
    parallel: int = 2,
) -> Iterator[PrometheusServer]:
    """Backfill a fresh TSDB with ``scenario`` and run Prometheus on it for the ``with`` block."""
    generated = scenario if isinstance(scenario, Generated) else scenario.generate()
    workdir = Path(tempfile.mkdtemp(prefix="sloguard-prom-", dir=base_dir))
    try:
        backfill(generated, workdir / "data", parallel=parallel)
        server = start_prometheus(workdir / "data", workdir, owns_workdir=False)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


__all__ = [
    "DAY",
    "DEFAULT_START",
    "HOUR",
    "Event",
    "Generated",
    "Latency",
    "PrometheusError",
    "PrometheusServer",
    "Scenario",
    "Service",
    "availability_slo",
    "backfill",
    "burn",
    "latency_slo",
    "outage",
    "requests_selector",
    "serve",
    "slowdown",
    "start_prometheus",
    "traffic_drop",
]
