"""What every benchmark shares: the machine, medians, SLO files, results on disk."""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / ".bench-results"


# The load when the benchmark began (this module is imported at its start): what "load average
# before" reports, not the load at the end, which the benchmark itself raised.
_LOAD_AT_START = os.getloadavg()


def machine() -> dict[str, str]:
    def version(cmd: Sequence[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
        except OSError:
            return "not installed"
        return (
            (out.stdout or out.stderr).splitlines()[0].strip()
            if (out.stdout or out.stderr)
            else "?"
        )

    return {
        "nproc": str(os.cpu_count()),
        "python": platform.python_version(),
        "prometheus": version(["prometheus", "--version"]),
        "alertmanager": version(["prometheus-alertmanager", "--version"]),
        "kernel": platform.release(),
        "load_before": " ".join(f"{x:.2f}" for x in _LOAD_AT_START),
    }


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """The command that made this figure, as a person would type it."""
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python -m", module, *map(shlex.quote, args)])


def save(
    name: str,
    data: dict[str, Any],
    out_dir: Path = RESULTS,
    *,
    module: str,
    argv: Sequence[str] | None,
) -> Path:
    """Save one benchmark's results as ``<out_dir>/<name>.json``, with the command (``python -m
    <module> <argv>``; ``argv`` None: this process's arguments) and the machine."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "command": command_line(module, argv),
        "machine": machine(),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        **data,
    }
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def slo_document(name: str, service: str, variant: int, job: str, objective: float = 99.9) -> str:
    """One sloguard/v1 availability SLO on ``service``. ``variant`` adds a matcher on a label the
    series do not have (``!=`` matches them all), so each SLO's PromQL is its own, as in a fleet
    where several SLOs read the same series with different filters: nothing is deduplicated."""
    sel = f'job="{job}",service="{service}",bench_variant!="{variant}"'
    return f"""apiVersion: sloguard/v1
kind: SLO
metadata:
  name: {name}
  labels: {{team: team{variant % 17}}}
spec:
  service: {service}
  objective: {objective}
  window: 30d
  indicator:
    ratio:
      errors: sum(rate(http_requests_total{{{sel},code=~"5.."}}[{{{{.window}}}}]))
      total: sum(rate(http_requests_total{{{sel}}}[{{{{.window}}}}]))
  runbook_url: https://runbooks.example.com/{service}
"""


def write_slos(
    directory: Path, count: int, services: Sequence[str], job: str, *, files: int = 100
) -> list[str]:
    """``count`` SLOs over ``services`` (SLO i reads service i mod len(services)), in up to
    ``files`` files; returns their names."""
    directory.mkdir(parents=True, exist_ok=True)
    names = []
    docs: list[list[str]] = [[] for _ in range(min(files, count))]
    for i in range(count):
        service = services[i % len(services)]
        variant = i // len(services)
        name = f"{service}-availability-{variant}"
        names.append(name)
        docs[i % len(docs)].append(slo_document(name, service, variant, job))
    for n, chunk in enumerate(docs):
        (directory / f"slos-{n:03d}.yaml").write_text("---\n".join(chunk), encoding="utf-8")
    return names


def daemon_config(
    path: Path,
    prometheus_url: str,
    slo_dir: Path,
    state: Path,
    *,
    interval_seconds: float = 30,
    extra: str = "",
) -> Path:
    path.write_text(
        f"""prometheus: {{url: "{prometheus_url}", timeout_seconds: 120}}
slo_paths: ["{slo_dir}"]
state_path: "{state}"
interval_seconds: {interval_seconds}
log: {{level: warning}}
{extra}""",
        encoding="utf-8",
    )
    return path


def python() -> str:
    return sys.executable


def env(root: Path = ROOT) -> dict[str, str]:
    """The environment for subprocesses: the repository (``root``) on the import path."""
    out = dict(os.environ)
    out["PYTHONPATH"] = str(root) + (os.pathsep + out["PYTHONPATH"] if "PYTHONPATH" in out else "")
    return out


def generate_rules(slo_dir: Path, rules_dir: Path, extra: Sequence[str] = ()) -> list[Path]:
    """Run ``sloguard generate`` on ``slo_dir`` into ``rules_dir`` (with ``extra`` options), as
    a user would; the rule files it wrote."""
    subprocess.run(
        [python(), "-m", "sloguard", "generate", str(slo_dir), "-o", str(rules_dir), *extra],
        check=True,
        cwd=ROOT,
        env=env(),
        capture_output=True,
    )
    return sorted(rules_dir.rglob("*.yml"))
