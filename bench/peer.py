"""google's slo-generator and ``sloguard evaluate`` on the same SLOs and the same Prometheus.

    python -m bench.peer [--sizes 100,1000] [--runs 3] [--slo-generator PATH]

slo-generator (``pip install "slo-generator[prometheus]" "setuptools<81"`` into its own venv,
default ``.bench-venv/bin/slo-generator``; never a sloguard dependency) queries at the server's
"now" whatever timestamp it is given, so the fleet's history is backfilled up to now and a live
exporter continues it. Both tools get the same SLOs (same selectors) and the same windows: the
seven windows of sloguard's default tiers plus the 30d period, as slo-generator error-budget
policy steps, so both send 16 queries per SLO (slo-generator: good and bad ``increase`` per
step, one after the other; sloguard: ratio and total ``rate`` per window, merged across SLOs
of one shape, see ``sloguard/engine/_merge.py``). Both are timed as the CLI a person runs,
process start to exit; runs alternate between the tools.

Recorded mode in the same run, on the same Prometheus: it runs the rules ``sloguard generate``
writes for the largest size's SLOs (the smaller sizes' SLOs are among them) from the start,
evaluated every minute, so every tool runs while those rules run; ``sloguard evaluate``
(``--recorded``, the default) then reads every window from the recorded series, and the
direct column passes ``--no-recorded``. The Prometheus CPU time (``/proc/<pid>/stat``) spent
during each run is kept too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import common, fleet
from bench.cost import info_backfill
from sloguard import rules

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


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """User and system CPU time of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], pid: int) -> tuple[float, float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds of ``cmd``, the CPU seconds process ``pid`` (Prometheus) spent meanwhile,
    the CPU seconds of ``cmd`` itself (a loaded machine moves it less than the wall), and how
    it ended."""
    before, own = cpu_seconds(pid), own_cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run(
        cmd, capture_output=True, text=True, cwd=common.ROOT, env=common.env(), check=False
    )
    wall = time.perf_counter() - started
    return wall, cpu_seconds(pid) - before, own_cpu_seconds() - own, done


def evaluated(done: subprocess.CompletedProcess[str]) -> int:
    """SLOs ``sloguard evaluate -o json`` evaluated without an error."""
    if done.returncode not in (0, 1):
        raise RuntimeError(f"sloguard evaluate failed: {done.stderr[-2000:]}")
    return sum(1 for e in json.loads(done.stdout) if not e.get("error"))


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
    sizes = [int(s) for s in args.sizes.split(",")]
    all_slos = work / "sl-all"
    rows: list[dict[str, Any]] = []
    try:
        common.write_slos(all_slos, max(sizes), names, fleet.JOB)
        rule_files = common.generate_rules(all_slos, work / "rules")
        month_ago = int(time.time()) - 30 * 86400
        with fleet.running_fleet(
            services,
            history_seconds=74 * 3600,
            rule_files=rule_files,
            before_start=lambda data: info_backfill(all_slos, data, month_ago, 7200),
        ) as f:
            for series in (f"{rules.RATIO}5m", f"{rules.RATIO}30d", rules.INFO):
                fleet.wait_for(f.url, f"count({series})", max(sizes), timeout=1800)
            slo_generator_config(work / "sg-config.yaml", f.url)
            pid = f.prometheus.process.pid
            for size in sizes:
                rows.append(compare(args, work, names, f.url, pid, size))
                print(json.dumps(rows[-1]), flush=True)
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


def compare(
    args: argparse.Namespace, work: Path, names: list[str], url: str, pid: int, size: int
) -> dict[str, Any]:
    """``args.runs`` alternating runs of slo-generator, sloguard direct and sloguard recorded on
    ``size`` SLOs."""
    sg_dir, sl_dir = work / f"sg-{size}", work / f"sl-{size}"
    slo_generator_docs(sg_dir, size, names)
    common.write_slos(sl_dir, size, names, fleet.JOB)
    sg_cmd = [args.slo_generator, "compute", "-f", str(sg_dir), "-c", str(work / "sg-config.yaml")]
    sl_cmd = [common.python(), "-m", "sloguard", "evaluate", str(sl_dir), "--prometheus", url]
    sl_cmd += ["-o", "json", "--timeout", "120"]
    times: dict[str, list[float]] = {"sg": [], "direct": [], "recorded": []}
    prom: dict[str, list[float]] = {"sg": [], "direct": [], "recorded": []}
    own: dict[str, list[float]] = {"sg": [], "direct": [], "recorded": []}
    sg_reports = sg_nodata = direct_ok = recorded_ok = 0
    for _ in range(args.runs):
        for key, cmd in (
            ("sg", sg_cmd),
            ("direct", [*sl_cmd, "--no-recorded"]),
            ("recorded", [*sl_cmd, "--recorded"]),
        ):
            seconds, cpu, mine, done = timed(cmd, pid)
            times[key].append(seconds)
            prom[key].append(cpu)
            own[key].append(mine)
            if key == "sg":
                text = done.stdout + done.stderr
                sg_reports = len(_SG_REPORT.findall(text))
                sg_nodata = text.count("Not enough valid events")
            elif key == "direct":
                direct_ok = evaluated(done)
            else:
                recorded_ok = evaluated(done)
    sg, direct, recorded = (common.median(times[k]) for k in ("sg", "direct", "recorded"))
    return {
        "slos": size,
        "slo_generator_seconds": times["sg"],
        "sloguard_seconds": times["direct"],
        "recorded_seconds": times["recorded"],
        "slo_generator_median": sg,
        "sloguard_median": direct,
        "recorded_median": recorded,
        "ratio": sg / direct,
        "recorded_ratio": sg / recorded,
        "prometheus_cpu_seconds": {k: common.median(v) for k, v in prom.items()},
        "own_cpu_seconds": {k: common.median(v) for k, v in own.items()},
        "each_run": {"prometheus_cpu_seconds": prom, "own_cpu_seconds": own},
        "slo_generator_reports": sg_reports,
        "slo_generator_no_data": sg_nodata,
        "sloguard_evaluated": direct_ok,
        "recorded_evaluated": recorded_ok,
    }


if __name__ == "__main__":
    raise SystemExit(main())
