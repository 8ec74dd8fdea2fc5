"""Cost of one daemon tick for 100, 1,000 and 10,000 SLOs, direct and recorded.

    python -m bench.cost [--sizes 100,1000,10000] [--services 500] [--ticks 3]

A real Prometheus holds a synthetic fleet (``--services`` services x 2 codes, ``--history-hours``
of 1-minute samples backfilled up to now, then scraped live every 15 s). SLO i reads service
i mod services, with PromQL of its own (see ``common.slo_document``).

- direct: Prometheus without rules; each SLO's windows are queried from the raw counters.
- recorded: a Prometheus per size with the rules ``sloguard generate`` writes for those SLOs,
  evaluated live at the default 1m; ticks start once every SLO's series are recorded. The rules
  are steady-state (running for longer than the 30d period): ``sloth_slo_info`` samples one
  period back stand in for that history, which is what the evaluator probes before it reads
  the recorded period ratio.

Every size and mode runs ``bench.tick`` in a fresh subprocess (its RSS is the daemon's): the
first tick creates the episode states (cold), the following ones are the steady state. Sizes
of ``--single-tick-from`` SLOs and more in direct mode do one tick only (it takes minutes).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import common, fleet
from harness.promserver import BLOCK_SECONDS
from sloguard import rules
from sloguard.engine import Engine, Recorded
from sloguard.spec import load_slos


def run_ticks(
    config: Path, mode: str, ticks: int, profile: Path | None = None, root: Path = common.ROOT
) -> dict[str, Any]:
    """``bench.tick`` in a fresh process, importing sloguard from ``root``."""
    cmd = [common.python(), "-m", "bench.tick", "--config", str(config), "--mode", mode]
    cmd += ["--ticks", str(ticks)]
    if profile:
        cmd += ["--profile", str(profile)]
    done = subprocess.run(
        cmd, capture_output=True, text=True, cwd=root, env=common.env(root), check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.tick failed: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    ticks = result["ticks"]
    steady = ticks[1:] or ticks
    return {
        "slos": result["slos"],
        "mode": result["mode"],
        "ticks_measured": len(steady),
        "steady_state": len(ticks) > 1,
        "queries": common.median([t["queries"] for t in steady]),
        "wall_seconds": common.median([t["wall_seconds"] for t in steady]),
        "cpu_seconds": common.median([t["cpu_seconds"] for t in steady]),
        "cold_wall_seconds": ticks[0]["wall_seconds"],
        "cold_cpu_seconds": ticks[0]["cpu_seconds"],
        "peak_rss_mb": result["peak_rss_mb"],
        "load_seconds": result["load_seconds"],
        "severities": ticks[-1]["severities"],
        "failures": ticks[-1]["failures"],
    }


def info_backfill(slo_dir: Path, data_dir: Path, around: int, span: int) -> None:
    """``sloth_slo_info`` of every SLO at 1m steps over ``[around - 10m, around + span]``, as
    the rules would have recorded it, so the one-period-back probe finds it."""
    slos = load_slos([slo_dir])
    infos = []
    for slo in slos:
        for group in rules.slo_rule_groups(slo):
            for rule in group.rules:
                if rule.record == rules.INFO:
                    inner = ",".join(f'{k}="{v}"' for k, v in sorted(rule.labels.items()))
                    infos.append(f"{rules.INFO}{{{inner}}}")
    with tempfile.TemporaryDirectory(dir=data_dir.parent) as tmp:
        start = (around - 600) // 60 * 60
        blocks: dict[int, list[str]] = {}
        for t in range(start, around + span, 60):
            lo = t // BLOCK_SECONDS * BLOCK_SECONDS
            blocks.setdefault(lo, []).extend(f"{s} 1 {t}" for s in infos)
        for lo, lines in blocks.items():
            path = Path(tmp) / f"info-{lo}.om"
            head = f"# TYPE {rules.INFO} gauge\n"
            path.write_text(head + "\n".join(lines) + "\n# EOF\n", encoding="utf-8")
            cmd = ["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q"]
            subprocess.run(
                [*cmd, str(path), str(data_dir)],
                check=True,
                capture_output=True,
            )


def planned_queries(slo_dir: Path) -> dict[str, int]:
    """Queries per tick as planned (no Prometheus needed) for each mode."""
    slos = load_slos([slo_dir])
    names = frozenset(s.name for s in slos)
    engine = Engine()
    return {
        "direct": engine.plan(slos).query_count,
        "recorded_young": engine.plan_recorded(slos, Recorded(names, frozenset())).query_count + 2,
        "recorded": engine.plan_recorded(slos, Recorded(names, names)).query_count + 2,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--history-hours", type=int, default=74)
    parser.add_argument("--ticks", type=int, default=3, help="ticks per size and mode (>= 2)")
    parser.add_argument("--recorded-ticks", type=int, default=4, help="ticks per recorded row")
    parser.add_argument("--single-tick-from", type=int, default=10_000)
    parser.add_argument("--modes", default="direct,recorded")
    parser.add_argument("--profile-dir", type=Path)
    parser.add_argument(
        "--settle-seconds", type=float, default=20, help="live scrapes before the direct ticks"
    )
    parser.add_argument(
        "--rule-interval",
        default="1m",
        help="Prometheus evaluation_interval, and every generated rule group's (up to 4m)",
    )
    parser.add_argument(
        "--lookback",
        default="5m",
        help="Prometheus --query.lookback-delta: how old a recorded sample may be",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a tree with sloguard as it was before (and bench/): each row also runs with it",
    )
    parser.add_argument("--direct-sizes", help="sizes for direct mode (default: --sizes)")
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    rows: list[dict[str, Any]] = []
    work = Path(tempfile.mkdtemp(prefix="sloguard-bench-cost-"))
    origin = time.time() - args.history_hours * 3600 - 7200
    services = fleet.make_services(args.services, origin)
    names = [s.name for s in services]
    try:
        for size in sizes:
            slo_dir = work / f"slos-{size}"
            common.write_slos(slo_dir, size, names, fleet.JOB)
        if "direct" in modes:
            with fleet.running_fleet(services, history_seconds=args.history_hours * 3600) as f:
                time.sleep(args.settle_seconds)  # live scrapes in the 5m window
                direct_sizes = (
                    [int(x) for x in args.direct_sizes.split(",")] if args.direct_sizes else sizes
                )
                for size in direct_sizes:
                    ticks = 1 if size >= args.single_tick_from else args.ticks
                    config = common.daemon_config(
                        work / f"direct-{size}.yaml",
                        f.url,
                        work / f"slos-{size}",
                        work / f"direct-{size}.db",
                    )
                    profile = args.profile_dir / f"direct-{size}.txt" if args.profile_dir else None
                    for code, root in _trees(args):
                        row = summarize(run_ticks(config, "direct", ticks, profile, root))
                        row["code"] = code
                        row["planned"] = planned_queries(work / f"slos-{size}")
                        print(json.dumps(row), flush=True)
                        rows.append(row)
        if "recorded" in modes:
            for size in sizes:
                rows.extend(recorded_run(args, work, services, size))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    common.save(
        "cost",
        {
            "services": args.services,
            "series": 2 * args.services,
            "history_hours": args.history_hours,
            "rows": rows,
        },
        args.out,
        module="bench.cost",
        argv=argv,
    )
    return 0


def _trees(args: argparse.Namespace) -> list[tuple[str, Path]]:
    trees = [("after", common.ROOT)]
    if args.baseline:
        trees.insert(0, ("before", args.baseline))
    return trees


def recorded_run(
    args: argparse.Namespace, work: Path, services: list[fleet.Service], size: int
) -> list[dict[str, Any]]:
    slo_dir = work / f"slos-{size}"
    rules_dir = work / f"rules-{size}"
    # Every group at the rule interval: the fast and slow groups' own intervals (15 s, 2m) would
    # only change how long the run waits for each window to be recorded once.
    every_group = ["--fast-interval", args.rule_interval, "--slow-interval", args.rule_interval]
    rule_files = common.generate_rules(slo_dir, rules_dir, extra=every_group)
    prep = time.monotonic()
    with fleet.running_fleet(
        services,
        history_seconds=args.history_hours * 3600,
        rule_files=rule_files,
        evaluation_interval=args.rule_interval,
        extra_args=[f"--query.lookback-delta={args.lookback}"],
        before_start=lambda data: info_backfill(slo_dir, data, int(time.time()) - 30 * 86400, 7200),
    ) as f:
        waited = 0.0
        for series in (f"{rules.RATIO}5m", f"{rules.RATIO}30d", rules.INFO):
            waited += fleet.wait_for(f.url, f"count({series})", size, timeout=1800)
        config = common.daemon_config(
            work / f"recorded-{size}.yaml", f.url, slo_dir, work / f"recorded-{size}.db"
        )
        ready = time.monotonic() - prep
        profile = args.profile_dir / f"recorded-{size}.txt" if args.profile_dir else None
        rows = []
        for code, root in _trees(args):
            row = summarize(
                run_ticks(config, "recorded", max(2, args.recorded_ticks), profile, root)
            )
            row["code"] = code
            row["planned"] = planned_queries(slo_dir)
            row["rules_ready_seconds"] = ready
            row["rule_files"] = len(rule_files)
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
