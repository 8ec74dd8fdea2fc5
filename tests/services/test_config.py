"""The daemon config: the documented example, path resolution and located errors."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from sloguard.app import evaluator, paging_policy, retry_policy
from sloguard.burn import Evaluation
from sloguard.config import load_config, parse_config
from sloguard.engine import PROBE, Engine
from sloguard.errors import ConfigError
from sloguard.model import Severity
from tests.support.sources import AT, RATIOS, RulesLoaded, ratio_slo

EXAMPLE = """\
prometheus: {url: "http://127.0.0.1:9090"}
slo_paths: [slo_definitions/]
interval_seconds: 30
state_path: state/sloguard.db
notifiers:
  - {name: pd, type: pagerduty, routing_key_file: secrets/pd-key,
     url: "https://events.pagerduty.com/v2/enqueue"}
  - {name: og, type: opsgenie, api_key_file: /etc/sloguard/og-key, url: "https://api.opsgenie.com"}
  - {name: incidents, type: webhook, url: "https://hooks.example.com/sloguard",
     secret_file: /etc/sloguard/whsec, preset: generic}
  - {name: chat, type: slack, url_file: /etc/sloguard/slack-url}
routes:
  - {match: {severity: [SEV1, SEV2]}, notifiers: [pd, incidents, chat]}
  - {match: {severity: [SEV3], labels: {team: payments}}, notifiers: [og]}
silences:
  - match: {slos: [checkout-availability]}
    start: 2024-01-01T02:00:00Z
    end: "2024-01-01T04:00:00+00:00"
    reason: database upgrade CHG-1234
lifecycle: {quiet_period_seconds: 600, stale_after_seconds: 900}
http: {listen: "0.0.0.0:9464"}
"""


def test_the_documented_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "sloguard.yaml"
    path.write_text(EXAMPLE)
    config = load_config(path)
    assert config.slo_paths == [str(tmp_path / "slo_definitions/")]
    assert config.state_path == str(tmp_path / "state/sloguard.db")
    assert [n.name for n in config.notifiers] == ["pd", "og", "incidents", "chat"]
    assert config.where("og").line == 8
    policy = paging_policy(config)
    assert policy.lifecycle.quiet_period_seconds == 600
    assert policy.routes[1].severities == frozenset({Severity.SEV3})
    assert dict(policy.routes[1].match.labels) == {"team": "payments"}
    (silence,) = policy.silences
    assert (silence.start, silence.end) == (1704074400.0, 1704081600.0)
    assert retry_policy(config).give_up_after_seconds == 86400


def test_relative_secret_files_resolve_against_the_config_dir(tmp_path: Path) -> None:
    path = tmp_path / "sloguard.yaml"
    path.write_text(EXAMPLE)
    pd = load_config(path).notifiers[0]
    assert pd.model_dump()["routing_key_file"] == str(tmp_path / "secrets/pd-key")


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "sloguard.yaml")
    return [str(p) for p in info.value.problems]


MINIMAL = 'prometheus: {url: "http://p:9090"}\nslo_paths: [s]\nstate_path: s.db\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            MINIMAL + "intervall_seconds: 30\n",
            r"sloguard.yaml:4:1: error: intervall_seconds: unknown field",
            id="typo-at-top-level",
        ),
        pytest.param(
            'prometheus: {url: "http://p:9090", timeout: 3}\nslo_paths: [s]\nstate_path: s.db\n',
            r"sloguard.yaml:1:36: error: prometheus.timeout: unknown field",
            id="typo-nested",
        ),
        pytest.param(
            "slo_paths: [s]\nstate_path: s.db\n",
            r"sloguard.yaml:1:1: error: prometheus: required field is missing",
            id="missing-section",
        ),
        pytest.param(
            MINIMAL + "notifiers:\n  - {name: pd, type: pagerduty, routing_key_file: k}\n"
            "routes:\n  - {notifiers: [pd, pager]}\n",
            r"sloguard.yaml:7:22: error: routes\[0\].notifiers\[1\]: no notifier named 'pager'; "
            r"configured notifiers: pd",
            id="route-to-unknown-notifier",
        ),
        pytest.param(
            MINIMAL + "notifiers:\n  - {name: pd, type: pager, routing_key_file: k}\n",
            r"sloguard.yaml:5:\d+: error: notifiers\[0\]",
            id="unknown-notifier-type",
        ),
        pytest.param(
            MINIMAL + "routes:\n  - {match: {severity: [SEV4]}, notifiers: [x]}\n",
            r"sloguard.yaml:5:25: error: routes\[0\].match.severity\[0\]: .*'SEV1'",
            id="bad-severity",
        ),
        pytest.param(
            MINIMAL + "silences:\n  - {match: {}, start: 2024-01-01T00:00:00Z, "
            "end: 2024-01-01T01:00:00Z, reason: x}\n",
            r"sloguard.yaml:5:5: error: silences\[0\]: a silence must match something",
            id="silence-matching-everything",
        ),
        pytest.param(
            MINIMAL + "silences:\n  - {match: {slos: [a]}, start: 2024-01-01T02:00:00Z, "
            "end: 2024-01-01T01:00:00Z, reason: x}\n",
            r"silences\[0\]: end must be after start",
            id="silence-ends-before-it-starts",
        ),
        pytest.param(
            MINIMAL + "silences:\n  - {match: {slos: [a]}, start: 2024-01-01T02:00:00, "
            "end: 2024-01-01T03:00:00Z, reason: x}\n",
            r"silences\[0\].start: .*timezone",
            id="silence-needs-a-timezone",
        ),
        pytest.param(
            MINIMAL + "lifecycle: {quiet_period_seconds: -1}\n",
            r"sloguard.yaml:4:13: error: lifecycle.quiet_period_seconds: .*greater than or equal",
            id="negative-quiet-period",
        ),
        pytest.param(
            MINIMAL + "recorded_series: {mode: always}\n",
            r"sloguard.yaml:4:19: error: recorded_series.mode: Input should be 'auto' or 'off'",
            id="recorded-series-bad-mode",
        ),
        pytest.param(
            MINIMAL + "recorded_series:\n  direct_windows_max_seconds: -60\n",
            r"sloguard.yaml:5:3: error: recorded_series.direct_windows_max_seconds: "
            r".*greater than or equal to 0",
            id="recorded-series-negative-window",
        ),
        pytest.param(
            MINIMAL + "recorded_series:\n  direct_windows_max_seconds: 1h\n",
            r"sloguard.yaml:5:3: error: recorded_series.direct_windows_max_seconds: .*integer",
            id="recorded-series-window-is-seconds",
        ),
        pytest.param(
            MINIMAL + "recorded_series:\n  mode: auto\n  direct_windows_max: 3600\n",
            r"sloguard.yaml:6:3: error: recorded_series.direct_windows_max: unknown field",
            id="recorded-series-typo",
        ),
        pytest.param(
            MINIMAL + "prometheus: [\n",
            r"sloguard.yaml:5:1: error: not valid YAML",
            id="yaml-syntax",
        ),
        pytest.param(
            MINIMAL + 'status_page: {listen: "0.0.0.0:8080", severity_status: {SEV1: down}}\n',
            r"sloguard.yaml:4:.*status_page.severity_status.SEV1",
            id="status-page-unknown-status",
        ),
        pytest.param(
            MINIMAL + "status_page: {title: Acme}\n",
            r"sloguard.yaml:4:.*status_page.listen: required field is missing",
            id="status-page-without-listen",
        ),
        pytest.param(
            "- a\n- b\n",
            r"sloguard.yaml:1:1: error: \(top level\): the config must be a mapping",
            id="not-a-mapping",
        ),
    ],
)
def test_located_errors(text: str, expected: str) -> None:
    got = problems(text)
    assert any(re.search(expected, p) for p in got), got


def test_duplicate_notifier_names_are_located() -> None:
    text = MINIMAL + (
        "notifiers:\n  - {name: pd, type: slack, url_file: a}\n"
        "  - {name: pd, type: slack, url_file: b}\n"
    )
    assert problems(text) == [
        "sloguard.yaml:6:6: error: notifiers[1].name: duplicate notifier name 'pd' "
        "(first defined at notifiers[0])"
    ]


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.yaml: error: cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_recorded_series_defaults_keep_recorded_mode() -> None:
    settings = parse_config(MINIMAL, "sloguard.yaml").recorded_series
    assert (settings.mode, settings.direct_windows_max_seconds) == ("auto", None)


@pytest.mark.parametrize(
    ("section", "recorded_windows"),
    [
        pytest.param("", set(RATIOS) - {300}, id="default-auto-sev1-short-window-direct"),
        pytest.param("recorded_series: {direct_windows_max_seconds: 0}\n", set(RATIOS),
                     id="auto-all-recorded"),
        pytest.param("recorded_series: {direct_windows_max_seconds: 3600}\n",
                     set(RATIOS) - {300, 1800, 3600}, id="auto-paging-windows-direct"),
        pytest.param("recorded_series: {mode: 'off'}\n", set(), id="off"),
    ],
)  # fmt: skip
def test_the_daemon_evaluates_with_the_recorded_series_setting(
    section: str, recorded_windows: set[int]
) -> None:
    config = parse_config(MINIMAL + section, "sloguard.yaml")
    slos = [ratio_slo("a"), ratio_slo("b", svc="search")]
    source = RulesLoaded(slos)
    evaluate = evaluator(config.recorded_series, Engine())

    async def go() -> list[Evaluation]:
        return await evaluate(slos, source, AT)

    evs = asyncio.run(go())
    assert [e.severity for e in evs] == [Severity.SEV1, Severity.SEV1]
    assert source.recorded_windows() == recorded_windows
    probed = any(q == PROBE for q, _ in source.asked)
    assert probed is (config.recorded_series.mode == "auto")
