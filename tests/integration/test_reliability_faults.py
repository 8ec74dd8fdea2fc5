"""Faults against sloguard as a real subprocess, a real Prometheus and the contract receivers.

The short, seeded version of ``make soak`` (``python -m harness.soak``): every fault
kind of :mod:`harness.chaos` over one or two rounds of three simultaneous episodes,
counted at the receivers. Timing-robust: the counts must hold wherever a kill or fault lands.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import httpx
import pytest

from harness import chaos

pytestmark = [pytest.mark.prometheus, pytest.mark.timeout(600)]


@pytest.mark.parametrize(
    ("fault", "rounds", "seed"),
    [
        pytest.param("sigkill", 1, 7, id="sigkill-at-seeded-random-points"),
        pytest.param("receiver-mix", 1, 3, id="receivers-5xx-429-timeout-reset-drop-and-a-4xx"),
        pytest.param("receiver-down", 1, 5, id="a-receiver-down-for-15-minutes"),
        pytest.param("prom-mix", 1, 3, id="prometheus-down-slow-garbage-mid-episode"),
    ],
)
def test_nothing_lost_doubled_or_reordered(
    fault: str, rounds: int, seed: int, tmp_path: Path
) -> None:
    tally = chaos.run_fault(tmp_path, fault, rounds=rounds, seed=seed)
    row = json.dumps(chaos.tally_row(tally), indent=1)
    assert tally.problems == [], row
    assert tally.lost == 0, row
    assert tally.duplicates == 0, row
    assert tally.out_of_order == 0, row
    assert tally.false_resolves == 0, row
    assert tally.episodes_decided == tally.episodes_expected == 3 * rounds, row
    assert tally.delivered_complete == tally.episodes_expected, row
    if fault == "sigkill":
        assert tally.kills > 0, row  # the seed does kill
    else:
        assert tally.injected > 0, row  # the seed does inject faults
    if fault == "receiver-mix":
        assert tally.dead == tally.dead_expected == 2 * 3 * rounds, row  # the refused key only
    if fault == "prom-mix":
        assert tally.stale_delivered == tally.stale_expected == 3 * rounds, row


def test_the_checker_sees_a_second_incident_and_an_early_resolve(tmp_path: Path) -> None:
    """The counts can fail: a trigger re-sent after its resolve, a resolve before a trigger,
    a secret in the daemon's output."""
    with chaos.harness(tmp_path, chaos.plan(1, services=1)) as h:
        h.drive()
        clean = chaos.check(h)
        assert clean.problems == [], clean.problems
        incident = h.rx.pd.incidents[0]
        trigger = incident.events[0]
        httpx.post(h.rx.pd.enqueue_url, json=trigger).raise_for_status()
        resolve = {**trigger, "event_action": "resolve", "dedup_key": "never-triggered-key"}
        resolve.pop("payload")
        httpx.post(h.rx.pd.enqueue_url, json=resolve).raise_for_status()
        h.runs.append(dataclasses.replace(h.runs[0], stderr=f"oops {chaos.GENIE_KEY}"))
        spoiled = chaos.check(h)
    assert spoiled.duplicates >= 1
    assert spoiled.out_of_order == 1
    assert any("2 incidents" in p for p in spoiled.problems)
    assert any("a secret" in p for p in spoiled.problems)
