"""The demo's parts without Prometheus: the recorded history, the view, the checks.

The whole demo runs against a real Prometheus in tests/integration/test_demo.py."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import click
import pytest

from harness.demo import story
from harness.demo.checks import Outcome, check_story, summary_lines
from harness.demo.view import arrival_lines, daemon_line, table, why
from harness.promserver import Generated
from harness.receivers import (
    Alert,
    Arrival,
    Incident,
    OpsgenieReceiver,
    PagerDutyReceiver,
    SlackReceiver,
    WebhookIncident,
    WebhookReceiver,
)
from sloguard.burn import Evaluation, TierDecision, TierState
from sloguard.config import load_config
from sloguard.model import Severity, Tier
from sloguard.spec import load_slos
from sloguard.supervisor import SKIPPED_TICK_MESSAGE

MIN = 60
HOUR = 3600


@pytest.fixture(scope="module")
def history() -> Generated:
    return story.history()


def test_history_is_one_continuous_series_per_counter(history: Generated) -> None:
    times = history.times
    assert times[0] == story.DATA_START
    assert times[-1] == story.DATA_END
    assert all(b > a for a, b in itertools.pairwise(times))
    for key, values in history.series.items():
        assert len(values) == len(times), key
        assert all(b >= a for a, b in itertools.pairwise(values)), key  # counters


@pytest.mark.parametrize(
    ("service", "window", "at", "ratio"),
    [
        pytest.param("checkout", 5 * MIN, story.REPLAY_FROM, 0.0005, id="checkout-normal"),
        pytest.param(
            "checkout", 5 * MIN, story.OUTAGE_AT + 5 * MIN, 1.0, id="checkout-outage-5m-all-5xx"
        ),
        pytest.param(
            "checkout",
            30 * MIN,
            story.OUTAGE_AT + 30 * MIN,
            (25 * 0.0005 + 5) / 30,
            id="checkout-30m-holds-the-outage",
        ),
        pytest.param("search", HOUR, story.REPLAY_FROM, 0.004, id="search-burns-at-4x"),
        pytest.param(
            "search",
            3 * 86400,
            story.REPLAY_FROM,
            (62 * 0.0005 + 10 * 0.004) / 72,
            id="search-3d-across-the-coarse-and-fine-parts",
        ),
        pytest.param(
            "checkout",
            30 * 86400,
            story.REPLAY_FROM,
            0.0005,
            id="checkout-30d-a-normal-month",
        ),
        pytest.param("login", 6 * HOUR, story.REPLAY_FROM + 20 * MIN, 0.0001, id="login-fine"),
    ],
)
def test_history_holds_the_story(
    history: Generated,
    service: str,
    window: int,
    at: int,
    ratio: float,
) -> None:
    assert history.error_ratio(service, window, at) == pytest.approx(ratio, rel=1e-9)


def test_the_written_files_load(tmp_path: Path) -> None:
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "shop.yaml").write_text(story.SLO_YAML)
    endpoints = story.Endpoints(
        "http://127.0.0.1:1", "http://127.0.0.1:2/v2/enqueue", "http://127.0.0.1:3", "http://x:4"
    )
    (tmp_path / "sloguard.yaml").write_text(story.config_yaml(endpoints))
    config = load_config(tmp_path / "sloguard.yaml")
    assert config.http.listen == "127.0.0.1:0"  # never 0.0.0.0 in a demo
    slos = {s.name: s for s in load_slos(config.slo_paths)}
    assert set(slos) == set(story.SLOS)
    # The fast-outage SLO pages only: no slow SEV3 tier to hold a 5-minute outage for hours.
    assert [t.severity for t in slos[story.CHECKOUT].tiers] == [Severity.SEV1, Severity.SEV2]
    assert Severity.SEV3 in {t.severity for t in slos[story.SEARCH].tiers}


# --------------------------------------------------------------------------- the view

SEV1_TIER = Tier(Severity.SEV1, 3600, 300, 2.0)


def evaluation(
    slo: str, severity: Severity, long: float, short: float, error: str = ""
) -> Evaluation:
    state = TierState.FIRING if severity is Severity.SEV1 else TierState.CLEAR
    return Evaluation(
        slo=slo,
        at=story.REPLAY_FROM,
        severity=severity,
        burn_rates=MappingProxyType({300: short, 3600: long, 2592000: 0.5}),
        error_budget_remaining=0.476,
        time_to_exhaustion_seconds=None,
        tiers=(TierDecision(SEV1_TIER, 14.4, long, short, state),),
        error=error,
    )


@pytest.mark.parametrize(
    ("e", "expected"),
    [
        pytest.param(
            evaluation("a", Severity.SEV1, 17.2, 200.4),
            "SEV1: 1h and 5m both over 14.4x",
            id="firing",
        ),
        pytest.param(
            evaluation("a", Severity.OK, 83.8, 0.5),
            "1h over 14.4x but 5m not: no SEV1",
            id="draining-after-a-burn",
        ),
        pytest.param(
            evaluation("a", Severity.OK, 10.0, 20.0),
            "5m over 14.4x but 1h not: no SEV1",
            id="short-window-leads-a-burn",
        ),
        pytest.param(evaluation("a", Severity.OK, 0.5, 0.5), "", id="healthy"),
        pytest.param(
            evaluation("a", Severity.NO_DATA, 0.5, 0.5, error="prometheus: timeout"),
            "prometheus: timeout",
            id="error",
        ),
    ],
)
def test_why(e: Evaluation, expected: str) -> None:
    assert why(e) == expected


def test_table_rows_line_up_by_window_and_say_why() -> None:
    lines = [
        click.unstyle(x)
        for x in table(
            story.REPLAY_FROM + 3 * MIN,
            [
                evaluation("checkout", Severity.SEV1, 17.2, 200.4),
                evaluation("x", Severity.OK, 0.5, 0.5),
            ],
            "checkout OK -> SEV1",
        )
    ]
    assert lines == [
        "03:03:00  checkout OK -> SEV1",
        "  SLO       now         5m     1h  budget left",  # no 30d column: the budget says it
        "  checkout  SEV1      200x  17.2x       47.6 %",
        "            why: SEV1: 1h and 5m both over 14.4x",
        "  x         OK       0.50x  0.50x       47.6 %",
    ]
    assert all(len(line) <= 100 for line in lines)


def arrival(
    path: str, body: object, status: int = 202, outcome: str = "accepted", **headers: str
) -> Arrival:
    return Arrival(
        at=0.0,
        method="POST",
        path=path,
        query={},
        headers=dict(headers),
        body=json.dumps(body).encode(),
        status=status,
        outcome=outcome,
    )


EPISODE = "sloguard-55f572422ab22582a1fee97ab2ca60eb"


@pytest.mark.parametrize(
    ("service", "a", "expected"),
    [
        pytest.param(
            "pagerduty",
            arrival(
                "/v2/enqueue",
                {
                    "event_action": "trigger",
                    "dedup_key": EPISODE,
                    "payload": {"severity": "critical", "summary": "SEV1 checkout burning 17x"},
                },
            ),
            [
                f"03:00:00  -> pagerduty trigger critical dedup_key={EPISODE}  202 accepted",
                '             "SEV1 checkout burning 17x"',
            ],
            id="pagerduty-trigger-shows-the-page-title",
        ),
        pytest.param(
            "pagerduty",
            arrival(
                "/v2/enqueue",
                {"event_action": "resolve", "dedup_key": EPISODE + ":stale"},
                outcome="dropped",
            ),
            [
                f"03:00:00  -> pagerduty resolve          dedup_key={EPISODE}:stale  202, nothing "
                "to close: the stale-data alert was never opened"
            ],
            id="pagerduty-companion-resolve-is-explained",
        ),
        pytest.param(
            "opsgenie",
            arrival(f"/v2/alerts/{EPISODE}/close", {"source": "sloguard"}),
            [f"03:00:00  -> opsgenie  close            alias={EPISODE}  202 accepted"],
            id="opsgenie-close",
        ),
        pytest.param(
            "webhook",
            arrival(
                "/hook",
                {"status": "firing", "metadata": {"severity": "SEV1"}},
                status=401,
                outcome="rejected",
                **{"webhook-id": "evt-1"},
            ),
            ["03:00:00  -> webhook   firing SEV1      webhook-id=evt-1  401 rejected"],
            id="webhook-refused-stands-out",
        ),
        pytest.param(
            "slack",
            arrival("/services/T/B/X", {"text": "Resolved: checkout\nmore"}, status=200),
            ['03:00:00  -> slack     message          "Resolved: checkout"  200 accepted'],
            id="slack-shows-its-first-line",
        ),
    ],
)
def test_arrival_lines(service: str, a: Arrival, expected: list[str]) -> None:
    assert [click.unstyle(x) for x in arrival_lines(service, a, story.REPLAY_FROM)] == expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param(
            {"event": "deescalated", "slo": "checkout", "severity": "SEV2", "dedup_key": "e"},
            "03:00:00  sloguard: checkout: down to SEV2 (not paged: pages only go up)",
            id="decision",
        ),
        pytest.param(
            {"level": "warning", "msg": "delivery of declared failed (503), retrying in 5s"},
            "03:00:00  sloguard warning: delivery of declared failed (503), retrying in 5s",
            id="warning",
        ),
        pytest.param({"level": "info", "msg": "delivered declared"}, None, id="routine-hidden"),
        pytest.param(
            {"level": "warning", "msg": SKIPPED_TICK_MESSAGE},
            "03:00:00  sloguard skips ticks: at this replay speed an evaluation outlasts the "
            "replayed interval (expected on a busy machine; a lower --speed avoids it)",
            id="skipped-tick-is-a-note-not-a-warning",
        ),
    ],
)
def test_daemon_lines(record: dict[str, str], expected: str | None) -> None:
    line = daemon_line(record, story.REPLAY_FROM)
    assert (click.unstyle(line) if line else None) == expected


# --------------------------------------------------------------------------- the checks

SEARCH_EPISODE = "sloguard-988abfe86cdc87df4d77f9d8047c378f"


def good_outcome() -> Outcome:
    pd = PagerDutyReceiver()
    pd.incidents.append(
        Incident(1, "k", EPISODE, "resolved", "critical", "SEV1 ...", 0.0, 1.0, ["critical"])
    )
    og = OpsgenieReceiver(api_keys=["k"])
    og.alerts.append(Alert("id", "1", SEARCH_EPISODE, "SEV3 ...", "P3"))
    wh = WebhookReceiver(secret=None, preset="incident_io")
    wh.incidents.append(WebhookIncident(EPISODE, "resolved", "SEV1", "t", 0.0, 1.0))
    sl = SlackReceiver()
    sl.messages += [{"text": f"SEV1 {story.CHECKOUT}"}, {"text": f"Resolved: {story.CHECKOUT}"}]
    for receiver, path in ((pd, "/v2/enqueue"), (og, "/v2/alerts"), (sl, "/s"), (wh, "/hook")):
        receiver._arrivals.append(arrival(path, {}))
    events: list[tuple[float, Mapping[str, Any]]] = [
        (
            1.0,
            {"slo": story.CHECKOUT, "event": "declared", "severity": "SEV1", "dedup_key": EPISODE},
        ),
        (
            2.0,
            {
                "slo": story.SEARCH,
                "event": "declared",
                "severity": "SEV3",
                "dedup_key": SEARCH_EPISODE,
            },
        ),
        (
            3.0,
            {"slo": story.CHECKOUT, "event": "resolved", "severity": "SEV1", "dedup_key": EPISODE},
        ),
    ]
    return Outcome(events, pd, og, wh, sl, daemon_exit=0)


def break_nothing(o: Outcome) -> None:
    pass


def duplicate_page(o: Outcome) -> None:
    first = o.pagerduty.incidents[0]
    o.pagerduty.incidents.append(Incident(2, "k", EPISODE, "triggered", "critical", "", 2.0))
    assert first.dedup_key == EPISODE


def never_resolved(o: Outcome) -> None:
    o.webhook.incidents[0].status = "open"


def healthy_slo_paged(o: Outcome) -> None:
    o.events.append((4.0, {"slo": story.LOGIN, "event": "declared", "severity": "SEV3"}))


def refused_request(o: Outcome) -> None:
    o.slack._arrivals.append(arrival("/s", {}, status=400, outcome="rejected"))


def unclean_stop(o: Outcome) -> None:
    o.daemon_exit = -9


def warned(o: Outcome) -> None:
    o.daemon_problems.append("dead letter: declared of checkout to pd")


def cut_short(o: Outcome) -> None:
    o.ended = "the story did not finish in time"


@pytest.mark.parametrize(
    ("spoil", "failing"),
    [
        pytest.param(break_nothing, [], id="the-story-as-told"),
        pytest.param(duplicate_page, ["pagerduty"], id="two-incidents-for-one-episode"),
        pytest.param(never_resolved, ["incident webhook"], id="incident-left-open"),
        pytest.param(healthy_slo_paged, ["stayed quiet"], id="a-healthy-slo-made-noise"),
        pytest.param(refused_request, ["contracts"], id="a-vendor-refused-a-request"),
        pytest.param(unclean_stop, ["SIGTERM"], id="daemon-killed"),
        pytest.param(warned, ["SIGTERM"], id="daemon-logged-an-error"),
        pytest.param(cut_short, ["ran to the end"], id="replay-cut-short"),
    ],
)
def test_checks_fail_on_what_went_wrong(spoil: object, failing: list[str]) -> None:
    o = good_outcome()
    spoil(o)  # type: ignore[operator]
    checks = check_story(o)
    failed = [c.text for c in checks if not c.ok]
    assert len(failed) == len(failing), failed
    for text, word in zip(failed, failing, strict=True):
        assert word in text
    last = click.unstyle(summary_lines(o, checks, keep=None)[-2])
    assert last.endswith("(exit 0).") == (not failing)
