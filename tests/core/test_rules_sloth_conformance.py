"""Our rules against Sloth's generated ones: same windows, same thresholds, per severity.

Sloth's expected outputs (``out-*.yaml.tpl``, ``examples/_gen/``) are parsed, not compared as
text: Go prints floats differently, and sloguard splits Sloth's page alert into SEV1 and SEV2
and sums the period ratio from event rates. What must be equal, numerically:

* the windows of ``slo:sli_error:ratio_rate<w>`` recorded per ``sloth_id``,
* per alert class (page = SEV1 + SEV2, ticket = SEV3) the set of
  (short window, long window, factor x error budget) of the multi-window conditions.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from sloguard.durations import parse_duration
from sloguard.model import SLO, Severity, Tier
from sloguard.rules import render_rules, rule_groups
from sloguard.spec import load_slos

DAY = 86400
SLOTH = Path(__file__).resolve().parents[1] / "data" / "conformance" / "sloth"
TESTDATA = SLOTH / "test" / "integration" / "prometheus" / "testdata"
EXAMPLES = SLOTH / "examples"
COND = re.compile(
    r"slo:sli_error:ratio_rate(?P<w>\w+)\{[^}]*\} > \((?P<f>[0-9.e+-]+) \* (?P<b>[0-9.e+-]+)\)"
)

Windows = dict[str, set[int]]
Conditions = dict[tuple[str, str], set[tuple[int, int, float]]]


def _groups(text: str) -> list[dict[str, object]]:
    groups = []
    for doc in yaml.safe_load_all(text.replace("{{ .version }}", "dev")):
        if doc:
            groups += (doc["spec"] if doc.get("kind") == "PrometheusRule" else doc)["groups"]
    return groups


def parse(text: str) -> tuple[Windows, Conditions]:
    """Recorded ratio windows per sloth_id, and alert conditions per (sloth_id, page|ticket)."""
    windows: Windows = {}
    conditions: Conditions = {}
    for group in _groups(text):
        for rule in group["rules"]:  # type: ignore[attr-defined]
            labels = rule.get("labels", {})
            record = rule.get("record", "")
            if record.startswith("slo:sli_error:ratio_rate"):
                windows.setdefault(labels["sloth_id"], set()).add(
                    parse_duration(labels["sloth_window"])
                )
            if "alert" in rule:
                sid = re.search(r'sloth_id="([^"]+)"', rule["expr"]).group(1)  # type: ignore[union-attr]
                found = [
                    (parse_duration(m["w"]), float(m["f"]) * float(m["b"]))
                    for m in COND.finditer(rule["expr"])
                ]
                assert len(found) % 2 == 0, rule["expr"]
                key = (sid, labels["sloth_severity"])
                for (short, thr_s), (long, thr_l) in zip(found[::2], found[1::2], strict=True):
                    assert thr_s == thr_l
                    conditions.setdefault(key, set()).add((short, long, round(thr_s, 12)))
    return windows, conditions


def ours(slos: list[SLO]) -> tuple[Windows, Conditions]:
    return parse(render_rules(rule_groups(slos), "conformance"))


def with_period(days: int) -> object:
    return lambda slos: [dataclasses.replace(s, period_seconds=days * DAY) for s in slos]


def custom_7d(slos: list[SLO]) -> list[SLO]:
    """Sloth's test/integration/prometheus/windows/7d.yaml as sloguard tiers."""
    tiers = (
        Tier(Severity.SEV1, 3600, 300, 8.0),
        Tier(Severity.SEV2, 6 * 3600, 1800, 12.5),
        Tier(Severity.SEV3, DAY, 2 * 3600, 20.0),
        Tier(Severity.SEV3, 3 * DAY, 6 * 3600, 42.0),
    )
    return [
        dataclasses.replace(s, period_seconds=7 * DAY, tiers=tiers if s.tiers else ()) for s in slos
    ]


def same(slos: list[SLO]) -> list[SLO]:
    return slos


CASES = [
    pytest.param(TESTDATA / "in-base.yaml", TESTDATA / "out-base.yaml.tpl", same, id="base"),
    pytest.param(TESTDATA / "in-base-k8s.yaml", TESTDATA / "out-base-k8s.yaml.tpl", same, id="k8s"),
    pytest.param(
        TESTDATA / "in-base.yaml",
        TESTDATA / "out-base-28d.yaml.tpl",
        with_period(28),
        id="base-28d",
    ),
    pytest.param(
        TESTDATA / "in-base.yaml",
        TESTDATA / "out-base-custom-windows-7d.yaml.tpl",
        custom_7d,
        id="base-custom-windows-7d",
    ),
    pytest.param(
        TESTDATA / "in-multifile.yaml", TESTDATA / "out-multifile.yaml.tpl", same, id="multifile"
    ),
    pytest.param(
        TESTDATA / "in-multifile-k8s.yaml",
        TESTDATA / "out-multifile-k8s.yaml.tpl",
        same,
        id="multifile-k8s",
    ),
    pytest.param(
        TESTDATA / "in-openslo.yaml", TESTDATA / "out-openslo.yaml.tpl", same, id="openslo"
    ),
    *[
        pytest.param(path, EXAMPLES / "_gen" / path.name, same, id=f"examples/{path.name}")
        for path in sorted(EXAMPLES.glob("*.y*ml"))
        if not any(p in path.name for p in ("plugin", "contrib", "victoria"))
    ],
]


@pytest.mark.parametrize(("source", "expected", "adjust"), CASES)
def test_windows_and_thresholds_equal_sloths(source: Path, expected: Path, adjust: object) -> None:
    slos = adjust(load_slos([source]))  # type: ignore[operator]
    want_windows, want_conditions = parse(expected.read_text())
    got_windows, got_conditions = ours(slos)
    assert set(got_windows) == set(want_windows), "the same SLO ids"
    for slo in slos:
        sid = next(k for k in got_windows if slo.name.endswith(k) or k.endswith(slo.name))
        if slo.tiers:
            assert got_windows[sid] == want_windows[sid], sid
        else:
            # Sloth records every default window even with alerts off; sloguard only what it uses.
            assert got_windows[sid] <= want_windows[sid], sid
    if "openslo" in source.name:
        # Sloth generates no alerts for OpenSLO input; sloguard alerts with its default tiers.
        assert not want_conditions
        return
    assert got_conditions == want_conditions
    assert want_conditions or "no-alerts" in source.name, "the comparison saw some alerts"
