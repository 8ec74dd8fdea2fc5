"""The soak: every fault of :mod:`harness.chaos`, several seeded runs each, one table.

    python -m harness.soak [--runs N] [--rounds N] [--seed S] [--out FILE.json]

Prints the markdown table of ``docs/reliability.md`` (fault, runs, episodes, lost, duplicates,
out of order, false resolves, longest delay) and exits 1 when anything was lost, doubled,
reordered or falsely resolved. ``make soak`` runs it with the defaults.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness.chaos import FAULTS, Tally, run_fault


def _table(results: dict[str, list[Tally]], seconds: dict[str, float]) -> str:
    head = (
        "| fault | runs | ticks (kills) | faults injected | episodes | lost | duplicates "
        "| out of order | false resolves | stale sent | dead letters | redelivered "
        "| longest delay, wall | longest delay, evaluated | took |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for fault, tallies in results.items():
        rows.append(
            f"| {fault} | {len(tallies)} "
            f"| {sum(t.runs for t in tallies)} ({sum(t.kills for t in tallies)}) "
            f"| {sum(t.injected for t in tallies)} "
            f"| {sum(t.episodes_expected for t in tallies)} "
            f"| {sum(t.lost for t in tallies)} | {sum(t.duplicates for t in tallies)} "
            f"| {sum(t.out_of_order for t in tallies)} "
            f"| {sum(t.false_resolves for t in tallies)} "
            f"| {sum(t.stale_delivered for t in tallies)}/{sum(t.stale_expected for t in tallies)} "
            f"| {sum(t.dead for t in tallies)}/{sum(t.dead_expected for t in tallies)} "
            f"| {sum(t.redeliveries for t in tallies)} "
            f"| {max(t.max_delay_wall_seconds for t in tallies):.1f} s "
            f"| {max(t.max_delay_evaluated_seconds for t in tallies) / 60:.0f} min "
            f"| {seconds[fault]:.0f} s |"
        )
    return head + "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.soak", description=__doc__)
    parser.add_argument("--runs", type=int, default=2, help="seeded runs per fault")
    parser.add_argument("--rounds", type=int, default=3, help="outages per service per run")
    parser.add_argument("--seed", type=int, default=1, help="first seed; run i uses seed + i")
    parser.add_argument("--fault", action="append", choices=FAULTS, help="only these faults")
    parser.add_argument("--out", type=Path, help="also write every tally as JSON here")
    args = parser.parse_args(argv)
    results: dict[str, list[Tally]] = {}
    seconds: dict[str, float] = {}
    base = Path(tempfile.mkdtemp(prefix="sloguard-soak-"))
    try:
        for fault in args.fault or FAULTS:
            started = time.monotonic()
            for i in range(args.runs):
                work = base / f"{fault}-{i}"
                work.mkdir()
                tally = run_fault(work, fault, rounds=args.rounds, seed=args.seed + i)
                results.setdefault(fault, []).append(tally)
                verdict = "ok" if tally.ok else "PROBLEMS: " + "; ".join(tally.problems[:5])
                print(f"{fault} seed {args.seed + i}: {verdict}", file=sys.stderr, flush=True)
                shutil.rmtree(work, ignore_errors=True)
            seconds[fault] = time.monotonic() - started
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(_table(results, seconds))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        dump = {f: [dataclasses.asdict(t) for t in ts] for f, ts in results.items()}
        args.out.write_text(json.dumps(dump, indent=1, default=str))
    bad = any(not t.ok for ts in results.values() for t in ts)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
