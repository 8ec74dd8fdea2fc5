"""Budget events end to end: config, tick, the outbox in SQLite, delivery to the receivers.

The evaluations are scripted (a noisy budget drifting through the lines), everything after
them is the daemon's: the routes and budget policy of a real config file, the tick, the store,
the delivery loop, and real notifiers posting to the local receivers that enforce the
contracts (a signed generic webhook, a Slack incoming webhook).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from harness.receivers import SlackReceiver, WebhookReceiver
from sloguard.app import paging_policy
from sloguard.burn import Evaluation, WindowReading, evaluate
from sloguard.clock import ManualClock
from sloguard.config import load_config
from sloguard.delivery import Deliverer
from sloguard.errors import ConfigError
from sloguard.model import SLO, RatioIndicator
from sloguard.notify import build_notifier
from sloguard.ports import Source
from sloguard.store import Store
from sloguard.tick import Tick

T0 = 1_704_067_200.0
SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # Standard Webhooks test vector
CHECKOUT = SLO("checkout-availability", "checkout", 99.9, 30 * 86400, RatioIndicator("e", "t"))


def noisy_budget(seed: int) -> list[float]:
    """60 % -> 40 % -> hovering at 50 % -> -5 % -> hovering at 0 % -> 60 %, +/- 2 points."""
    rng = random.Random(seed)
    trend = [0.60 - 0.002 * i for i in range(100)]  # through 50 %
    trend += [0.50] * 60  # on the line
    trend += [0.50 - 0.005 * i for i in range(111)]  # through 25 % and 0 %, to -5 %
    trend += [0.0] * 60  # on the exhaustion line
    trend += [0.0 + 0.005 * i for i in range(121)]  # back to 60 %
    return [t + rng.uniform(-0.02, 0.02) for t in trend]


class Script:
    """An ``evaluate`` whose budget left follows ``budget``, one value a tick; windows at 0.1x."""

    def __init__(self, budget: list[float]) -> None:
        self.budget = budget
        self.i = 0

    async def __call__(self, slos: Sequence[SLO], source: Source, at: float) -> list[Evaluation]:
        out = []
        for slo in slos:
            spent = (1.0 - self.budget[self.i]) * slo.budget
            windows = {w: WindowReading(0.0001, 1e6) for w in slo.window_seconds}
            out.append(evaluate(slo, windows, WindowReading(spent, 1e9), at))
        self.i += 1
        return out


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


async def drive(config_path: Path, budget: list[float], start: float = T0) -> None:
    config = load_config(config_path)
    clock = ManualClock(start)
    assert config.state_path is not None
    store = Store.open(config.state_path)
    try:
        async with httpx.AsyncClient() as http:
            notifiers = {n.name: build_notifier(n, http) for n in config.notifiers}
            tick = Tick(
                slos=[CHECKOUT],
                source=object(),  # type: ignore[arg-type]  # the script never queries it
                evaluate=Script(budget),
                paging=paging_policy(config),
                store=store,
                clock=clock,
            )
            deliverer = Deliverer(store, notifiers, clock, rng=random.Random(1))
            for i in range(len(budget)):
                at = start + 30 * i
                clock.set(at)
                await tick.run(at)
                await deliverer.drain()
    finally:
        store.close()


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
            "  - {match: {event: [budget.exhausted]}, notifiers: [pd]}\n",
            "notifier 'pd' cannot take budget events",
            id="pagerduty-refused",
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
  - {{name: pd, type: pagerduty, routing_key_env: PD_KEY}}
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
