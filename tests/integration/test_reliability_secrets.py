"""A full daemon run with every notifier and Prometheus basic auth: no secret anywhere.

The daemon runs as a subprocess (``run --replay-from --speed``) over a recorded outage with the
contract receivers, through a declaration; then its log, ``/metrics``, ``/api/v1/slos``,
``/healthz``, ``/readyz`` and every ``--help`` are scanned for each secret.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness import chaos

pytestmark = [pytest.mark.prometheus, pytest.mark.timeout(300)]
REPO = Path(__file__).resolve().parents[2]
COMMANDS = ("", "validate", "import", "evaluate", "run", "generate", "backtest", "postmortem")


def test_no_secret_in_logs_metrics_status_or_help(tmp_path: Path) -> None:
    plan = chaos.plan(1)
    with chaos.harness(tmp_path, plan, fault="permanent-4xx") as h:
        config = h.config.read_text().replace(
            "log: {level: debug}", 'log: {level: debug}\nhttp: {listen: "127.0.0.1:0"}'
        )
        h.config.write_text(config)
        start = plan.scenario.at(chaos.LEAD + 2 * chaos.MIN)
        replay = ["--replay-from", str(start), "--speed", "20"]
        log = tmp_path / "daemon.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sloguard", "run", "--config", str(h.config), *replay],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
        try:
            url = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and url is None:
                found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", log.read_text())
                url = found.group(1) if found else None
                assert proc.poll() is None, log.read_text()
                time.sleep(0.1)
            assert url, log.read_text()
            # Until the burn is declared and delivered (and the revoked key dead-lettered).
            h.rx.pd.wait_for(lambda a: any(x.accepted for x in a), timeout=120)
            h.rx.hook.wait_for(lambda a: any(x.accepted for x in a), timeout=60)
            pages = {
                p: httpx.get(url + p, timeout=10)
                for p in ("/metrics", "/api/v1/slos", "/healthz", "/readyz")
            }
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    assert pages["/metrics"].status_code == 200
    assert "sloguard_" in pages["/metrics"].text
    assert pages["/api/v1/slos"].status_code == 200
    assert "checkout-availability" in pages["/api/v1/slos"].text
    helps = [
        subprocess.run(
            [sys.executable, "-m", "sloguard", *([c] if c else []), "--help"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        ).stdout
        for c in COMMANDS
    ]
    text = log.read_text()
    assert "declared" in text  # the log did cover an episode
    blobs = {"log": text, **{p: r.text for p, r in pages.items()}, "help": "\n".join(helps)}
    for where, blob in blobs.items():
        for secret in chaos.SECRETS:
            assert secret not in blob, f"{secret[:6]}... in {where}"
