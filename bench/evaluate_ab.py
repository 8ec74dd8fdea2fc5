"""``sloguard evaluate`` of two trees, alternating, on the same SLOs and the same Prometheus.

    python -m bench.evaluate_ab --url URL --slos DIR --baseline TREE [--prometheus-pid PID]
        [--runs 5] [--recorded/--no-recorded]

For each run of each tree: the CPU time of the command (user + system, from the child's
rusage: what a loaded machine moves least), its wall time, and the CPU time Prometheus spent
meanwhile (``--prometheus-pid``, from ``/proc``). Both trees evaluate at one pinned ``--at``,
so their ``-o json`` outputs must be identical; the run fails if they are not. Use it with a
fleet already running (e.g. the one ``bench.peer`` starts), for the split before/after a change.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import time
from pathlib import Path
from typing import Any

from bench import common
from bench.peer import cpu_seconds


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(tree: Path, cmd: list[str], pid: int | None) -> tuple[dict[str, float], str]:
    """One ``sloguard evaluate`` of ``tree``: its CPU, wall and Prometheus CPU, and its output."""
    prom = cpu_seconds(pid) if pid else 0.0
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [common.python(), "-m", "sloguard", *cmd],
        capture_output=True,
        text=True,
        cwd=tree,
        env=common.env(tree),
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{tree}: sloguard evaluate failed: {done.stderr[-2000:]}")
    return {
        "cpu": _children_cpu() - cpu,
        "wall": wall,
        "prometheus_cpu": (cpu_seconds(pid) - prom) if pid else float("nan"),
    }, done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--slos", type=Path, required=True)
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--prometheus-pid", type=int)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--recorded", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    args = parser.parse_args(argv)
    at = f"{int(time.time()) - 120}"
    cmd = ["evaluate", str(args.slos.resolve()), "--prometheus", args.url, "-o", "json"]
    cmd += ["--timeout", "120", "--at", at, "--recorded" if args.recorded else "--no-recorded"]
    trees = {"before": args.baseline.resolve(), "after": common.ROOT}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    outputs: dict[str, str] = {}
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    for _ in range(args.runs):
        for name, tree in trees.items():
            measured, out = run_once(tree, cmd, args.prometheus_pid)
            runs[name].append(measured)
            if outputs.setdefault(name, out) != out:
                raise RuntimeError(f"{name}: two runs at one --at printed different JSON")
    if outputs["before"] != outputs["after"]:
        raise RuntimeError("before and after printed different JSON for the same --at")
    summary: dict[str, Any] = {
        name: {k: common.median([r[k] for r in rs]) for k in ("cpu", "wall", "prometheus_cpu")}
        for name, rs in runs.items()
    }
    print(json.dumps({"load_before": load, "median": summary}, indent=2))
    common.save(
        "evaluate-ab",
        {
            "slos": len(json.loads(outputs["after"])),
            "recorded": args.recorded,
            "baseline": str(args.baseline),
            "runs": runs,
            "median": summary,
            "same_output": True,
        },
        args.out,
        module="bench.evaluate_ab",
        argv=argv,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
