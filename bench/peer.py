"""google's slo-generator and ``sloguard evaluate`` on the same SLOs and the same Prometheus.

    python -m bench.peer [--sizes 100,1000] [--runs 3] [--slo-generator PATH]

slo-generator (``pip install "slo-generator[prometheus]" "setuptools<81"`` into its own venv,
default ``.bench-venv/bin/slo-generator``; never a sloguard dependency) queries at the server's
"now" whatever timestamp it is given, so the fleet's history is backfilled up to now and a live
exporter continues it. Both tools get the same SLOs (same selectors) and the same windows: the
seven windows of sloguard's default tiers plus the 30d period, as slo-generator error-budget
policy steps, so both send 16 queries per SLO (slo-generator: good and bad ``increase`` per
step, one after the other; sloguard: ratio and total ``rate`` per window, concurrently). Both
are timed as the CLI a person runs, process start to exit; runs alternate between the tools.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import common, fleet

WINDOWS = (300, 1800, 3600, 7200, 21600, 86400, 259200, 2592000)


def slo_generator_docs(directory: Path, count: int, services: list[str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        service = services[i % len(services)]
        variant = i // len(services)
        sel = f'job="{fleet.JOB}",service="{service}",bench_variant!="{variant}"'
        (directory / f"slo-{i:05d}.yaml").write_text(
            f"""apiVersion: sre.google.com/v2
kind: ServiceLevelObjective
metadata:
  name: {service}-availability-{variant}
  labels: {{service_name: {service}, feature_name: availability, slo_name: v{variant}}}
spec:
  description: Requests to {service} succeed.
  backend: prometheus
  method: good_bad_ratio
  exporters: []
  service_level_indicator:
    filter_good: http_requests_total{{{sel},code!~"5.."}}
    filter_bad: http_requests_total{{{sel},code=~"5.."}}
  goal: 0.999
""",
            encoding="utf-8",
        )


def slo_generator_config(path: Path, url: str) -> None:
    steps = "\n".join(
        f"""      - name: w{w}
        burn_rate_threshold: 14.4
        alert: true
        message_alert: page
        message_ok: ok
        window: {w}"""
        for w in WINDOWS
    )
    path.write_text(
        f"""backends:
  prometheus:
    url: {url}
exporters: {{}}
error_budget_policies:
  default:
    steps:
{steps}
""",
        encoding="utf-8",
    )


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(
        cmd, capture_output=True, text=True, cwd=common.ROOT, env=common.env(), check=False
    )
    return time.perf_counter() - started, done


_SG_REPORT = re.compile(r"\| SLI: ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--slo-generator", default=str(common.ROOT / ".bench-venv" / "bin" / "slo-generator")
    )
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    args = parser.parse_args(argv)
    if not Path(args.slo_generator).exists():
        raise SystemExit(
            f"{args.slo_generator} not found: python3 -m venv .bench-venv && "
            '.bench-venv/bin/pip install "slo-generator[prometheus]" "setuptools<81"'
        )
    version = subprocess.run(
        [args.slo_generator, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="sloguard-bench-peer-"))
    services = fleet.make_services(args.services, time.time() - 34 * 86400)
    names = [s.name for s in services]
    rows: list[dict[str, Any]] = []
    try:
        with fleet.running_fleet(services, history_seconds=74 * 3600) as f:
            time.sleep(20)  # live samples in the 5m window
            slo_generator_config(work / "sg-config.yaml", f.url)
            for size in (int(s) for s in args.sizes.split(",")):
                sg_dir, sl_dir = work / f"sg-{size}", work / f"sl-{size}"
                slo_generator_docs(sg_dir, size, names)
                common.write_slos(sl_dir, size, names, fleet.JOB)
                sg_cmd = [args.slo_generator, "compute", "-f", str(sg_dir)]
                sg_cmd += ["-c", str(work / "sg-config.yaml")]
                sl_cmd = [common.python(), "-m", "sloguard", "evaluate", str(sl_dir)]
                sl_cmd += ["--prometheus", f.url, "-o", "json", "--timeout", "120"]
                sg_times, sl_times = [], []
                sg_reports = sg_nodata = sl_ok = 0
                for _ in range(args.runs):
                    seconds, done = timed(sg_cmd)
                    sg_times.append(seconds)
                    text = done.stdout + done.stderr
                    sg_reports = len(_SG_REPORT.findall(text))
                    sg_nodata = text.count("Not enough valid events")
                    seconds, done = timed(sl_cmd)
                    sl_times.append(seconds)
                    if done.returncode not in (0, 1):
                        raise RuntimeError(f"sloguard evaluate failed: {done.stderr[-2000:]}")
                    sl_ok = sum(1 for e in json.loads(done.stdout) if not e.get("error"))
                row = {
                    "slos": size,
                    "slo_generator_seconds": sg_times,
                    "sloguard_seconds": sl_times,
                    "slo_generator_median": common.median(sg_times),
                    "sloguard_median": common.median(sl_times),
                    "ratio": common.median(sg_times) / common.median(sl_times),
                    "slo_generator_reports": sg_reports,
                    "slo_generator_no_data": sg_nodata,
                    "sloguard_evaluated": sl_ok,
                }
                print(json.dumps(row), flush=True)
                rows.append(row)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    common.save(
        "peer",
        {"slo_generator": version, "windows": list(WINDOWS), "rows": rows},
        args.out,
        module="bench.peer",
        argv=argv,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
