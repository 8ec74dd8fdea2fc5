"""`make demo` end to end: `python -m harness.demo --quick` with a real Prometheus, the real
daemon as a subprocess and the contract-enforcing receivers, at 120x (about 30 s).

Checks the story it tells (exit 0 only when it happened), that it stops everything it started
and leaves no files behind, and that Ctrl-C does the same halfway through."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.prometheus
REPO = Path(__file__).resolve().parents[2]
WORKDIR = re.compile(r"^  files\s+(\S+?)/?(;|$)", re.M)


@pytest.fixture(autouse=True)
def _binaries() -> None:
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("needs the prometheus and promtool binaries (make prometheus)")


def start(tmp: Path, *args: str) -> subprocess.Popen[str]:
    tmp.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "harness.demo", "--quick", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp)},
        start_new_session=True,  # its own process group, as a terminal's foreground job has
    )


def processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


def assert_nothing_left(output: str, tmp: Path) -> None:
    found = WORKDIR.search(output)
    assert found, output
    workdir = found.group(1)
    assert workdir.startswith(str(tmp))
    assert processes_mentioning(workdir) == []  # no prometheus, no sloguard run
    assert list(tmp.iterdir()) == []  # the work dir and everything in it is gone


def at(output: str, pattern: str) -> str:
    """The story time (HH:MM) of the first line matching ``pattern``."""
    found = re.search(r"^(\d\d:\d\d):\d\d  " + pattern, output, re.M)
    assert found, f"no line matching {pattern!r} in:\n{output}"
    return found.group(1)


def test_the_demo_tells_the_story_and_cleans_up(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    started = time.monotonic()
    proc = start(tmp)
    output, _ = proc.communicate(timeout=120)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, output
    assert elapsed < 60, f"took {elapsed:.0f} s"
    # What the intro promises, at the story times it promises them. Each tick is 0.25 s of
    # real time at 120x; a busy machine skips some and shifts the others, so allow a minute
    # before (a window lets go of a sample a little early) and a few after.
    declared = at(output, r"sloguard: checkout-availability: declared SEV1")
    assert "03:03" <= declared < "03:07"  # 1h crosses 14.4x after 52 s of outage
    assert declared <= at(output, r"-> pagerduty trigger critical dedup_key=sloguard-") < "03:08"
    assert declared <= at(output, r"-> webhook   firing SEV1 +webhook-id=sloguard-") < "03:08"
    assert declared <= at(output, r"-> slack     message +\"SEV1 checkout-availability burning")
    assert "03:11" <= at(output, r"sloguard: checkout-availability: down to SEV2") < "03:16"
    assert "03:16" <= at(output, r"sloguard: search-availability: declared SEV3") < "03:21"
    assert "03:16" <= at(output, r"-> opsgenie  create P3 +alias=sloguard-") < "03:22"
    assert "03:36" <= at(output, r"sloguard: checkout-availability: no tier fires") < "03:41"
    assert "03:41" <= at(output, r"sloguard: checkout-availability: resolved") < "03:46"
    assert at(output, r"-> pagerduty resolve +dedup_key=sloguard-\w+  202 accepted")
    assert at(output, r"-> webhook   resolved SEV1")
    assert "catalog-latency        healthy: no notifications" in output
    assert "The story happened as expected (exit 0)." in output
    assert "FAIL" not in output
    assert "Traceback" not in output
    assert_nothing_left(output, tmp)


def test_ctrl_c_halfway_stops_everything_and_removes_the_files(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    proc = start(tmp)
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:  # read until the first page has gone out
        lines.append(line)
        if "-> pagerduty trigger" in line:
            break
    assert "-> pagerduty trigger" in lines[-1], "".join(lines)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    rest, _ = proc.communicate(timeout=30)
    output = "".join(lines) + rest
    assert proc.returncode == 130, output
    assert "stopped (SIGINT): everything the demo started is stopped and removed." in output
    assert "Traceback" not in output
    assert_nothing_left(output, tmp)
