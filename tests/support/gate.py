"""What the gate tests share: SLO files on the incidents scenario, the CLI as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("checkout", "search", "idle")


def availability_yaml(service: str) -> str:
    """A 99.9 % / 30 d availability SLO on ``service`` of the scenarios' generated traffic."""
    sel = f'job="sloguard-test",service="{service}"'
    return f"""\
apiVersion: sloguard/v1
kind: SLO
metadata:
  name: {service}-availability
spec:
  service: {service}
  objective: 99.9
  window: 30d
  indicator:
    ratio:
      errors: sum(rate(http_requests_total{{{sel},code=~"5.."}}[{{{{.window}}}}]))
      total: sum(rate(http_requests_total{{{sel}}}[{{{{.window}}}}]))
"""


def write_slos(directory: Path) -> Path:
    """``directory/shop.yaml`` with the availability SLOs of checkout, search and idle."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "shop.yaml"
    path.write_text("---\n".join(availability_yaml(s) for s in SERVICES))
    return path


def run_gate(*args: str) -> subprocess.CompletedProcess[str]:
    """``sloguard gate ARGS`` from the checkout under test; never a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "sloguard", "gate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stdout + done.stderr
    return done
