"""Time to page: from the start of a 100 % outage of a 99.9 % SLO to the page at PagerDuty.

    python -m bench.page [--runs 5]

One real Prometheus scrapes a local exporter every 15 s (history backfilled up to now, so the
1h window holds healthy traffic), one contract-enforcing PagerDuty receiver, and side by side
on the same data:

- A: the rules ``sloguard generate`` writes, evaluated by Prometheus every 1m (its default),
  firing to a real Alertmanager (default ``group_wait`` 30s) whose ``pagerduty_configs`` posts
  Events v2 to the receiver;
- B30: ``sloguard run`` with its defaults (``interval_seconds`` 30; recorded mode, since the
  rules run in that Prometheus, with the SEV1 tier's 5m window read directly as in any fleet
  of up to 500 SLOs; and the fast path: SLOs about to page probed every second, see
  sloguard.fastpath), paging the same receiver;
- B10: the same with ``interval_seconds: 10``;
- B30d: B30 with ``recorded_series: {mode: off}``: every window queried directly;
- B30r0: B30 with ``recorded_series: {direct_windows_max_seconds: 0}``: every window from
  the recorded series, as the default does for fleets over 500 SLOs; an SLO joins the fast
  path only when the recorded 5m series shows the burn (up to one rule interval later);
- B30x: B30 with the fast path off (``fast_path: {interval_seconds: 0}``): what the tick
  interval alone gives.

Every pipeline reads the same Prometheus, so the scrape that first shows the crossing is the
same for all of them.

With ``--fleet N`` (e.g. 10000) the same Prometheus also holds N healthy SLOs on
``--fleet-services`` services (bench.fleet, bench.common.write_slos), their rules generated with
the outage SLOs' and evaluated by it; B30r0 loads them all (a fleet over 500 SLOs: every window
recorded), B30 the outage SLOs alone (a reference on the same loaded Prometheus), and A the
alert rules of all. The runs wait until every SLO's windows are recorded once, and the results
(``page-fleet.json``) carry Prometheus' rule group evaluation durations and missed iterations,
fast groups (``--fast-interval``, passed to ``sloguard generate``) apart from the others.

Each pipeline has its own routing key. Each run takes the outage to a fresh service (no reset
needed) at a random moment, and waits until every pipeline has paged for it. The math allows
51.8 s (the 1h ratio crosses 14.4 x 0.001); see docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench import common, cost, fleet
from harness.receivers import PagerDutyReceiver
from sloguard import rules

KEYS = {
    "A": "AlertmanagerPipeline000000000000",
    "B30": "SloguardThirtySeconds00000000000",
    "B10": "SloguardTenSeconds00000000000000",
    "B30d": "SloguardThirtySecondsDirectMode0",
    "B30r0": "SloguardThirtyRecordedOnly000000",
    "B30x": "SloguardThirtySecondsNoFastPath0",
}
LABELS = {
    "A": "A: rules (1m) -> Alertmanager (group_wait 30s) -> PagerDuty",
    "B30": "B: sloguard run, defaults (30 s, recorded mode, fast path) -> PagerDuty",
    "B10": "B: sloguard run, 10 s interval -> PagerDuty",
    "B30d": "B: sloguard run, 30 s, direct mode (recorded_series off) -> PagerDuty",
    "B30r0": "B: sloguard run, 30 s, every window recorded (fleets > 500) -> PagerDuty",
    "B30x": "B: sloguard run, 30 s, fast path off -> PagerDuty",
}
MATH_SECONDS = 0.0144 * 3600
_AM_LISTEN = re.compile(r'msg="Listening on" address=127\.0\.0\.1:(\d+)')


def alertmanager_config(pd_url: str) -> str:
    # Pages only, as sloguard's route (SEV1, SEV2 -> pd): the SEV3 ticket alerts go nowhere,
    # or pipeline A would be timed by a ticket that fires before any page.
    return f"""route:
  receiver: "tickets"
  group_by: [alertname, sloth_id, severity]
  routes:
    - matchers: ['sloth_severity="page"']
      receiver: "pd"
receivers:
  - name: "tickets"
  - name: "pd"
    pagerduty_configs:
      - routing_key: "{KEYS["A"]}"
        url: "{pd_url}"
        send_resolved: true
"""


@contextmanager
def alertmanager(workdir: Path, pd_url: str) -> Iterator[str]:
    (workdir / "am").mkdir()
    config = workdir / "am.yml"
    config.write_text(alertmanager_config(pd_url), encoding="utf-8")
    log_path = workdir / "am.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                "prometheus-alertmanager",
                f"--config.file={config}",
                f"--storage.path={workdir / 'am'}",
                "--web.listen-address=127.0.0.1:0",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not (found := _AM_LISTEN.search(log_path.read_text(errors="replace"))):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"alertmanager did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        yield f"127.0.0.1:{found.group(1)}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


@contextmanager
def sloguard_run(
    workdir: Path,
    name: str,
    url: str,
    slo_dir: Path,
    pd_url: str,
    interval: int,
    settings: str = "",
) -> Iterator[None]:
    (workdir / f"{name}.key").write_text(KEYS[name] + "\n", encoding="utf-8")
    config = common.daemon_config(
        workdir / f"{name}.yaml",
        url,
        slo_dir,
        workdir / f"{name}.db",
        interval_seconds=interval,
        extra=f"""notifiers:
  - {{name: pd, type: pagerduty, routing_key_file: "{workdir / (name + ".key")}", url: "{pd_url}"}}
routes:
  - {{match: {{severity: [SEV1, SEV2]}}, notifiers: [pd]}}
http: {{listen: "127.0.0.1:0"}}
{settings}""",
    )
    with (workdir / f"{name}.log").open("wb") as log:
        proc = subprocess.Popen(
            [common.python(), "-m", "sloguard", "run", "--config", str(config)],
            cwd=common.ROOT,
            env=common.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def first_page(pd: PagerDutyReceiver, pipeline: str, service: str, since: float) -> float | None:
    for arrival in list(pd.arrivals):
        if arrival.at < since or not arrival.accepted:
            continue
        body = arrival.json or {}
        if body.get("routing_key") != KEYS[pipeline] or body.get("event_action") != "trigger":
            continue
        if f"{service}-" in json.dumps(body):
            return float(arrival.at)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=420, help="seconds per run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    parser.add_argument("--fleet", type=int, default=0, help="healthy SLOs loaded beside")
    parser.add_argument("--fleet-services", type=int, default=500)
    parser.add_argument(
        "--fast-interval", default="15s", help="sloguard generate --fast-interval (0: none)"
    )
    parser.add_argument(
        "--slow-interval", default="2m", help="sloguard generate --slow-interval (0: none)"
    )
    parser.add_argument(
        "--pipelines", help="comma-separated (default: all; A,B30,B30r0 with --fleet)"
    )
    args = parser.parse_args(argv)
    # A stopped benchmark stops what it started (Prometheus, Alertmanager, the daemons).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    chosen = (args.pipelines or ("A,B30,B30r0" if args.fleet else ",".join(KEYS))).split(",")
    load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print("load average before:", load_at_start, flush=True)
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="sloguard-bench-page-"))
    origin = time.time() - 8 * 3600
    services = [
        fleet.Service(f"outage-run-{k:02d}", rps=50.0, error_ratio=0.0005, origin=origin)
        for k in range(args.runs)
    ]
    names = [s.name for s in services]
    slo_dir = work / "slos"
    outage_dir = slo_dir / "outage"
    outage_dir.mkdir(parents=True)
    (outage_dir / "slos.yaml").write_text(
        "---\n".join(common.slo_document(f"{n}-availability", n, 0, fleet.JOB) for n in names),
        encoding="utf-8",
    )
    healthy = fleet.make_services(args.fleet_services, origin) if args.fleet else []
    if args.fleet:
        common.write_slos(slo_dir / "fleet", args.fleet, [s.name for s in healthy], fleet.JOB)
    rules_dir = work / "rules"
    rule_files = common.generate_rules(
        slo_dir,
        rules_dir,
        extra=["--fast-interval", args.fast_interval, "--slow-interval", args.slow_interval],
    )
    # B30 reads the outage SLOs alone (<= 500: its 5m window direct), whatever the fleet.
    dirs = {p: slo_dir for p in KEYS} | ({"B30": outage_dir} if args.fleet else {})
    settings = {
        "B30d": "recorded_series: {mode: 'off'}\n",
        "B30r0": "recorded_series: {direct_windows_max_seconds: 0}\n",
        "B30x": "fast_path: {interval_seconds: 0}\n",
    }
    month_ago = int(time.time()) - 30 * 86400
    runs: list[dict[str, Any]] = []
    groups: dict[str, Any] = {}
    groups_before: dict[str, Any] = {}
    ready_seconds = 0.0
    try:
        with (
            PagerDutyReceiver(routing_keys=KEYS.values(), rate_limit_per_minute=None) as pd,
            alertmanager(work, pd.enqueue_url) as am,
            fleet.running_fleet(
                [*services, *healthy],
                history_seconds=7 * 3600,
                rule_files=rule_files,
                alertmanager=am,
                # Rules older than the period, as in a fleet that runs them: the daemon reads
                # the period from them too, instead of 10,000 direct 30d queries per tick.
                before_start=(
                    (lambda data: cost.info_backfill(slo_dir, data, month_ago, 7200))
                    if args.fleet
                    else None
                ),
            ) as f,
            ExitStack() as daemons,
        ):
            if args.fleet:  # what B30r0 reads to page recorded once for every SLO
                total = args.fleet + len(names)
                for series in (f"{rules.RATIO}5m", rules.INFO):
                    ready_seconds += fleet.wait_for(f.url, f"count({series})", total, 1800)
                print(f"every SLO's 5m recorded once after {ready_seconds:.0f} s", flush=True)
                groups_before = rule_group_stats(f.url)
            for p in chosen:
                if p != "A":
                    interval = 10 if p == "B10" else 30
                    daemons.enter_context(
                        sloguard_run(
                            work, p, f.url, dirs[p], pd.enqueue_url, interval, settings.get(p, "")
                        )
                    )
            time.sleep(90)  # scrapes, a rule evaluation and a few ticks: all OK, no page
            quiet = [a for a in pd.arrivals if a.accepted]
            if quiet:
                raise RuntimeError(f"pages before any outage: {quiet[0].body!r}")
            for k, name in enumerate(names):
                time.sleep(rng.uniform(0, 60))
                runs.append(one_run(pd, f.exporter, name, args.timeout, chosen))
                print(json.dumps({"run": k, **runs[-1]}), flush=True)
            rejected = [a for a in pd.arrivals if not a.accepted]
            groups = rule_group_stats(f.url)
            if args.fleet:
                groups["during_runs"] = rates(groups_before, groups)
                groups["recorded_5m_age_seconds"] = {
                    q: fleet.value(f.url, f"{q}(time() - timestamp({rules.RATIO}5m))")
                    for q in ("avg", "max")
                }
    finally:
        logs = {p.name: p.read_text(errors="replace")[-3000:] for p in work.glob("*.log")}
        shutil.rmtree(work, ignore_errors=True)
    summary = {}
    for pipeline in chosen:
        got = [r[pipeline] for r in runs if r[pipeline] is not None]
        summary[pipeline] = {
            "median_seconds": common.median(got),
            "worst_seconds": max(got) if got else None,
            "best_seconds": min(got) if got else None,
            "paged": len(got),
        }
    common.save(
        "page-fleet" if args.fleet else "page",
        {
            "runs": runs,
            "summary": summary,
            "math_seconds": MATH_SECONDS,
            "rejected_at_receiver": len(rejected),
            "fleet": args.fleet,
            "fast_interval": args.fast_interval,
            "slow_interval": args.slow_interval,
            "load_at_start": load_at_start,
            "rules_ready_seconds": ready_seconds,
            "rule_groups": groups,
            "logs_tail": logs if any(r[p] is None for r in runs for p in chosen) else {},
        },
        args.out,
        module="bench.page",
        argv=argv,
    )
    for pipeline, s in summary.items():
        print(pipeline, s)
    return 0


KINDS = ("fast", "slow", "other")


def group_kind(group: str) -> str:
    """``fast`` (SEV1 short window), ``slow`` (6h+ windows, period, meta) or ``other``."""
    if "-sli-fast-" in group:
        return "fast"
    return "slow" if "-sli-slow-" in group or "-meta-" in group else "other"


def rule_group_stats(url: str) -> dict[str, Any]:
    """Prometheus' own rule group metrics, fast groups and slow groups (``-sli-slow-`` and
    meta, both at ``--slow-interval``) apart from the others: the last
    evaluation's duration (median, 99th percentile, max, and its sum over all groups, which
    is the CPU seconds one round of them costs), and the missed iterations."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=120) as resp:
        text = resp.read().decode()
    durations: dict[str, list[float]] = {k: [] for k in KINDS}
    missed: dict[str, float] = dict.fromkeys(KINDS, 0.0)
    iterations: dict[str, float] = dict.fromkeys(KINDS, 0.0)
    evaluations: dict[str, float] = dict.fromkeys(KINDS, 0.0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            group = sample.labels.get("rule_group", "")
            kind = group_kind(group)
            if sample.name == "prometheus_rule_group_last_duration_seconds":
                durations[kind].append(sample.value)
            elif sample.name == "prometheus_rule_group_iterations_missed_total":
                missed[kind] += sample.value
            elif sample.name == "prometheus_rule_group_iterations_total":
                iterations[kind] += sample.value
            elif sample.name == "prometheus_rule_evaluations_total":
                evaluations[kind] += sample.value
    out: dict[str, Any] = {"at": time.time()}
    for kind, values in durations.items():
        values.sort()
        out[kind] = {
            "groups": len(values),
            "median_seconds": common.median(values),
            "p99_seconds": values[int(0.99 * (len(values) - 1))] if values else None,
            "max_seconds": values[-1] if values else None,
            "sum_seconds": sum(values),
            "iterations": iterations[kind],
            "missed_iterations": missed[kind],
            "rule_evaluations": evaluations[kind],
        }
    return out


def rates(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Rule group iterations and missed iterations per second between two
    :func:`rule_group_stats`, by kind, and the share of scheduled iterations missed."""
    elapsed = after["at"] - before["at"]
    out: dict[str, Any] = {"seconds": elapsed}
    for kind in KINDS:
        done = after[kind]["iterations"] - before[kind]["iterations"]
        missed = after[kind]["missed_iterations"] - before[kind]["missed_iterations"]
        out[kind] = {
            "iterations_per_second": done / elapsed,
            "missed_per_second": missed / elapsed,
            "missed_share": missed / done if done else None,
            "rule_evaluations_per_second": (
                after[kind]["rule_evaluations"] - before[kind]["rule_evaluations"]
            )
            / elapsed,
        }
    return out


def one_run(
    pd: PagerDutyReceiver,
    exporter: fleet.Exporter,
    service: str,
    timeout: float,
    pipelines: Collection[str],
) -> dict[str, Any]:
    start = time.time()
    exporter.outage(service, start)
    result: dict[str, Any] = {"service": service, "outage_start": start}
    pending = set(pipelines)
    while pending and time.time() - start < timeout:
        for pipeline in sorted(pending):
            at = first_page(pd, pipeline, service, start)
            if at is not None:
                result[pipeline] = at - start
                pending.discard(pipeline)
        time.sleep(0.2)
    for pipeline in pending:
        result[pipeline] = None
    # End the outage: the next run's service is a different one, and this one resolves.
    exporter.services[[s.name for s in exporter.services].index(service)].outages[-1] = (
        start,
        time.time(),
    )
    return result


if __name__ == "__main__":
    raise SystemExit(main())
