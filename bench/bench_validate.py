"""Time ``sloguard validate`` on 10,000 generated SLOs (issue 2: "a few seconds").

    /work/venv/bin/python bench/bench_validate.py [--slos 10000] [--files 100]

Writes the SLOs into a temporary directory (100 files of 100 documents, each with its own
PromQL so nothing is cached), runs the real CLI as a subprocess and prints the seconds.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TEMPLATE = """apiVersion: sloguard/v1
kind: SLO
metadata:
  name: svc{i}-availability
  labels: {{team: team{team}, tier: critical}}
spec:
  service: svc{i}
  description: Requests to svc{i} succeed.
  objective: 99.9
  window: 30d
  indicator:
    ratio:
      errors: sum(rate(http_requests_total{{job="svc{i}",code=~"5.."}}[{{{{.window}}}}]))
      total: sum(rate(http_requests_total{{job="svc{i}"}}[{{{{.window}}}}]))
  min_events: 100
  runbook_url: https://runbooks.example.com/svc{i}
  owner: {{team: team{team}}}
"""


def generate(directory: Path, slos: int, files: int) -> None:
    per_file = max(1, slos // files)
    for f in range(files):
        docs = [
            TEMPLATE.format(i=i, team=i % 17)
            for i in range(f * per_file, min(slos, (f + 1) * per_file))
        ]
        (directory / f"slos-{f:04d}.yaml").write_text("---\n".join(docs), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sloguard-bench-") as tmp:
        directory = Path(tmp)
        generate(directory, args.slos, args.files)
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "sloguard", "validate", str(directory)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - start
    print(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "")
    print(
        f"validated {args.slos} SLOs in {args.files} files: {seconds:.2f} s",
        f"(exit {proc.returncode})",
    )
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
