"""The steady recorded tick's CPU, this tree against an older one, alternating in one run.

    python -m bench.tick_ab [--sizes 10000,50000] [--modes sqlite,json,postgresql] [--runs 3]
        [--baseline TREE] [--fresh]

Each run is a fresh subprocess per tree, alternating before/after run by run so that load on a
shared machine hits both alike. Each tree's own sloguard is imported, and this tree's bench for
both (the stand-in source and the measurement are the same, only the product differs; the
bench imports nothing a tree before it lacks). ``--fresh`` makes every recorded number new
each tick (no memo of unchanged answers helps). Modes: ``sqlite`` is ``bench.profile_tick``
(answers canned as objects, the state in SQLite; peak RSS too), ``json`` the same with
``--http`` (Prometheus's JSON through the real client), ``postgresql`` is ``bench.ha_tick
--setups postgresql`` (a real PostgreSQL from harness.pgserver). Saved as
``tick-ab-<sizes>[-fresh].json``. Each figure is the median of the runs' medians of steady
ticks; the ratio is after / before from the same run. ``TREE`` is a checkout
of an older sloguard, e.g. ``git worktree add /tmp/sloguard-before <commit>``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench import common

MODES = ("sqlite", "json", "postgresql")


def one(root: Path, mode: str, slos: int, ticks: int, fresh: bool = False) -> dict[str, Any]:
    """One subprocess of this tree's bench over ``root``'s sloguard: its median tick CPU and
    wall seconds, peak RSS."""
    with tempfile.TemporaryDirectory(prefix="sloguard-bench-ab-") as tmp:
        if mode == "postgresql":
            args = ["bench.ha_tick", "--setups", "postgresql"]
        else:
            args = ["bench.profile_tick", "--label", "ab", "--out", tmp]
            args += ["--http"] if mode == "json" else []
        args += ["--fresh"] if fresh else []
        (Path(tmp) / "bench").symlink_to(common.ROOT / "bench")  # found before root's own
        env = common.env(root)
        env["PYTHONPATH"] = tmp + os.pathsep + env["PYTHONPATH"]
        done = subprocess.run(
            [common.python(), "-m", *args, "--slos", str(slos), "--ticks", str(ticks)],
            cwd=tmp,  # not root: `-m` puts the working directory first on the path
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    if mode == "postgresql":
        return {"cpu": got["tick_cpu_seconds_median"], "wall": got["tick_wall_seconds_median"]}
    assert got["errors"] == 0, got
    return {"cpu": got["median"], "wall": got["median_wall"], "rss_mb": got["peak_rss_mb"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--modes", default=",".join(MODES), help="of " + ",".join(MODES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ticks", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="an older tree: run it too, alternating")
    parser.add_argument("--fresh", action="store_true", help="every recorded number new each tick")
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    args = parser.parse_args(argv)
    trees = [("after", common.ROOT)]
    if args.baseline:
        trees.insert(0, ("before", args.baseline))
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for mode in args.modes.split(","):
            runs: dict[str, list[dict[str, Any]]] = {code: [] for code, _ in trees}
            for _ in range(args.runs):
                for code, root in trees:
                    run = one(root, mode, size, args.ticks, args.fresh)
                    print(json.dumps({"slos": size, "mode": mode, "code": code, **run}), flush=True)
                    runs[code].append(run)
            for code, _ in trees:
                rows.append(row(size, mode, code, runs[code]))
    common.save(
        "tick-ab-" + args.sizes.replace(",", "-") + ("-fresh" if args.fresh else ""),
        {
            "rows": rows,
            "fresh": args.fresh,
            "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        },
        args.out,
        module="bench.tick_ab",
        argv=argv,
    )
    return 0


def row(size: int, mode: str, code: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"slos": size, "mode": mode, "code": code, "runs": runs}
    for key in ("cpu", "wall", "rss_mb"):
        values = [r[key] for r in runs if key in r]
        if values:
            out[key] = common.median(values)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
