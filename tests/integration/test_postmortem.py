"""A recorded episode's postmortem: driven tick by tick (`Parts.once(at)`) over a real
Prometheus, paging the contract-enforcing receivers; the draft in the incident.resolved webhook
and from `sloguard postmortem` has the right timeline and budget figures."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from harness import scenarios as sc
from harness.receivers import PagerDutyReceiver, WebhookReceiver
from sloguard.app import open_daemon
from sloguard.backtest import Options, replay
from sloguard.clock import ManualClock
from sloguard.config import load_config
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.spec import load_slos
from tests.support.backtest import slo_yaml
from tests.support.prom import Served

pytestmark = pytest.mark.prometheus
REPO = Path(__file__).resolve().parents[2]
MIN = 60
ROUTING_KEY = "R0utingKeyPostmortem0123456789ab"
WEBHOOK_SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def postmortem_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sloguard", "postmortem", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def section(markdown: str, title: str) -> list[str]:
    return markdown.split(f"## {title}\n\n")[1].split("\n\n")[0].splitlines()


def test_postmortem_of_a_recorded_outage(incidents: Served, tmp_path: Path) -> None:
    scenario = incidents.scenario
    checkout_only = slo_yaml(scenario.job, tiers=True).split("---\n")[0]
    (tmp_path / "slos.yaml").write_text(checkout_only)
    (tmp_path / "pd").write_text(ROUTING_KEY + "\n")
    (tmp_path / "whsec").write_text(WEBHOOK_SECRET + "\n")
    start = scenario.at(sc.OUTAGE_START - MIN) + 7
    end = scenario.at(sc.OUTAGE_END + 40 * MIN) + 7
    ticks = [start + 30 * i for i in range(int((end - start) // 30) + 1)]
    with (
        PagerDutyReceiver(routing_keys=[ROUTING_KEY]) as pd,
        WebhookReceiver(secret=WEBHOOK_SECRET) as hook,
    ):
        (tmp_path / "sloguard.yaml").write_text(
            f"""\
prometheus: {{url: "{incidents.url}"}}
slo_paths: [slos.yaml]
state_path: state/sloguard.db
notifiers:
  - {{name: pd, type: pagerduty, routing_key_file: pd, url: "{pd.enqueue_url}"}}
  - {{name: incidents, type: webhook, url: "{hook.url}/hook", secret_file: whsec}}
routes:
  - {{match: {{severity: [SEV1, SEV2]}}, notifiers: [pd, incidents]}}
"""
        )

        async def drive() -> None:
            config = load_config(tmp_path / "sloguard.yaml")
            clock = ManualClock(start)
            async with open_daemon(config, clock=clock) as daemon:
                for at in ticks:
                    clock.set(at)
                    report = await daemon.once(at)
                    assert report.failures == ()

        asyncio.run(drive())
        resolved = [e for e in hook.events if e["type"] == "incident.resolved"]
    assert len(resolved) == 1
    draft = resolved[0]["data"]["postmortem_markdown"]

    # The backtest over the same instants measures the same impact.
    async def backtest() -> float:
        async with PrometheusClient(PrometheusConfig(url=incidents.url)) as client:
            result = await replay(
                load_slos([tmp_path / "slos.yaml"]), client, Options(start, end, 30)
            )
        (episode,) = result.episodes
        return episode.budget_consumed

    consumed = asyncio.run(backtest())
    assert consumed == pytest.approx(1000 * 20 * MIN / (30 * 86400), rel=0.02)
    outage = scenario.at(sc.OUTAGE_START)
    assert draft.startswith("# Postmortem draft: checkout-availability, SEV1, 2024-01-01\n")
    # Burn: the 5m window sees the first errors at +37 s; the 1h window crosses 14.4x at +67 s.
    assert start + 30 * 3 == outage + 37
    timeline = section(draft, "Timeline (UTC)")
    assert timeline[:4] == [
        "- 2024-01-01T06:00:37Z Burn starts: the 5m burn rate goes above 1x (spending the "
        "budget faster than the SLO period allows)",
        "- 2024-01-01T06:01:07Z Declared **SEV1** — paged",
        "- 2024-01-01T06:01:07Z notification `declared` to `pd` delivered (1 attempt)",
        "- 2024-01-01T06:01:07Z notification `declared` to `incidents` delivered (1 attempt)",
    ]
    kinds = [line.split("Z ", 1)[1] for line in timeline[4:]]
    assert kinds == [
        "De-escalated **SEV2** (from SEV1)",
        "No tier firing; quiet period starts",
        "Resolved (peak SEV1) — paged",
    ]
    impact = section(draft, "Impact")
    assert "- **Peak burn rate** (5m): 1000x" in impact
    assert f"- **Error budget consumed during the episode**: {consumed * 100:.2f} %" in impact
    assert "- **Time from first burn to declaration**: 30s" in impact
    assert "- **Owner**: team: payments" in impact
    assert "- **Service**: checkout" in impact
    assert section(draft, "Links")[:2] == [
        "- Runbook: https://runbooks.example.com/checkout",
        "- Dashboard: https://grafana.example.com/d/checkout",
    ]
    episode_id = resolved[0]["data"]["episode_id"]

    # Later, from the state database: the resolve notifications and their outcomes are in too.
    listing = postmortem_cli("--list", "--config", str(tmp_path / "sloguard.yaml"))
    assert listing.returncode == 0, listing.stderr
    (row,) = listing.stdout.splitlines()[1:]
    assert row.split()[:5] == [
        episode_id, "checkout-availability", "2024-01-01T06:01:07Z", "2024-01-01T06:55:07Z",
        "SEV1",
    ]  # fmt: skip
    again = postmortem_cli(episode_id[:16], "--config", str(tmp_path / "sloguard.yaml"))
    assert again.returncode == 0, again.stderr
    later = section(again.stdout, "Timeline (UTC)")
    assert later[: len(timeline)] == timeline
    assert [line.split("Z ", 1)[1] for line in later[len(timeline) :]] == [
        "notification `resolved` to `pd` delivered (1 attempt)",
        "notification `resolved` to `incidents` delivered (1 attempt)",
    ]
    assert section(again.stdout, "Impact") == impact
    # Without the config, the SLO facts come from the stored notifications.
    bare = postmortem_cli(episode_id, "--state", str(tmp_path / "state" / "sloguard.db"))
    assert bare.returncode == 0, bare.stderr
    assert section(bare.stdout, "Impact") == impact
    missing = postmortem_cli("sloguard-nope", "--state", str(tmp_path / "state" / "sloguard.db"))
    assert missing.returncode == 1
    assert "no episode 'sloguard-nope'" in missing.stderr
    assert "Traceback" not in missing.stderr
