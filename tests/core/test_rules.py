"""Table tests of the pure rule generator: names, windows, labels, order, thresholds."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import yaml

from sloguard.durations import parse_duration
from sloguard.model import DEFAULT_TIERS, SLO, RatioIndicator, RawIndicator, Severity, Tier
from sloguard.rules import (
    prom_duration,
    recorded_windows,
    render_prometheusrule,
    render_rules,
    rule_groups,
    sli_hash,
    sloth_id,
    sloth_slo,
)

DAY = 86400


def slo(name: str = "checkout-availability", service: str = "checkout", **kw: Any) -> SLO:
    base: dict[str, Any] = dict(
        name=name,
        service=service,
        objective_percent=99.9,
        period_seconds=30 * DAY,
        indicator=RatioIndicator("sum(rate(e[{{.window}}]))", "sum(rate(t[{{.window}}]))"),
        labels={"team": "payments"},
    )
    base.update(kw)
    return SLO(**base)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(300, "5m", id="5m"),
        pytest.param(86400, "1d", id="1d"),
        pytest.param(7 * DAY, "1w", id="7d-is-1w-as-prometheus-writes-it"),
        pytest.param(28 * DAY, "4w", id="28d-is-4w"),
        pytest.param(30 * DAY, "30d", id="30d-stays-days"),
        pytest.param(365 * DAY, "1y", id="1y"),
        pytest.param(90 * 60, "1h30m", id="1h30m"),
    ],
)
def test_prom_duration_matches_prometheus(seconds: int, text: str) -> None:
    assert prom_duration(seconds) == text


@pytest.mark.parametrize(
    ("name", "service", "sid", "label"),
    [
        pytest.param(
            "checkout-availability",
            "checkout",
            "checkout-availability",
            "availability",
            id="name-with-service-prefix",
        ),
        pytest.param(
            "availability", "checkout", "checkout-availability", "availability", id="bare-name"
        ),
        pytest.param("checkout-", "checkout", "checkout-", "checkout-", id="prefix-only"),
    ],
)
def test_sloth_id_and_slo_label(name: str, service: str, sid: str, label: str) -> None:
    s = slo(name, service)
    assert (sloth_id(s), sloth_slo(s)) == (sid, label)


@pytest.mark.parametrize(
    ("kw", "windows"),
    [
        pytest.param({}, [300, 1800, 3600, 7200, 21600, DAY, 3 * DAY, 30 * DAY], id="default-30d"),
        pytest.param(
            {"tiers": (Tier(Severity.SEV3, DAY, 7200, 10.0),)},
            [7200, DAY, 30 * DAY],
            id="one-tier-base-is-its-short-window",
        ),
        pytest.param({"tiers": ()}, [300, 30 * DAY], id="no-tiers-still-5m-and-period"),
    ],
)
def test_recorded_windows(kw: dict[str, Any], windows: list[int]) -> None:
    assert list(recorded_windows(slo(**kw))) == windows


def _doc(slos: list[SLO]) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(render_rules(rule_groups(slos), "x"))
    return doc


def _rules(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for g in doc["groups"] for r in g["rules"]]


def test_every_window_has_ratio_errors_and_total_and_period_sums_events() -> None:
    rules = {r.get("record"): r for r in _rules(_doc([slo()])) if "record" in r}
    for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d"):
        assert {
            f"slo:sli_error:ratio_rate{w}",
            f"slo:sli_errors:rate{w}",
            f"slo:sli_total:rate{w}",
        } <= set(rules)
        assert rules[f"slo:sli_error:ratio_rate{w}"]["labels"]["sloth_window"] == w
    period = rules["slo:sli_error:ratio_rate30d"]["expr"]
    assert "sum_over_time(slo:sli_errors:rate5m" in period
    assert "sum_over_time(slo:sli_total:rate5m" in period
    assert "count_over_time" not in period
    meta = {
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:time_period:days",
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
        "sloth_slo_info",
    }
    assert meta <= set(rules)
    info = rules["sloth_slo_info"]["labels"]
    assert info["sloth_objective"] == "99.9"
    assert info["sloguard_sli_hash"] == sli_hash(slo())


def test_raw_indicator_period_is_sloth_average_of_ratios() -> None:
    raw = slo(indicator=RawIndicator("sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))"))
    rules = {r.get("record"): r for r in _rules(_doc([raw])) if "record" in r}
    assert "slo:sli_errors:rate5m" not in rules
    assert (
        "count_over_time(slo:sli_error:ratio_rate5m" in rules["slo:sli_error:ratio_rate30d"]["expr"]
    )


@pytest.mark.parametrize(
    ("tiers", "severities"),
    [
        pytest.param(DEFAULT_TIERS, ["SEV1", "SEV2", "SEV3"], id="default-sev3-tiers-joined"),
        pytest.param((Tier(Severity.SEV3, DAY, 7200, 10.0),), ["SEV3"], id="ticket-only"),
        pytest.param((), [], id="no-tiers-no-alerts"),
    ],
)
def test_one_alert_per_severity(tiers: tuple[Tier, ...], severities: list[str]) -> None:
    alerts = [r for r in _rules(_doc([slo(tiers=tiers)])) if "alert" in r]
    assert [a["labels"]["severity"] for a in alerts] == severities
    if tiers == DEFAULT_TIERS:
        sev3 = alerts[2]["expr"]
        assert sev3.count("\nor\n") == 1
        assert "(3 * 0.001)" in sev3
        assert "(1 * 0.001)" in sev3
        assert alerts[0]["labels"]["sloth_severity"] == "page"
        assert alerts[2]["labels"]["sloth_severity"] == "ticket"


def test_annotations_carry_runbook_and_dashboard() -> None:
    s = slo(runbook_url="https://rb", dashboard_url="https://db")
    alert = next(r for r in _rules(_doc([s])) if "alert" in r)
    assert alert["annotations"]["runbook_url"] == "https://rb"
    assert alert["annotations"]["dashboard_url"] == "https://db"


def test_min_events_guards_both_windows() -> None:
    alert = next(r for r in _rules(_doc([slo(min_events=100)])) if "alert" in r)
    assert "slo:sli_total:rate5m" in alert["expr"]
    assert "* 300 >= 100" in alert["expr"]
    assert "* 3600 >= 100" in alert["expr"]


def test_output_is_independent_of_input_order() -> None:
    a, b = slo("a-one", "a"), slo("b-two", "b")
    assert render_rules(rule_groups([a, b]), "x") == render_rules(rule_groups([b, a]), "x")


def test_colliding_sloth_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="would collide"):
        rule_groups([slo("checkout-availability"), slo("availability")])


def test_hash_changes_with_the_indicator_not_the_objective() -> None:
    base = slo()
    assert sli_hash(base) == sli_hash(dataclasses.replace(base, objective_percent=99.0))
    other = dataclasses.replace(base, indicator=RatioIndicator("x[{{.window}}]", "y[{{.window}}]"))
    assert sli_hash(base) != sli_hash(other)


def test_prometheusrule_wraps_the_same_groups() -> None:
    groups = rule_groups([slo()])
    doc = yaml.safe_load(
        render_prometheusrule(
            groups, "x", name="Checkout_SLOs", namespace="mon", labels={"release": "prom"}
        )
    )
    assert doc["apiVersion"] == "monitoring.coreos.com/v1"
    assert doc["kind"] == "PrometheusRule"
    assert doc["metadata"] == {
        "name": "checkout-slos",
        "namespace": "mon",
        "labels": {"app.kubernetes.io/managed-by": "sloguard", "release": "prom"},
    }
    assert doc["spec"]["groups"] == _doc([slo()])["groups"]


def _sli_groups(
    s: SLO, fast_interval_seconds: int, slow_interval_seconds: int = 0
) -> dict[str, tuple[str, list[str]]]:
    """SLI group kind (fast, global or slow) -> (its interval, the windows it records)."""
    out = {}
    groups = rule_groups(
        [s],
        fast_interval_seconds=fast_interval_seconds,
        slow_interval_seconds=slow_interval_seconds,
    )
    for g in groups:
        if "-sli-" not in g.name:
            continue
        kind = "fast" if "-sli-fast-" in g.name else "slow" if "-sli-slow-" in g.name else "global"
        windows = sorted({r.labels["sloth_window"] for r in g.rules}, key=parse_duration)
        out[kind] = (g.interval, windows)
    return out


SEV1_15M_3H = Tier(Severity.SEV1, 3 * 3600, 900, 2.0)


SEV1_6H_30M = Tier(Severity.SEV1, 6 * 3600, 1800, 5.0)


@pytest.mark.parametrize(
    ("kw", "interval", "want"),
    [
        pytest.param(
            {},
            15,
            {
                "fast": ("15s", ["5m"]),
                "global": ("", ["30m", "1h", "2h", "6h", "1d", "3d", "30d"]),
            },
            id="default-tiers-sev1-short-5m-fast",
        ),
        pytest.param(
            {},
            0,
            {"global": ("", ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"])},
            id="off-every-window-at-the-global-interval",
        ),
        pytest.param(
            {"tiers": (SEV1_15M_3H, DEFAULT_TIERS[1])},
            20,
            {"fast": ("20s", ["15m"]), "global": ("", ["30m", "3h", "6h", "30d"])},
            id="custom-sev1-short-window",
        ),
        pytest.param(
            {"tiers": (DEFAULT_TIERS[0], SEV1_6H_30M)},
            15,
            {"fast": ("15s", ["5m", "30m"]), "global": ("", ["1h", "6h", "30d"])},
            id="two-sev1-tiers-both-short-windows",
        ),
        pytest.param(
            {"tiers": DEFAULT_TIERS[1:]},
            15,
            {"global": ("", ["30m", "2h", "6h", "1d", "3d", "30d"])},
            id="no-sev1-tier-no-fast-group",
        ),
    ],
)
def test_sev1_short_windows_get_a_fast_group(
    kw: dict[str, Any], interval: int, want: dict[str, tuple[str, list[str]]]
) -> None:
    assert _sli_groups(slo(**kw), interval) == want


@pytest.mark.parametrize("kind", ["ratio", "raw"])
def test_fast_group_moves_rules_without_changing_them(kind: str) -> None:
    """The same rules, in the same order per window, with or without the fast group: only
    their group (and its interval) changes, so every recorded number is the same."""
    raw = RawIndicator("sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))")
    s = slo(indicator=raw) if kind == "raw" else slo()

    def by_window(interval: int) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for g in rule_groups([s], fast_interval_seconds=interval):
            for r in g.rules:
                out.setdefault(r.labels.get("sloth_window", g.name), []).append(r)
        return out

    assert by_window(15) == by_window(0)


@pytest.mark.parametrize(
    ("kw", "slow", "want"),
    [
        pytest.param(
            {},
            120,
            {
                "fast": ("15s", ["5m"]),
                "global": ("", ["30m", "1h", "2h"]),
                "slow": ("2m", ["6h", "1d", "3d", "30d"]),
            },
            id="default-tiers-6h-and-longer-and-the-period-slow",
        ),
        pytest.param(
            {},
            0,
            {"fast": ("15s", ["5m"]), "global": ("", ["30m", "1h", "2h", "6h", "1d", "3d", "30d"])},
            id="off-no-slow-group",
        ),
        pytest.param(
            {"tiers": (DEFAULT_TIERS[0],)},
            60,
            {"fast": ("15s", ["5m"]), "global": ("", ["1h"]), "slow": ("1m", ["30d"])},
            id="sev1-only-the-period-alone-slow",
        ),
        pytest.param(
            {"tiers": (DEFAULT_TIERS[0], SEV1_6H_30M)},
            120,
            {"fast": ("15s", ["5m", "30m"]), "global": ("", ["1h"]), "slow": ("2m", ["6h", "30d"])},
            id="two-sev1-tiers",
        ),
    ],
)
def test_long_windows_and_the_period_get_a_slow_group(
    kw: dict[str, Any], slow: int, want: dict[str, tuple[str, list[str]]]
) -> None:
    assert _sli_groups(slo(**kw), 15, slow) == want


@pytest.mark.parametrize(
    ("slow", "want"), [pytest.param(120, "2m", id="2m"), pytest.param(0, "", id="off-global")]
)
def test_meta_group_runs_at_the_slow_interval(slow: int, want: str) -> None:
    (meta,) = [g for g in rule_groups([slo()], slow_interval_seconds=slow) if "-meta-" in g.name]
    (alerts,) = [
        g for g in rule_groups([slo()], slow_interval_seconds=slow) if "-alerts-" in g.name
    ]
    assert (meta.interval, alerts.interval) == (want, "")


@pytest.mark.parametrize("kind", ["ratio", "raw"])
def test_slow_group_moves_rules_without_changing_them(kind: str) -> None:
    """The same rules, in the same order per window, whatever the intervals: only their group
    (and its interval) changes, so every recorded number is the same at its instant."""
    raw = RawIndicator("sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))")
    s = slo(indicator=raw) if kind == "raw" else slo()

    def by_window(fast: int, slow: int) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for g in rule_groups([s], fast_interval_seconds=fast, slow_interval_seconds=slow):
            for r in g.rules:
                out.setdefault(r.labels.get("sloth_window", "meta"), []).append(r)
        return out

    assert by_window(15, 120) == by_window(0, 0) == by_window(15, 0) == by_window(0, 240)


def test_fast_group_interval_is_rendered_before_its_rules() -> None:
    doc = _doc([slo()])
    fast = doc["groups"][0]
    assert list(fast) == ["name", "interval", "rules"]
    assert fast["name"] == "sloguard-slo-sli-fast-recordings-checkout-availability"
    assert fast["interval"] == "15s"
    assert [(g["name"].split("-checkout")[0], g.get("interval")) for g in doc["groups"][1:]] == [
        ("sloguard-slo-sli-recordings", None),
        ("sloguard-slo-sli-slow-recordings", "2m"),
        ("sloguard-slo-meta-recordings", "2m"),
        ("sloguard-slo-alerts", None),
    ]
