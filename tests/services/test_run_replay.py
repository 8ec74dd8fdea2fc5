"""`sloguard run --replay-from TIME --speed N`: what it refuses, before anything starts.

The replay itself runs end to end in tests/integration/test_demo.py (the demo is a replay)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from sloguard.cli import main

PAST = "2024-03-14T03:00:00Z"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "slos").mkdir()
    path = tmp_path / "sloguard.yaml"
    path.write_text(
        'prometheus: {url: "http://127.0.0.1:9"}\n'
        "slo_paths: [slos/]\n"
        "interval_seconds: 30\n"
        "state_path: state/sloguard.db\n"
    )
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--once", "--replay-from", PAST],
            "--replay-from runs the daemon; for one past tick use --once --at",
            id="not-with-once",
        ),
        pytest.param(["--speed", "30"], "--speed needs --replay-from", id="speed-alone"),
        pytest.param(["--replay-from", "yesterday"], "'yesterday' is not a time", id="not-a-time"),
        pytest.param(["--replay-from", "2024-03-14T03:00:00"], "has no timezone", id="no-timezone"),
        pytest.param(
            ["--replay-from", str(int(time.time()) + 3600)],
            "is not in the past: a replay needs recorded data",
            id="from-the-future",
        ),
        pytest.param(
            ["--replay-from", PAST, "--speed", "300"],
            "at 300x a tick every 30s (interval_seconds) comes every 0.100s of real time, "
            "faster than ticks can run; use --speed 150 or less",
            id="ticks-closer-than-0.2s",
        ),
        pytest.param(
            ["--replay-from", PAST, "--speed", "0"], "0 is not a positive factor", id="zero"
        ),
        pytest.param(
            ["--replay-from", PAST, "--speed", "-3"], "-3 is not a positive factor", id="negative"
        ),
    ],
)
def test_refused_with_exit_2_and_a_reason(config: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["run", "--config", str(config), *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not (config.parent / "state").exists()  # refused before anything was opened


def test_help_explains_the_replay() -> None:
    result = CliRunner().invoke(main, ["run", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "replay a past incident into a staging pager at N-times speed" in text
    assert "sloguard run --config staging.yaml --replay-from 2024-01-01T05:50:00Z --speed 30" in (
        text
    )
