"""The supervisor on a virtual clock: ticks, overlap, jitter, delivery, reload, stop.

The Daemon here is a fake with the behaviour the real one has at its edges (slow ticks,
failing ticks, slow deliveries, and the metrics a tick and a delivery pass report); what is
under test is the scheduling around it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness.clock import VirtualClock
from sloguard.app import serve
from sloguard.burn import WindowReading, evaluate, failed
from sloguard.errors import ConfigError, Location, Problem
from sloguard.filewatch import fingerprint
from sloguard.lifecycle import EpisodeState, Phase
from sloguard.metrics import Metrics
from sloguard.model import SLO, RatioIndicator, Severity
from sloguard.server import Readiness
from sloguard.sink import FastOutcome, MetricsSink, NoMetrics, NotificationOutcome, TickOutcome
from sloguard.status import Shown
from sloguard.supervisor import Daemon, Supervisor, SupervisorOptions
from sloguard.tick import SloReport, TickReport, tick_outcome

SLO_A = SLO(
    name="checkout-availability",
    service="checkout",
    objective_percent=99.9,
    period_seconds=30 * 86400,
    indicator=RatioIndicator("e", "t"),
)


@dataclass
class World:
    """What the fake runtimes saw and how they should behave."""

    clock: VirtualClock
    ticks: list[tuple[float, int]] = field(default_factory=list)  # (at, generation)
    tick_started: list[float] = field(default_factory=list)  # monotonic
    cancelled_ticks: int = 0
    delivers: list[float] = field(default_factory=list)  # monotonic
    closed: list[int] = field(default_factory=list)
    loads: int = 0
    tick_seconds: float = 0.0
    tick_raises: bool = False
    prometheus_down: bool = False
    deliver_seconds: float = 0.0
    pending: int = 0
    next_due: float | None = None
    fast_path_slos: int = 0  # what each tick reports: SLOs on the fast path after it
    fast_ticks: list[float] = field(default_factory=list)  # monotonic starts of fast ticks
    fast_tick_seconds: float = 0.0
    fast_crosses: bool = True  # False: fast ticks find no tripwire crossed
    metrics: MetricsSink = field(default_factory=NoMetrics)  # where ticks and passes report


class FakeDaemon:
    def __init__(self, world: World, generation: int, cfg: dict[str, float], path: Path) -> None:
        self.world = world
        self.generation = generation
        self.shown = Shown()
        self.interval_seconds = float(cfg["interval"])
        self.fast_interval_seconds = float(cfg.get("fast", 0.0))
        self.jitter_ratio = float(cfg.get("jitter", 0.0))
        self.watched_paths = [path]
        self.http_listen = "127.0.0.1:0"
        self.integrations = ["pagerduty"]

    async def run_tick(self, at: float, *, fast: bool = False) -> TickReport:
        w = self.world
        started = w.clock.monotonic()
        (w.fast_ticks if fast else w.tick_started).append(started)
        try:
            await w.clock.sleep(w.fast_tick_seconds if fast else w.tick_seconds)
        except asyncio.CancelledError:
            w.cancelled_ticks += 1
            raise
        if w.tick_raises:
            raise RuntimeError("engine bug")
        up = not w.prometheus_down
        if fast and not w.fast_crosses:
            below = FastOutcome.BELOW if up else FastOutcome.FAILURE
            w.metrics.observe_fast_path(below, w.fast_path_slos)
            return TickReport(at=at, slos=(), fast=True, fast_path_slos=w.fast_path_slos)
        w.ticks.append((at, self.generation))
        if w.prometheus_down:
            ev = failed(SLO_A, at, "Prometheus unreachable")
        else:
            ratio = 0.02  # burn 20: SEV1
            ev = evaluate(
                SLO_A,
                {s: WindowReading(ratio, 1e4) for s in SLO_A.window_seconds},
                WindowReading(0.0005, 1e6),
                at,
            )
        w.pending += 1
        # What the real tick reports (sloguard.tick.Tick.run), from the same parts.
        episode = EpisodeState(
            slo=SLO_A.name, phase=Phase.FIRING, severity=ev.severity, peak=Severity.SEV1
        )
        self.shown.update(
            at, [ev], {SLO_A.name: SLO_A}, prometheus_up=up, open_states=[episode], fast=fast
        )
        outcome = tick_outcome([ev])
        if fast:
            crossed = FastOutcome.CROSSED if outcome.successful else FastOutcome.FAILURE
            w.metrics.observe_fast_path(crossed, w.fast_path_slos)
        else:
            w.metrics.observe_fast_path(None, w.fast_path_slos)
            duration = w.clock.monotonic() - started
            w.metrics.observe_tick(duration, outcome, at=w.clock.now())
        self.shown.publish(w.metrics)
        w.metrics.set_outbox(w.pending, 0)
        one = SloReport(SLO_A.name, ev.severity, Phase.FIRING, "ep", (), 1)
        return TickReport(
            at=at,
            slos=(one,),
            evaluations=(ev,),
            fast=fast,
            outcome=outcome,
            fast_path_slos=w.fast_path_slos,
        )

    async def deliver(self) -> float | None:
        w = self.world
        w.delivers.append(w.clock.monotonic())
        await w.clock.sleep(w.deliver_seconds)
        sent, w.pending = w.pending, 0
        if sent:
            w.metrics.count_notification("pagerduty", NotificationOutcome.SENT, sent)
        w.metrics.set_outbox(0, 0)
        return w.next_due

    def status(self) -> dict[str, Any]:
        return self.shown.status()

    def gate(self, query: Mapping[str, Sequence[str]]) -> tuple[int, dict[str, Any]]:
        return self.shown.gate(query)

    async def aclose(self) -> None:
        self.world.closed.append(self.generation)


def make_loader(world: World, path: Path) -> Callable[[Daemon | None], Awaitable[Daemon]]:
    async def loader(previous: Daemon | None) -> Daemon:
        world.loads += 1
        text = path.read_text()
        cfg = json.loads(text)
        if not isinstance(cfg.get("interval"), int | float) or cfg["interval"] <= 0:
            col = text.find('"interval"') + 1
            raise ConfigError(
                Problem(Location(str(path), 1, col), "interval: must be a number of seconds > 0")
            )
        return FakeDaemon(world, world.loads, cfg, path)

    return loader


@dataclass
class Harness:
    world: World
    clock: VirtualClock
    daemon: Supervisor
    metrics: Metrics
    readiness: Readiness
    config: Path

    def write(self, **cfg: object) -> None:
        self.config.write_text(json.dumps(cfg))
        # Make sure the change is visible even within one mtime tick of the filesystem.
        st = self.config.stat()
        os.utime(self.config, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    def sample(self, name: str, **labels: str) -> float | None:
        for family in text_string_to_metric_families(self.metrics.render().decode()):
            for s in family.samples:
                if s.name == name and s.labels == labels:
                    return s.value
        return None


def run(
    tmp_path: Path,
    scenario: Callable[[Harness], Awaitable[None]],
    *,
    interval: float = 30,
    jitter: float = 0.0,
    fast: float = 0.0,
    options: SupervisorOptions | None = None,
    seed: int = 1,
) -> Harness:
    config = tmp_path / "sloguard.json"
    config.write_text(json.dumps({"interval": interval, "jitter": jitter, "fast": fast}))
    holder: list[Harness] = []

    async def main() -> None:
        clock = VirtualClock()
        metrics = Metrics()
        world = World(clock, metrics=metrics)
        readiness = Readiness(clock, interval_seconds=interval)
        daemon = Supervisor(
            make_loader(world, config),
            clock=clock,
            metrics=metrics,
            readiness=readiness,
            options=options
            or SupervisorOptions(watch_interval_seconds=5, shutdown_timeout_seconds=8),
            rng=random.Random(seed),
        )
        h = Harness(world, clock, daemon, metrics, readiness, config)
        holder.append(h)
        task = asyncio.create_task(daemon.run())
        try:
            await scenario(h)
        finally:
            daemon.request_stop()
            await clock.advance(60)  # enough virtual time for any shutdown path
            await asyncio.wait_for(task, 5)

    asyncio.run(main())
    return holder[0]


def gaps(values: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(values)]


def test_ticks_every_interval_at_one_pinned_instant(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        await h.clock.advance(95)
        ats = [at for at, _ in h.world.ticks]
        assert gaps(ats) == [30.0, 30.0, 30.0]  # ticks at 0, 30, 60, 90
        assert ats[0] == h.clock.now() - 95

    run(tmp_path, scenario)


def test_a_slow_tick_is_never_overlapped_and_the_skip_is_counted(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.world.tick_seconds = 45  # longer than the 30 s interval
        await h.clock.advance(125)
        # due at 0, 30 (busy: skip), 60, 90 (busy: skip), 120: starts at 0, 60, 120
        assert h.world.tick_started == [0.0, 60.0, 120.0]
        assert h.daemon.ticks_skipped == 2
        assert h.sample("sloguard_evaluations_total", outcome="skipped") == 2.0
        assert h.sample("sloguard_evaluations_total", outcome="success") == 2.0
        assert h.sample("sloguard_evaluation_duration_seconds_sum") == pytest.approx(90.0)

    run(tmp_path, scenario)


def test_fast_ticks_run_between_regular_ticks_only_while_slos_approach(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        await h.clock.advance(31)  # regular ticks at 0 and 30, nothing approaching
        assert h.world.fast_ticks == []
        h.world.fast_path_slos = 1  # the next tick finds an SLO about to page
        await h.clock.advance(60 - 31 + 11)  # to 71: regular at 60, fast at 65 and 70
        assert h.world.tick_started == [0.0, 30.0, 60.0]
        assert h.world.fast_ticks == [65.0, 70.0]
        await h.clock.advance(20)  # to 91: fast at 75, 80, 85; regular at 90
        assert h.world.fast_ticks == [65.0, 70.0, 75.0, 80.0, 85.0]
        assert h.world.tick_started[-1] == 90.0
        h.world.fast_path_slos = 0  # it paged or calmed down: back to the regular schedule
        await h.clock.advance(5)  # the fast tick at 95 reports nothing left
        await h.clock.advance(40)
        assert h.world.fast_ticks == [65.0, 70.0, 75.0, 80.0, 85.0, 95.0]
        assert h.world.tick_started == [0.0, 30.0, 60.0, 90.0, 120.0]
        assert h.daemon.ticks_skipped == 0
        assert h.sample("sloguard_fast_path_probes_total", outcome="crossed") == 6.0
        assert h.sample("sloguard_fast_path_slos") == 0.0
        # Fast ticks are not regular ticks: those counters only see the regular ones.
        assert h.sample("sloguard_evaluations_total", outcome="success") == 5.0

    run(tmp_path, scenario, fast=5)


def test_a_regular_tick_due_during_a_fast_tick_waits_for_it(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.world.fast_path_slos = 1
        h.world.fast_tick_seconds = 4  # fast ticks start every 7 s: at 28 one runs until 32
        await h.clock.advance(33)
        assert h.world.fast_ticks == [7.0, 14.0, 21.0, 28.0]
        assert h.world.tick_started == [0.0, 32.0]  # due at 30, waited, not skipped
        assert h.daemon.ticks_skipped == 0

    run(tmp_path, scenario, fast=7)


def test_a_probe_that_finds_nothing_changes_nothing_but_its_counter(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.world.fast_path_slos = 1
        h.world.fast_crosses = False
        await h.clock.advance(1)  # the regular tick at 0
        before = h.daemon.snapshot()
        pending = h.sample("sloguard_outbox_pending")
        await h.clock.advance(10)  # probes at 5 and 10
        assert h.world.fast_ticks == [5.0, 10.0]
        assert h.sample("sloguard_fast_path_probes_total", outcome="below") == 2.0
        assert h.sample("sloguard_fast_path_probes_total", outcome="crossed") == 0.0
        assert h.sample("sloguard_fast_path_slos") == 1.0
        assert h.daemon.snapshot() == before
        assert h.sample("sloguard_outbox_pending") == pending
        h.world.prometheus_down = True
        await h.clock.advance(5)
        assert h.sample("sloguard_fast_path_probes_total", outcome="failure") == 1.0

    run(tmp_path, scenario, fast=5)


def test_the_status_api_keeps_every_slo_after_a_fast_tick(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.world.fast_path_slos = 1
        await h.clock.advance(6)  # the regular tick at 0, a fast one at 5
        assert h.world.fast_ticks == [5.0]
        snap = h.daemon.snapshot()
        assert snap["evaluated_at"] == h.world.ticks[0][0]  # the regular tick's instant
        assert [s["slo"] for s in snap["slos"]] == [SLO_A.name]

    run(tmp_path, scenario, fast=5)


def test_jitter_spreads_ticks_within_bounds(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        await h.clock.advance(30 * 40)
        spaced = gaps(h.world.tick_started)
        assert len(spaced) >= 35
        assert all(27.0 <= g <= 33.0 for g in spaced)
        assert len(set(spaced)) > 10  # actually spread, not a fixed offset

    run(tmp_path, scenario, jitter=0.1)


def test_metrics_and_readiness_follow_the_ticks(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.world.tick_seconds = 0.5
        await h.clock.settle()  # configuration loaded, first tick running
        assert h.readiness.check() == (False, "no successful evaluation yet")
        await h.clock.advance(1)
        assert h.readiness.check() == (True, "ok")
        labels = {"slo": SLO_A.name, "service": "checkout"}
        assert h.sample("sloguard_slo_severity", **labels) == 3.0
        assert h.sample("sloguard_prometheus_up") == 1.0
        assert h.sample("sloguard_open_episodes", severity="SEV1") == 1.0
        assert (
            h.sample("sloguard_last_successful_evaluation_timestamp_seconds") == h.clock.now() - 0.5
        )
        assert h.sample("sloguard_config_reload_success") == 1.0
        # The delivery loop ran after the tick and drained what it queued.
        assert (
            h.sample("sloguard_notifications_total", integration="pagerduty", outcome="sent") == 1
        )
        assert h.sample("sloguard_outbox_pending") == 0.0
        snap = h.daemon.snapshot()
        assert snap["slos"][0]["severity"] == "SEV1"
        assert snap["slos"][0]["service"] == "checkout"
        assert [(e["slo"], e["phase"]) for e in snap["episodes"]] == [(SLO_A.name, "firing")]

        h.world.prometheus_down = True
        await h.clock.advance(30)
        assert h.sample("sloguard_prometheus_up") == 0.0
        assert h.sample("sloguard_slo_no_data", **labels) == 1.0
        assert h.sample("sloguard_evaluations_total", outcome="failure") == 1.0
        await h.clock.advance(61)  # 3 intervals + 1 s since the last good tick
        assert h.readiness.check()[0] is False
        h.world.prometheus_down = False
        await h.clock.advance(30)
        assert h.readiness.check() == (True, "ok")

    run(tmp_path, scenario)


def test_a_tick_that_raises_is_counted_and_the_loop_carries_on(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.world.tick_raises = True
        await h.clock.advance(31)
        assert h.sample("sloguard_evaluations_total", outcome="failure") == 2.0
        h.world.tick_raises = False
        await h.clock.advance(30)
        assert len(h.world.ticks) == 1

    run(tmp_path, scenario)


def test_delivery_retries_fall_due_between_ticks(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.world.next_due = 7
        await h.clock.advance(22)
        # At start (what a previous run left), after the tick, then as each retry falls due.
        assert h.world.delivers == [0.0, 0.0, 7.0, 14.0, 21.0]
        h.world.next_due = None
        await h.clock.advance(100)
        assert h.world.delivers[5:] == [28.0, 58.0, 88.0, 118.0]  # idle: polled every 30 s

    run(tmp_path, scenario, interval=1000, options=SupervisorOptions(max_delivery_wait_seconds=30))


def test_file_change_reloads_and_the_new_interval_applies(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        await h.clock.advance(1)
        h.write(interval=10)
        await h.clock.advance(5)  # the watcher polls every 5 s
        assert h.world.loads == 2
        assert h.world.closed == [1]  # the old daemon was closed
        await h.clock.advance(100)
        generations = [g for _, g in h.world.ticks]
        assert generations[0] == 1
        assert set(generations[1:]) == {2}
        assert gaps([at for at, g in h.world.ticks if g == 2])[1:] == [10.0] * (
            len([1 for _, g in h.world.ticks if g == 2]) - 2
        )
        assert h.sample("sloguard_config_reloads_total", outcome="success") == 2.0

    run(tmp_path, scenario)


def test_an_invalid_config_is_rejected_with_located_errors_and_the_old_one_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(h: Harness) -> None:
        await h.clock.advance(1)
        h.write(interval="soon")
        with caplog.at_level(logging.ERROR, logger="sloguard.supervisor"):
            await h.clock.advance(30)
        assert h.sample("sloguard_config_reload_success") == 0.0
        assert f"{h.config}:1:2: error: interval: must be a number of seconds > 0" in caplog.text
        assert "previous configuration keeps running" in caplog.text
        assert {g for _, g in h.world.ticks} == {1}  # still the first daemon, still ticking
        assert len(h.world.ticks) == 2
        assert h.world.closed == []
        await h.clock.advance(30)
        assert h.world.loads == 2  # a bad file is reported once, not on every poll
        h.write(interval=30)
        await h.clock.advance(5)
        assert h.sample("sloguard_config_reload_success") == 1.0
        assert h.world.loads == 3

    run(tmp_path, scenario)


def test_sighup_reloads_without_a_file_change(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        await h.clock.advance(1)
        h.daemon.request_reload()
        await h.clock.settle()
        assert h.world.loads == 2

    run(tmp_path, scenario)


def test_stop_cancels_the_tick_and_finishes_the_delivery_in_flight(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.world.deliver_seconds = 3
        await h.clock.advance(0.5)  # first tick done, its delivery pass is in flight
        h.world.tick_seconds = 20
        await h.clock.advance(30)  # second tick now running (until 50)
        delivers_before = len(h.world.delivers)
        h.daemon.request_stop()
        await h.clock.advance(10)
        assert h.world.cancelled_ticks == 1
        assert len(h.world.delivers) == delivers_before + 1  # one last pass, then out
        assert h.world.closed == [1]
        assert h.readiness.check() == (False, "shutting down")

    run(tmp_path, scenario)


def test_a_hanging_delivery_does_not_hold_the_stop_beyond_the_timeout(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.world.deliver_seconds = 10_000
        await h.clock.advance(1)
        h.daemon.request_stop()
        await h.clock.advance(7.9)
        assert h.world.closed == []  # still waiting for the delivery
        await h.clock.advance(0.2)
        assert h.world.closed == [1]

    run(tmp_path, scenario)


def _configmap(root: Path, version: str, content: str) -> None:
    """Lay out a directory as the kubelet does: files behind ``..data`` -> ``..<version>``."""
    real = root / f"..{version}"
    real.mkdir()
    (real / "slo.yaml").write_text(content)
    tmp = root / "..data_tmp"
    tmp.symlink_to(real.name)
    os.replace(tmp, root / "..data")  # the atomic swap
    link = root / "slo.yaml"
    if not link.is_symlink():
        link.symlink_to("..data/slo.yaml")


def test_fingerprint_sees_a_configmap_symlink_swap(tmp_path: Path) -> None:
    root = tmp_path / "slos"
    root.mkdir()
    _configmap(root, "2026_11_28_10_00_00.1", "same: content\n")
    before = fingerprint([root])
    assert sorted(Path(e[0]).name for e in before) == ["slo.yaml", "slos"]  # no ..data twice
    _configmap(root, "2026_11_28_10_05_00.2", "same: content\n")  # same size, new files
    after = fingerprint([root])
    assert after != before
    assert fingerprint([root]) == after  # stable when nothing changes


def test_fingerprint_sees_added_removed_and_missing_files(tmp_path: Path) -> None:
    d = tmp_path / "slos"
    d.mkdir()
    (d / "a.yaml").write_text("x")
    one = fingerprint([d])
    (d / "b.yml").write_text("y")
    two = fingerprint([d])
    (d / "notes.txt").write_text("ignored")
    assert fingerprint([d]) == two or {e[0] for e in fingerprint([d])} == {e[0] for e in two}
    (d / "a.yaml").unlink()
    three = fingerprint([d])
    assert len({one, two, three}) == 3
    gone = fingerprint([tmp_path / "nope.yaml"])
    assert gone == ((str(tmp_path / "nope.yaml"), "", -1, -1, -1),)


@pytest.mark.parametrize(
    ("errors", "outcome"),
    [
        pytest.param([], TickOutcome.SUCCESS, id="no-slos"),
        pytest.param(["", ""], TickOutcome.SUCCESS, id="all-ok"),
        pytest.param(["", "timeout"], TickOutcome.PARTIAL, id="one-failed"),
        pytest.param(["down", "down"], TickOutcome.FAILURE, id="all-failed"),
    ],
)
def test_tick_outcome(errors: list[str], outcome: TickOutcome) -> None:
    evs = [failed(SLO_A, 0.0, e) if e else evaluate(SLO_A, {}, None, 0.0) for e in errors]
    assert tick_outcome(evs) is outcome


def test_serve_exposes_the_supervisor_over_http(tmp_path: Path) -> None:
    """serve(): first load, bind, tick, and the endpoints show it; stop closes the port."""
    config = tmp_path / "sloguard.json"
    config.write_text(json.dumps({"interval": 30}))

    async def fetch(port: int, path: str) -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        raw = await asyncio.wait_for(reader.read(), 2)
        writer.close()
        await writer.wait_closed()
        head, _, body = raw.partition(b"\r\n\r\n")
        return int(head.split(b" ")[1]), body

    async def main() -> None:
        clock = VirtualClock()
        metrics = Metrics()
        world = World(clock, metrics=metrics)
        world.tick_seconds = 1
        started: list[tuple[Supervisor, tuple[str, int]]] = []
        task = asyncio.create_task(
            serve(
                make_loader(world, config),
                clock=clock,
                metrics=metrics,
                install_signals=False,
                on_started=lambda sup, addr: started.append((sup, addr)),
            )
        )
        await clock.settle()
        supervisor, (_, port) = started[0]
        status, body = await fetch(port, "/readyz")
        assert (status, json.loads(body)["reason"]) == (503, "no successful evaluation yet")
        await clock.advance(2)
        assert (await fetch(port, "/readyz"))[0] == 200
        status, body = await fetch(port, "/api/v1/slos")
        assert json.loads(body)["slos"][0]["severity"] == "SEV1"
        status, body = await fetch(port, "/metrics")
        assert b'sloguard_slo_severity{service="checkout",slo="checkout-availability"} 3.0' in body
        supervisor.request_stop()
        await clock.advance(10)
        await asyncio.wait_for(task, 2)
        assert world.closed == [1]
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)

    asyncio.run(main())


def test_serve_reports_a_port_in_use_as_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "sloguard.json"
    config.write_text(json.dumps({"interval": 30}))

    async def main() -> None:
        blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = blocker.sockets[0].getsockname()[1]
        world = World(VirtualClock())

        async def loader(previous: Daemon | None) -> Daemon:
            daemon = FakeDaemon(world, 1, {"interval": 30}, config)
            daemon.http_listen = f"127.0.0.1:{port}"
            return daemon

        try:
            with pytest.raises(ConfigError, match="cannot listen"):
                await serve(loader, clock=world.clock, install_signals=False)
        finally:
            blocker.close()
            await blocker.wait_closed()
        assert world.closed == [1]

    asyncio.run(main())
