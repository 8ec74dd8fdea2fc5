"""What the generated rules cost a Prometheus, rule by rule: ``python -m bench.rule_cost``.

Starts a bench fleet (bench.fleet) of ``--fleet`` healthy SLOs with the rules ``sloguard
generate`` writes for them (``--fast-interval``, ``--slow-interval`` passed on), lets
Prometheus evaluate them for ``--seconds``, and reads what each kind of rule cost:

- from ``/api/v1/rules``: every rule's ``evaluationTime`` (its last evaluation), summed by
  kind (the recorded series' name and window, the meta constants, the alerts) and scaled by
  how often its group runs, so that the table says which rules take the seconds of a minute;
- from ``/metrics``: rule evaluations, group iterations and missed iterations per second, the
  groups' last durations, and Prometheus' own CPU seconds over the window.

It answers "which rules cost what, and how many evaluations a second does this Prometheus
sustain" (docs/benchmarks.md, issue 20). No daemon runs. At 10,000 SLOs ``/api/v1/rules`` is
410,000 rules: Prometheus took about 6 minutes and 10 GB to answer it on two shared cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench import common, fleet


def rule_kind(group: str, rule: dict[str, Any]) -> str:
    """A readable kind for one rule of ``/api/v1/rules``: ``alert``, the meta record's name,
    or ``<record> <window>`` for SLI series."""
    if rule.get("type") == "alerting":
        return "alert"
    name = str(rule["name"])
    window = rule.get("labels", {}).get("sloth_window")
    if "-meta-" in group or window is None:
        return f"meta {name}"
    return f"{name.removeprefix('slo:')} {window}"


def group_kind(name: str) -> str:
    """``fast``, ``sli``, ``slow``, ``meta`` or ``alerts``, from a generated group's name."""
    for kind in ("sli-fast", "sli-slow", "sli", "meta", "alerts"):
        if f"sloguard-slo-{kind}-" in name:
            return kind
    return "other"


def rule_costs(url: str) -> dict[str, dict[str, float]]:
    """Per rule kind: rules, the sum of their last ``evaluationTime`` (one round's cost) and
    that sum scaled to a minute of the group's interval (the cost per minute of wall time)."""
    with urllib.request.urlopen(f"{url}/api/v1/rules", timeout=600) as resp:
        groups = json.load(resp)["data"]["groups"]
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for g in groups:
        per_minute = 60.0 / float(g["interval"])
        kind = group_kind(g["name"])
        out[f"group {kind}"]["count"] += 1
        out[f"group {kind}"]["seconds_per_round"] += float(g["evaluationTime"])
        out[f"group {kind}"]["seconds_per_minute"] += float(g["evaluationTime"]) * per_minute
        for r in g["rules"]:
            row = out[rule_kind(g["name"], r)]
            row["count"] += 1
            row["seconds_per_round"] += float(r["evaluationTime"])
            row["seconds_per_minute"] += float(r["evaluationTime"]) * per_minute
            row["evaluations_per_minute"] += per_minute
    return {k: dict(v) for k, v in out.items()}


def metrics(url: str) -> dict[str, float]:
    """Prometheus' own counters summed over groups: evaluations, iterations, missed
    iterations, and its process CPU seconds."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=120) as resp:
        text = resp.read().decode()
    wanted = {
        "prometheus_rule_evaluations_total",
        "prometheus_rule_group_iterations_total",
        "prometheus_rule_group_iterations_missed_total",
        "process_cpu_seconds_total",
    }
    out: dict[str, float] = defaultdict(float)
    durations_s: list[float] = []
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name in wanted:
                out[s.name] += s.value
            elif s.name == "prometheus_rule_group_last_duration_seconds":
                durations_s.append(s.value)
    durations_s.sort()
    out["group_last_duration_median_seconds"] = common.median(durations_s)
    out["group_last_duration_max_seconds"] = durations_s[-1] if durations_s else 0.0
    out["at"] = time.time()
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", type=int, default=10000)
    parser.add_argument("--fleet-services", type=int, default=500)
    parser.add_argument("--fast-interval", default="15s")
    parser.add_argument("--slow-interval", default=None, help="passed on when given")
    parser.add_argument("--seconds", type=float, default=300, help="measured window")
    parser.add_argument("--warmup", type=float, default=120, help="seconds before it")
    parser.add_argument("--name", default="rule-cost")
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    args = parser.parse_args(argv)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print("load average before:", load, flush=True)
    origin = time.time() - 8 * 3600
    services = fleet.make_services(args.fleet_services, origin)
    work = Path(tempfile.mkdtemp(prefix="sloguard-bench-rulecost-"))
    try:
        common.write_slos(work / "slos", args.fleet, [s.name for s in services], fleet.JOB)
        extra = ["--fast-interval", args.fast_interval]
        if args.slow_interval is not None:
            extra += ["--slow-interval", args.slow_interval]
        rule_files = common.generate_rules(work / "slos", work / "rules", extra=extra)
        with fleet.running_fleet(services, history_seconds=7 * 3600, rule_files=rule_files) as f:
            time.sleep(args.warmup)
            before = metrics(f.url)
            time.sleep(args.seconds)
            after = metrics(f.url)
            costs = rule_costs(f.url)
            age = {
                q: fleet.value(f.url, f"{q}(time() - timestamp(slo:sli_error:ratio_rate5m))")
                for q in ("avg", "max")
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = after["at"] - before["at"]
    per_second = {k: (after[k] - before[k]) / elapsed for k in before if k.endswith("_total")}
    result = {
        "fleet": args.fleet,
        "fast_interval": args.fast_interval,
        "slow_interval": args.slow_interval,
        "load_at_start": load,
        "load_at_end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "seconds": elapsed,
        "per_second": per_second,
        "after": after,
        "recorded_5m_age_seconds": age,
        "rules": costs,
    }
    common.save(args.name, result, args.out, module="bench.rule_cost", argv=argv)
    print(json.dumps({k: v for k, v in result.items() if k != "rules"}, indent=1))
    for kind, row in sorted(costs.items(), key=lambda kv: -kv[1]["seconds_per_minute"]):
        print(
            f"{kind:40s} {row['count']:8.0f} {row['seconds_per_round']:10.2f} "
            f"{row['seconds_per_minute']:10.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
