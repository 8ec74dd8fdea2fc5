"""Fault injection against sloguard as a real subprocess: many episodes, seeded faults, counts.

A :class:`Plan` is a recorded scenario with ``rounds`` outages per service (each one episode:
declared about 3 minutes in, resolved after the quiet period) and the instants to evaluate.
:class:`Harness` drives ``sloguard run --once --at T`` through those instants, one real process
per tick against a real Prometheus (behind a :class:`~harness.faultproxy.FaultProxy`)
and the contract receivers, while a fault is injected:

=================  ==============================================================================
``none``           the baseline: nothing goes wrong
``sigkill``        each tick may be killed with SIGKILL after a seeded random delay, then
                   restarted at the same instant or the next one
``http-500``       receivers answer 500 to a few requests before a tick (``http-502`` likewise)
``http-429``       ... 429 without Retry-After (``http-429-retry-after``: with Retry-After: 1)
``timeout``        receivers hold a few requests longer than the attempt timeout
``reset``          receivers reset a few connections (TCP RST); ``drop``: close without answering
``receiver-down``  one receiver is down from a declaration to past its resolve (minutes)
``permanent-4xx``  an extra notifier whose key the receiver refuses (400): dead letters only
``prom-down``      Prometheus unreachable mid-episode, long enough to go stale, and while healthy
``prom-slow``      Prometheus answers after the client's timeout, same spans
``prom-garbage``   Prometheus answers 200 with bodies that are not a Prometheus answer
``receiver-mix``   any receiver fault above at each injection, plus the refused notifier
``prom-mix``       any Prometheus fault above at each faulty tick
=================  ==============================================================================

:func:`check` then counts at the receivers: episodes expected, episodes whose declaration and
resolve reached every notifier, duplicate incidents, resolves that came before their trigger,
dead letters, and the delay each notification took (wall clock and evaluated time).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess  # nosec B404
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from harness.faultproxy import FaultProxy, Mode
from harness.promserver import Scenario, Service, outage, serve
from harness.receivers import (
    Arrival,
    OpsgenieReceiver,
    PagerDutyReceiver,
    Receiver,
    WebhookReceiver,
)
from sloguard.store import Store

MIN = 60
OUTAGE = 8 * MIN  # 100 % errors: SEV1 within 3 minutes
SPACING = 30 * MIN  # between outages of one service: every episode resolves before the next
LEAD = 70 * MIN  # healthy data before the first outage, so the 1h window is full
QUIET = 120  # lifecycle.quiet_period_seconds
STALE = 300  # lifecycle.stale_after_seconds
OFF_GRID = 7  # evaluate off the sample grid (see promserver)
SERVICES = ("checkout", "search", "ledger")

ROUTING_KEY = "ChaosRoutingKey0123456789abcdefA"  # 32 characters, as PagerDuty wants
BAD_ROUTING_KEY = "ChaosRevokedKey0123456789abcdefB"
GENIE_KEY = "chaos-genie-key-0123"
WEBHOOK_SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # noqa: S105 (test vector)  # nosec B105
PROM_PASSWORD = "chaos-prom-password-LeakCanary"  # noqa: S105 (a canary)  # nosec B105
SECRETS = (ROUTING_KEY, BAD_ROUTING_KEY, GENIE_KEY, WEBHOOK_SECRET, PROM_PASSWORD)

RECEIVER_FAULTS = (
    "http-500",
    "http-502",
    "http-429",
    "http-429-retry-after",
    "timeout",
    "reset",
    "drop",
)
PROM_FAULTS = ("prom-down", "prom-slow", "prom-garbage", "prom-mix")
_PROM_MODES: dict[str, Mode] = {"prom-down": "down", "prom-slow": "slow", "prom-garbage": "garbage"}
# The fast suite's combined runs: a seeded choice among the single faults at every injection.
MIXES = ("receiver-mix",)
FAULTS = (
    "none",
    "sigkill",
    *RECEIVER_FAULTS,
    "receiver-down",
    "permanent-4xx",
    *MIXES,
    *PROM_FAULTS,
)


@dataclass(frozen=True, slots=True)
class Step:
    offset: int  # seconds from the scenario's start
    faulty: bool = False  # Prometheus misbehaves during this tick


@dataclass(frozen=True, slots=True)
class Plan:
    scenario: Scenario
    rounds: int
    steps: tuple[Step, ...]

    @property
    def episodes(self) -> int:
        return self.rounds * len(self.scenario.services)


def plan(rounds: int, *, prom_fault: bool = False, services: int = 3) -> Plan:
    """``rounds`` outages of every service at the same times, and the ticks to evaluate.

    Without a Prometheus fault a round is four ticks: firing (declared), still firing, clear
    (quiet starts), quiet period over (resolved). With one, Prometheus misbehaves from just
    after the declaration for longer than ``stale_after`` (no resolve may come of it; one stale
    warning must), and again while every SLO is healthy (no page may come of it).
    """
    starts = [LEAD + k * SPACING for k in range(rounds)]
    scenario = Scenario(
        services=tuple(
            Service(name, events=tuple(outage(s, OUTAGE) for s in starts))
            for name in SERVICES[:services]
        ),
        duration_seconds=LEAD + rounds * SPACING + 30 * MIN,
        step_seconds=60,
    )
    steps: list[Step] = [Step(LEAD - 2 * MIN)]
    for s in starts:
        end = s + OUTAGE
        if not prom_fault:
            steps += [Step(s + 3 * MIN), Step(end + 3 * MIN), Step(end + 7 * MIN)]
            steps += [Step(end + 11 * MIN)]
        else:
            steps.append(Step(s + 3 * MIN))
            steps += [Step(s + m * MIN, True) for m in (5, 8, 11)]  # 6 min without data
            steps += [Step(end + 7 * MIN), Step(end + 11 * MIN)]
            steps.append(Step(end + 15 * MIN, True))
    steps.append(Step(starts[-1] + OUTAGE + 20 * MIN))
    return Plan(scenario, rounds, tuple(steps))


def slo_yaml(scenario: Scenario) -> str:
    docs = []
    for service in scenario.services:
        sel = f'job="{scenario.job}",service="{service.name}"'
        docs.append(
            f"""\
apiVersion: sloguard/v1
kind: SLO
metadata: {{name: {service.name}-availability}}
spec:
  service: {service.name}
  objective: 99.9
  window: 30d
  indicator:
    ratio:
      errors: sum(rate(http_requests_total{{{sel},code=~"5.."}}[{{{{.window}}}}]))
      total: sum(rate(http_requests_total{{{sel}}}[{{{{.window}}}}]))
  alerting:
    tiers:
      - {{severity: SEV1, long: 1h, short: 5m, budget_percent: 2}}
"""
        )
    return "---\n".join(docs)


@dataclass(slots=True)
class Run:
    """One ``sloguard run --once --at`` process."""

    at: float
    step: int  # index of the planned tick this process ran (restarts share it)
    started: float
    ended: float
    returncode: int | None
    killed: bool
    stdout: str  # the tick's summary
    stderr: str


@dataclass(slots=True)
class Receivers:
    pd: PagerDutyReceiver
    og: OpsgenieReceiver
    hook: WebhookReceiver

    def all(self) -> tuple[Receiver, ...]:
        return (self.pd, self.og, self.hook)


class Harness:
    """A work dir with the config, SLOs and secrets; Prometheus behind a proxy; receivers."""

    def __init__(
        self,
        workdir: Path,
        plan: Plan,
        proxy: FaultProxy,
        receivers: Receivers,
        *,
        fault: str = "none",
        seed: int = 0,
    ) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        self.workdir = workdir
        self.plan = plan
        self.proxy = proxy
        self.rx = receivers
        self.fault = fault
        self.rng = random.Random(seed)  # noqa: S311 (reproducible faults)  # nosec B311
        self.runs: list[Run] = []
        self.kills = 0
        self.injected = 0
        self.config = workdir / "sloguard.yaml"
        self.state = workdir / "state" / "sloguard.db"
        self._write()

    def _write(self) -> None:
        (self.workdir / "slos").mkdir(parents=True, exist_ok=True)
        (self.workdir / "slos" / "slos.yaml").write_text(slo_yaml(self.plan.scenario))
        secrets = self.workdir / "secrets"
        secrets.mkdir(exist_ok=True)
        (secrets / "pd").write_text(ROUTING_KEY + "\n")
        (secrets / "pd-revoked").write_text(BAD_ROUTING_KEY + "\n")
        (secrets / "og").write_text(GENIE_KEY + "\n")
        (secrets / "whsec").write_text(WEBHOOK_SECRET + "\n")
        (secrets / "prom").write_text(PROM_PASSWORD + "\n")
        bad = self.fault in ("permanent-4xx", "receiver-mix")
        extra = (
            f"  - {{name: pd-revoked, type: pagerduty, routing_key_file: secrets/pd-revoked, "
            f'url: "{self.rx.pd.enqueue_url}"}}\n'
            if bad
            else ""
        )
        self.config.write_text(
            f"""\
prometheus:
  url: "{self.proxy.url}"
  timeout_seconds: 3
  retries: 0
  basic_auth: {{username: sloguard, password_file: secrets/prom}}
slo_paths: [slos/]
state_path: state/sloguard.db
lifecycle: {{quiet_period_seconds: {QUIET}, stale_after_seconds: {STALE}}}
delivery:
  attempt_timeout_seconds: 2
  initial_backoff_seconds: 0.2
  max_backoff_seconds: 1
  max_retry_after_seconds: 1
log: {{level: debug}}
notifiers:
  - {{name: pd, type: pagerduty, routing_key_file: secrets/pd, url: "{self.rx.pd.enqueue_url}"}}
  - {{name: og, type: opsgenie, api_key_file: secrets/og, url: "{self.rx.og.url}"}}
  - {{name: incidents, type: webhook, url: "{self.rx.hook.url}/hook", secret_file: secrets/whsec}}
{extra}routes:
  - {{notifiers: [pd, og, incidents{", pd-revoked" if bad else ""}]}}
"""
        )

    # --- one tick ---------------------------------------------------------------------------
    def once(
        self,
        at: float,
        *,
        step: int = -1,
        kill_after: float | None = None,
        timeout: float = 120,
        prefix: Sequence[str] = (),
    ) -> Run:
        """One ``run --once --at`` process; ``prefix`` wraps it (e.g. ``setpriv`` dropping
        capabilities, so that a read-only file is read-only for root too)."""
        started = time.time()
        argv = [*prefix, sys.executable, "-m", "sloguard", "run", "--config", str(self.config)]
        proc = subprocess.Popen(  # nosec B603
            [*argv, "--once", "--at", repr(at)],
            cwd=_repo(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(_repo())},
        )
        killed = False
        try:
            if kill_after is not None:
                try:
                    proc.wait(timeout=kill_after)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    killed = True
            out, err = proc.communicate(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        run = Run(at, step, started, time.time(), proc.returncode, killed, out, err)
        self.runs.append(run)
        if killed:
            self.kills += 1
        elif proc.returncode not in (0, 1):
            raise AssertionError(f"sloguard exited {proc.returncode} at {at}:\n{err}")
        elif "Traceback" in err:
            raise AssertionError(f"a traceback at {at}:\n{err}")
        return run

    # --- a whole plan -----------------------------------------------------------------------
    def drive(self) -> None:
        """Every planned tick with the fault injected, then drain until the outbox is empty."""
        steps = self.plan.steps
        down: Receiver | None = None
        if self.fault == "sigkill":  # slow sends, so that kills also land inside them
            for receiver in self.rx.all():
                receiver.delay(0.15)
        for i, step in enumerate(steps):
            at = self.plan.scenario.at(step.offset) + OFF_GRID
            self.proxy.set_mode(self._prom_mode() if step.faulty else "pass")
            self.injected += step.faulty
            down = self._receiver_faults(i, down)
            for attempt in range(3):  # at most two kills in a row, then it runs through
                kill_after = None
                if self.fault == "sigkill" and attempt < 2 and self.rng.random() < 0.5:
                    kill_after = self.rng.uniform(0.0, 1.5)
                if not self.once(at, step=i, kill_after=kill_after).killed:
                    break
                # Restarted at once (the same instant) or a tick later.
                at += self.rng.choice((0, 30))
        self.proxy.set_mode("pass")
        if down is not None:
            down.up()
        for receiver in self.rx.all():
            receiver.clear_faults()
        self.settle(self.runs[-1].at)

    def settle(self, at: float, *, ticks: int = 6) -> None:
        """Go on ticking (every 3 minutes) until no episode is open and nothing is pending, as
        the daemon would: recovery must need nothing but time."""
        for _ in range(ticks):
            store = Store.open(self.state, read_only=True)
            try:
                open_ = any(s.open for s in store.load_states().values())
            finally:
                store.close()
            if not open_:
                break
            at += 3 * MIN
            self.once(at)
        self.drain(at)

    def _prom_mode(self) -> Mode:
        if self.fault == "prom-mix":
            return self.rng.choice(tuple(_PROM_MODES.values()))
        return _PROM_MODES[self.fault]

    def _receiver_faults(self, i: int, down: Receiver | None) -> Receiver | None:
        targets = self.rx.all()
        kind = self.fault
        if kind == "receiver-mix":
            kind = self.rng.choice(RECEIVER_FAULTS)
        if kind in RECEIVER_FAULTS and self.rng.random() < 0.7:
            receiver = self.rng.choice(targets)
            times = self.rng.randint(1, 3)
            self.injected += times
            match kind:
                case "http-500" | "http-502" | "http-429":
                    receiver.fail(times, status=int(kind[5:8]))
                case "http-429-retry-after":
                    receiver.fail(times, status=429, retry_after=1)
                case "timeout":
                    receiver.delay(3.0, times=times)
                case "reset":
                    receiver.reset(times)
                case "drop":
                    receiver.drop(times)
        if self.fault == "receiver-down":
            # Down from the first declaration of a round to past its resolve: 15 minutes of
            # evaluated time, three ticks; up again for the next round.
            if i % 4 == 1 and down is None:
                down = self.rng.choice(targets)
                down.down()
                self.injected += 1
            elif i % 4 == 0 and down is not None:
                down.up()
                down = None
        return down

    def drain(self, at: float, *, attempts: int = 12) -> None:
        """Repeat ticks at the last instant until nothing is pending (backoffs are short)."""
        for _ in range(attempts):
            store = Store.open(self.state, read_only=True)
            try:
                pending = store.counts().pending
                due = store.next_due_at()
            finally:
                store.close()
            if not pending:
                return
            if due is not None:
                time.sleep(min(max(due - time.time(), 0.0), 2.0))
            self.once(at)


def _repo() -> Path:
    """The checkout holding ``harness/`` and ``sloguard/``: the daemon under test runs from it."""
    return Path(__file__).resolve().parent.parent


@contextmanager
def harness(
    workdir: Path,
    plan: Plan,
    *,
    fault: str = "none",
    seed: int = 0,
    prometheus: FaultProxy | None = None,
) -> Iterator[Harness]:
    """Serve the plan's scenario from a real Prometheus and start the receivers.

    ``prometheus``: an already running one (serving ``plan.scenario``) to share between runs.
    """
    with ExitStack() as stack:
        proxy = prometheus
        if proxy is None:
            server = stack.enter_context(serve(plan.scenario, base_dir=workdir))
            proxy = stack.enter_context(FaultProxy(server.url, slow_seconds=4.0))
        rx = Receivers(
            pd=PagerDutyReceiver(routing_keys=[ROUTING_KEY]),
            og=OpsgenieReceiver(api_keys=[GENIE_KEY]),
            hook=WebhookReceiver(secret=WEBHOOK_SECRET),
        )
        for receiver in rx.all():
            stack.enter_context(receiver)
        yield Harness(workdir / "run", plan, proxy, rx, fault=fault, seed=seed)


# --- counting ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """What the receivers got, against what the plan should have produced."""

    fault: str
    runs: int
    kills: int
    injected: int
    episodes_expected: int
    episodes_decided: int
    delivered_complete: int  # episodes whose declare and resolve reached every notifier
    lost: int  # expected episodes missing a declare or resolve somewhere
    duplicates: int  # second incidents/alerts for one episode, or episodes decided twice
    out_of_order: int  # a resolve that reached a receiver before its trigger
    false_resolves: int  # resolved while Prometheus could not be read
    stale_expected: int
    stale_delivered: int
    dead: int
    dead_expected: int
    redeliveries: int  # the same notification accepted again (absorbed by the dedup key)
    max_delay_wall_seconds: float
    max_delay_evaluated_seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _pd_view(a: Arrival) -> tuple[str, str] | None:
    body = a.json if a.body else None
    if not isinstance(body, dict) or "dedup_key" not in body:
        return None
    action = {"trigger": "declared", "resolve": "resolved"}.get(body.get("event_action", ""))
    return (str(body["dedup_key"]), action) if action else None


def _og_view(a: Arrival) -> tuple[str, str] | None:
    if a.path.rstrip("/") == "/v2/alerts" and a.method == "POST":
        body = a.json
        return (str(body.get("alias")), "declared") if isinstance(body, dict) else None
    parts = [unquote(p) for p in a.path.strip("/").split("/")]
    if len(parts) == 4 and parts[:2] == ["v2", "alerts"] and parts[3] == "close":
        return parts[2], "resolved"
    return None


def _hook_view(a: Arrival) -> tuple[str, str] | None:
    body = a.json if a.body else None
    if not isinstance(body, dict):
        return None
    kind = {"incident.declared": "declared", "incident.resolved": "resolved"}.get(body["type"])
    return (str(body["data"]["episode_id"]), kind) if kind else None


def check(h: Harness) -> Tally:
    store = Store.open(h.state, read_only=True)
    try:
        episodes = store.episodes()
        counts = store.counts()
    finally:
        store.close()
    problems: list[str] = []
    expected = h.plan.episodes
    decided = list(episodes)
    ids = {e.id for e in decided}
    by_slo: dict[str, int] = {}
    for e in decided:
        by_slo[e.slo] = by_slo.get(e.slo, 0) + 1
    duplicates = max(len(decided) - expected, 0)
    if len(decided) != expected:
        problems.append(f"{len(decided)} episodes decided, {expected} expected: {by_slo}")
    transitions = {(e.id, t.kind): t.at for e in decided for t in e.transitions}
    false_resolves = 0
    prom_bad = {h.plan.scenario.at(s.offset) + OFF_GRID for s in h.plan.steps if s.faulty}
    for (eid, kind), at in transitions.items():
        if kind == "resolved" and at in prom_bad:
            false_resolves += 1
            problems.append(f"{eid} resolved at {at}, while Prometheus could not be read")
    views = (
        ("pd", h.rx.pd, _pd_view),
        ("og", h.rx.og, _og_view),
        ("incidents", h.rx.hook, _hook_view),
    )
    complete = set(ids)
    out_of_order = 0
    redeliveries = 0
    delays_wall: list[float] = [0.0]
    delays_eval: list[float] = [0.0]
    # The delay of a notification counts from when the planned tick that decided it first
    # started, so a tick lost to a kill and redone counts against the fault.
    step_start: dict[int, float] = {}
    for run in h.runs:
        step_start.setdefault(run.step, run.started)
    decided_start = {r.at: step_start[r.step] for r in reversed(h.runs)}
    for name, receiver, view in views:
        seen: dict[tuple[str, str], Arrival] = {}
        for a in receiver.arrivals:
            if not a.accepted and a.outcome != "dropped":
                continue
            key = view(a)
            if key is None or key[0].endswith(":stale"):
                continue
            if a.outcome == "dropped":  # PagerDuty: a resolve for nothing open
                if (key[0], "declared") in seen:
                    redeliveries += 1  # a resolve sent again after a kill: harmless
                else:
                    out_of_order += 1
                    problems.append(f"{name}: resolve of {key[0]} before its trigger")
                continue
            if key in seen:
                redeliveries += 1
                continue
            seen[key] = a
            if key[1] == "resolved" and (key[0], "declared") not in seen:
                out_of_order += 1
                problems.append(f"{name}: resolve of {key[0]} before its trigger")
            decided_at = transitions.get(key)
            if decided_at is not None:
                delays_wall.append(a.at - decided_start.get(decided_at, a.at))
                during = next((r.at for r in h.runs if r.started <= a.at <= r.ended), decided_at)
                delays_eval.append(during - decided_at)
        unknown = {k for k, _ in seen} - ids
        if unknown:
            duplicates += len(unknown)
            problems.append(f"{name}: notifications for undecided episodes {sorted(unknown)}")
        for eid in ids:
            if (eid, "declared") not in seen or (eid, "resolved") not in seen:
                complete.discard(eid)
                problems.append(f"{name}: episode {eid} missing a declare or resolve")
    for eid in ids:
        if len(h.rx.pd.incidents_for(eid)) > 1:
            duplicates += 1
            problems.append(f"pd: {len(h.rx.pd.incidents_for(eid))} incidents for {eid}")
        if len(h.rx.og.alerts_for(eid)) > 1:
            duplicates += 1
            problems.append(f"og: {len(h.rx.og.alerts_for(eid))} alerts for {eid}")
        if len([i for i in h.rx.hook.incidents if i.key == eid]) > 1:
            duplicates += 1
            problems.append(f"incidents: several incidents for {eid}")
    stale_expected = expected if h.fault in PROM_FAULTS else 0
    stale_keys = {
        i.key.removesuffix(":stale") for i in h.rx.hook.incidents if i.key.endswith(":stale")
    }
    stale_delivered = len(stale_keys & ids)
    if stale_delivered < stale_expected:
        problems.append(f"{stale_delivered} stale warnings, {stale_expected} expected")
    if h.fault not in PROM_FAULTS and stale_delivered:
        problems.append(f"{stale_delivered} stale warnings without a Prometheus fault")
    dead_expected = 2 * expected if h.fault in ("permanent-4xx", "receiver-mix") else 0
    if counts.dead != dead_expected:
        problems.append(f"{counts.dead} dead letters, {dead_expected} expected")
    if counts.pending:
        problems.append(f"{counts.pending} notifications still pending")
    # PagerDuty's documented limit, counted at the receiver: never more than it allows.
    throttled = [a for a in h.rx.pd.arrivals if a.outcome == "throttled"]
    if throttled:
        problems.append(f"pd: {len(throttled)} requests over the rate limit")
    lost = expected - len(complete)
    # Every line the daemon printed, at debug level, with every notifier and Prometheus basic
    # auth configured: no secret in any of it.
    output = "\n".join(run.stdout + run.stderr for run in h.runs)
    for secret in SECRETS:
        if secret in output:
            problems.append(f"a secret ({secret[:6]}...) appears in the daemon's output")
    if problems:  # what the daemon said about evaluation, to tell a harness fault from a bug
        problems += sorted(
            {
                line.split(": ", 1)[-1][:200]
                for run in h.runs
                for line in (run.stderr + run.stdout).splitlines()
                if ("ERROR" in line or "WARNING" in line or "no data" in line.lower())
                and "sloguard.delivery" not in line
            }
        )[:10]
    return Tally(
        fault=h.fault,
        runs=len(h.runs),
        kills=h.kills,
        injected=h.injected,
        episodes_expected=expected,
        episodes_decided=len(decided),
        delivered_complete=len(complete),
        lost=max(lost, 0),
        duplicates=duplicates,
        out_of_order=out_of_order,
        false_resolves=false_resolves,
        stale_expected=stale_expected,
        stale_delivered=stale_delivered,
        dead=counts.dead,
        dead_expected=dead_expected,
        redeliveries=redeliveries,
        max_delay_wall_seconds=max(delays_wall),
        max_delay_evaluated_seconds=max(delays_eval),
        problems=problems,
    )


def run_fault(workdir: Path, fault: str, *, rounds: int, seed: int, services: int = 3) -> Tally:
    """One whole run: plan, serve, drive with ``fault`` injected, count."""
    p = plan(rounds, prom_fault=fault in PROM_FAULTS, services=services)
    with harness(workdir, p, fault=fault, seed=seed) as h:
        h.drive()
        return check(h)


def tally_row(t: Tally) -> dict[str, Any]:
    return {
        "fault": t.fault,
        "runs": t.runs,
        "kills": t.kills,
        "injected": t.injected,
        "episodes": t.episodes_expected,
        "lost": t.lost,
        "duplicates": t.duplicates,
        "out_of_order": t.out_of_order,
        "false_resolves": t.false_resolves,
        "stale": f"{t.stale_delivered}/{t.stale_expected}",
        "dead": f"{t.dead}/{t.dead_expected}",
        "redeliveries": t.redeliveries,
        "max_delay_wall_seconds": round(t.max_delay_wall_seconds, 2),
        "max_delay_evaluated_seconds": round(t.max_delay_evaluated_seconds, 1),
        "problems": t.problems,
    }


__all__ = [
    "FAULTS",
    "PROM_FAULTS",
    "RECEIVER_FAULTS",
    "Harness",
    "Plan",
    "Run",
    "Step",
    "Tally",
    "check",
    "harness",
    "plan",
    "run_fault",
    "tally_row",
]
