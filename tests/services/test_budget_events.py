"""Budget events end to end: config, tick, the outbox in SQLite, delivery to the receivers.

A scripted budget (tests.support.budget) through the daemon's tick and delivery, to the local
receivers that enforce the contracts (a signed generic webhook, a Slack incoming webhook).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from harness.receivers import SlackReceiver, WebhookReceiver
from sloguard.config import load_config
from sloguard.errors import ConfigError
from tests.support.budget import T0, drive, noisy_budget

SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # Standard Webhooks test vector


def write_config(tmp_path: Path, hook: WebhookReceiver, slack: SlackReceiver, extra: str) -> Path:
    (tmp_path / "whsec").write_text(SECRET)
    (tmp_path / "slack").write_text(slack.webhook_url)
    (tmp_path / "slos.yaml").write_text("")
    path = tmp_path / "sloguard.yaml"
    path.write_text(
        f"""\
prometheus: {{url: "http://127.0.0.1:9"}}
slo_paths: [{tmp_path / "slos.yaml"}]
state_path: {tmp_path / "state.db"}
notifiers:
  - {{name: hook, type: webhook, url: "{hook.url}/hook", secret_file: {tmp_path / "whsec"}}}
  - {{name: chat, type: slack, url_file: {tmp_path / "slack"}}}
routes:
  - {{match: {{severity: [SEV1]}}, notifiers: [hook]}}
  - {{match: {{event: [budget.threshold_crossed, budget.recovered]}}, notifiers: [hook]}}
  - {{match: {{event: [budget.exhausted]}}, notifiers: [chat]}}
{extra}"""
    )
    return path


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_noisy_budget_fires_once_per_crossing(tmp_path: Path, seed: int) -> None:
    with WebhookReceiver(secret=SECRET) as hook, SlackReceiver() as slack:
        asyncio.run(drive(write_config(tmp_path, hook, slack, ""), noisy_budget(seed)))
    crossings = [(e["type"], e["data"]["threshold_percent"]) for e in hook.events]
    assert crossings == [
        ("budget.threshold_crossed", 50.0),
        ("budget.threshold_crossed", 25.0),
        ("budget.recovered", 0.0),  # the exhaustion went to Slack; its end is a recovery
        ("budget.recovered", 25.0),
        ("budget.recovered", 50.0),
    ]
    assert {e["data"]["slo"] for e in hook.events} == {"checkout-availability"}
    headers = [m["blocks"][0]["text"]["text"] for m in slack.messages]
    assert headers == [":no_entry: error budget exhausted: checkout-availability"]
    assert "freeze risky releases" in slack.messages[0]["text"]


def test_configured_lines_and_margin(tmp_path: Path) -> None:
    extra = "budget: {thresholds_percent: [80, 30], hysteresis_percent: 10}\n"
    budget = [0.9, 0.79, 0.85, 0.89, 0.91, 0.2]
    with WebhookReceiver(secret=SECRET) as hook, SlackReceiver() as slack:
        asyncio.run(drive(write_config(tmp_path, hook, slack, extra), budget))
    assert [(e["type"], e["data"]["threshold_percent"]) for e in hook.events] == [
        ("budget.threshold_crossed", 80.0),
        ("budget.recovered", 80.0),
        ("budget.threshold_crossed", 80.0),
        ("budget.threshold_crossed", 30.0),
    ]
    assert slack.messages == []


@pytest.mark.parametrize(
    ("route", "message"),
    [
        pytest.param(
            "  - {match: {event: [budget.exhausted]}, notifiers: [vendor]}\n",
            "notifier 'vendor' cannot take budget events",
            id="webhook-preset-refused",
        ),
        pytest.param(
            "  - {match: {event: [budget.gone]}, notifiers: [hook]}\n",
            "budget.exhausted",
            id="unknown-event",
        ),
    ],
)
def test_bad_budget_routes_are_refused(tmp_path: Path, route: str, message: str) -> None:
    (tmp_path / "slos.yaml").write_text("")
    path = tmp_path / "sloguard.yaml"
    path.write_text(
        f"""\
prometheus: {{url: "http://127.0.0.1:9"}}
slo_paths: [{tmp_path / "slos.yaml"}]
state_path: {tmp_path / "state.db"}
notifiers:
  - {{name: vendor, type: webhook, preset: incident_io, url: "http://127.0.0.1:9/v"}}
  - {{name: hook, type: webhook, url: "http://127.0.0.1:9/hook", secret_env: WH}}
routes:
{route}"""
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value)
    assert "sloguard.yaml:" in str(info.value)


def test_the_level_survives_a_restart(tmp_path: Path) -> None:
    # The level is committed with the state: a new daemon on the same database does not
    # announce the same crossing again.
    with WebhookReceiver(secret=SECRET) as hook, SlackReceiver() as slack:
        config = write_config(tmp_path, hook, slack, "")
        asyncio.run(drive(config, [0.9, 0.4]))
        asyncio.run(drive(config, [0.42, 0.41, 0.9], start=T0 + 3600))
    assert [e["type"] for e in hook.events] == ["budget.threshold_crossed", "budget.recovered"]
