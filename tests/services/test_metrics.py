"""sloguard's own metrics: values after observing evaluations, parsed back from the exposition."""

from __future__ import annotations

import dataclasses
import math

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sloguard.burn import WindowReading, evaluate, failed
from sloguard.metrics import Metrics
from sloguard.model import SLO, RatioIndicator, Severity
from sloguard.sink import NotificationOutcome, TickOutcome

DAY = 86400
AT = 1_704_090_000.0


def make_slo(name: str, service: str = "checkout", objective: float = 99.9) -> SLO:
    return SLO(
        name=name,
        service=service,
        objective_percent=objective,
        period_seconds=30 * DAY,
        indicator=RatioIndicator('sum(rate(errors{token="s3cr3t-value"}[{{.window}}]))', "t"),
    )


def readings(ratio: float | None, slo: SLO) -> dict[int, WindowReading]:
    return {w: WindowReading(ratio, 1000.0) for w in slo.window_seconds}


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(metrics: Metrics) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def names_for(samples: Samples, slo: str) -> set[str]:
    return {name for (name, labels) in samples if ("slo", slo) in labels}


def test_build_info_and_process_defaults() -> None:
    samples = scrape(Metrics(version="1.2.3", python="3.11.7"))
    assert value(samples, "sloguard_build_info", version="1.2.3", python="3.11.7") == 1.0
    for outcome in TickOutcome:
        assert value(samples, "sloguard_evaluations_total", outcome=outcome.value) == 0.0
    assert value(samples, "sloguard_open_episodes", severity="SEV1") == 0.0
    assert not any(name.endswith("_created") for name, _ in samples)


@pytest.mark.parametrize(
    ("ratio", "severity", "budget", "tte", "burn_5m"),
    [
        # 100 % errors over every window and the period: SEV1, budget long gone.
        pytest.param(1.0, 3.0, 1.0 - 1.0 / 0.001, 0.0, 1000.0, id="total-outage-sev1"),
        # 0.05 % errors: burn 0.5 everywhere, half the budget left, 30 days at this pace.
        pytest.param(0.0005, 0.0, 0.5, 0.5 * 30 * DAY / 0.5, 0.5, id="healthy-half-budget"),
        # No errors at all: nothing burns, so the budget is never exhausted (+Inf).
        pytest.param(0.0, 0.0, 1.0, math.inf, 0.0, id="no-errors-never-exhausted"),
        # 0.2 %: burn 2 (below every factor except SEV3's 3d/6h at 1).
        pytest.param(0.002, 1.0, -1.0, 0.0, 2.0, id="slow-burn-sev3-overspent"),
    ],
)
def test_per_slo_values(
    ratio: float, severity: float, budget: float, tte: float, burn_5m: float
) -> None:
    slo = make_slo("checkout-availability")
    ev = evaluate(slo, readings(ratio, slo), WindowReading(ratio, 1e6), AT)
    m = Metrics()
    m.observe_evaluations([ev], {ev.slo: slo})
    samples = scrape(m)
    labels = {"slo": "checkout-availability", "service": "checkout"}
    assert value(samples, "sloguard_slo_severity", **labels) == severity
    assert value(samples, "sloguard_slo_no_data", **labels) == 0.0
    assert value(samples, "sloguard_slo_objective_ratio", **labels) == pytest.approx(0.999)
    assert value(samples, "sloguard_slo_error_budget_remaining_ratio", **labels) == pytest.approx(
        budget
    )
    assert value(samples, "sloguard_slo_time_to_exhaustion_seconds", **labels) == pytest.approx(tte)
    assert value(samples, "sloguard_slo_burn_rate", window="5m", **labels) == pytest.approx(burn_5m)
    windows = {dict(lbl)["window"] for (name, lbl) in samples if name == "sloguard_slo_burn_rate"}
    assert windows == {"5m", "30m", "1h", "2h", "6h", "1d", "3d"}


def test_no_data_keeps_severity_at_minus_one_and_drops_unknown_values() -> None:
    slo = make_slo("search-latency", service="search")
    ok = evaluate(slo, readings(0.0005, slo), WindowReading(0.0005, 1e6), AT)
    gone = failed(slo, AT + 30, "Prometheus unreachable: http://u:s3cr3t-value@prom/ timed out")
    m = Metrics()
    m.observe_evaluations([ok], {ok.slo: slo})
    m.observe_evaluations([gone], {gone.slo: slo})
    samples = scrape(m)
    labels = {"slo": "search-latency", "service": "search"}
    assert value(samples, "sloguard_slo_severity", **labels) == float(Severity.NO_DATA)
    assert value(samples, "sloguard_slo_no_data", **labels) == 1.0
    assert value(samples, "sloguard_slo_objective_ratio", **labels) == pytest.approx(0.999)
    # Unknown is absent, not a stale number from the previous tick and not an invented 0.
    assert names_for(samples, "search-latency") == {
        "sloguard_slo_severity",
        "sloguard_slo_no_data",
        "sloguard_slo_objective_ratio",
    }


def test_series_of_a_removed_slo_disappear_and_others_stay() -> None:
    a, b = make_slo("a-availability"), make_slo("b-availability", service="billing")
    evs = [evaluate(s, readings(0.001, s), WindowReading(0.001, 1e6), AT) for s in (a, b)]
    m = Metrics()
    m.observe_evaluations(evs, {a.name: a, b.name: b})
    before = scrape(m)
    assert len(names_for(before, "b-availability")) == 6
    m.observe_evaluations(evs[:1], {a.name: a})  # after a reload, b is gone
    after = scrape(m)
    assert names_for(after, "b-availability") == set()
    assert names_for(after, "a-availability") == names_for(before, "a-availability")
    assert value(after, "sloguard_slo_burn_rate", slo="a-availability", service="checkout",
                 window="1h") == pytest.approx(1.0)  # fmt: skip


def test_removed_window_disappears_when_tiers_change() -> None:
    slo = make_slo("a")
    m = Metrics()
    m.observe_evaluations([evaluate(slo, readings(0.001, slo), None, AT)], {"a": slo})
    fewer = dataclasses.replace(slo, tiers=slo.tiers[:1])
    m.observe_evaluations([evaluate(fewer, readings(0.001, fewer), None, AT)], {"a": fewer})
    windows = {dict(lbl)["window"] for (name, lbl) in scrape(m) if name == "sloguard_slo_burn_rate"}
    assert windows == {"5m", "1h"}


def test_ticks_reloads_notifications_outbox_episodes() -> None:
    m = Metrics()
    m.observe_tick(0.2, TickOutcome.SUCCESS, at=AT)
    m.observe_tick(0.4, TickOutcome.PARTIAL, at=AT + 30)
    m.observe_tick(3.0, TickOutcome.FAILURE, at=AT + 60)
    m.observe_tick(0.0, TickOutcome.SKIPPED, at=AT + 90)
    m.set_prometheus_up(False)
    m.declare_integrations(["pagerduty", "webhook"])
    m.count_notification("pagerduty", NotificationOutcome.SENT)
    m.count_notification("pagerduty", "retry")
    m.set_outbox(pending=3, dead_letters=1)
    m.config_reloaded(True, AT)
    m.config_reloaded(False, AT + 100)
    m.set_open_episodes({Severity.SEV1: 2})
    s = scrape(m)
    assert value(s, "sloguard_evaluations_total", outcome="success") == 1.0
    assert value(s, "sloguard_evaluations_total", outcome="skipped") == 1.0
    assert value(s, "sloguard_evaluation_duration_seconds_count") == 3.0  # skipped is not timed
    assert value(s, "sloguard_evaluation_duration_seconds_sum") == pytest.approx(3.6)
    assert value(s, "sloguard_evaluation_duration_seconds_bucket", le="0.25") == 1.0
    assert value(s, "sloguard_last_successful_evaluation_timestamp_seconds") == AT + 30
    assert value(s, "sloguard_prometheus_up") == 0.0
    assert value(s, "sloguard_notifications_total", integration="pagerduty", outcome="sent") == 1.0
    assert value(s, "sloguard_notifications_total", integration="pagerduty", outcome="retry") == 1.0
    assert (
        value(s, "sloguard_notifications_total", integration="webhook", outcome="dead_letter")
        == 0.0
    )
    assert value(s, "sloguard_outbox_pending") == 3.0
    assert value(s, "sloguard_outbox_dead_letters") == 1.0
    assert value(s, "sloguard_config_reload_success") == 0.0
    assert value(s, "sloguard_config_reload_timestamp_seconds") == AT  # last *successful* one
    assert value(s, "sloguard_config_reloads_total", outcome="failure") == 1.0
    assert value(s, "sloguard_open_episodes", severity="SEV1") == 2.0
    assert value(s, "sloguard_open_episodes", severity="SEV2") == 0.0


@pytest.mark.parametrize(
    "integration",
    [
        pytest.param("https://events.pagerduty.com/v2/enqueue", id="url"),
        pytest.param("PagerDuty Prod", id="free-text"),
        pytest.param("", id="empty"),
        pytest.param("x" * 40, id="too-long"),
    ],
)
def test_integration_label_is_bounded(integration: str) -> None:
    with pytest.raises(ValueError, match="short lowercase word"):
        Metrics().count_notification(integration, NotificationOutcome.SENT)


def test_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError):
        Metrics().count_notification("pagerduty", "exploded")


def test_no_secret_like_strings_in_the_exposition() -> None:
    # The query (with a credential-looking matcher) and the error text (with a URL password)
    # must never become label values.
    slo = make_slo("a")
    m = Metrics()
    m.observe_evaluations(
        [failed(slo, AT, "GET http://admin:s3cr3t-value@prom:9090 failed")], {"a": slo}
    )
    text = m.render().decode()
    assert "s3cr3t" not in text
    assert "http://" not in text


def test_two_instances_do_not_share_state() -> None:
    a, b = Metrics(), Metrics()
    a.set_outbox(5, 0)
    assert value(scrape(b), "sloguard_outbox_pending") == 0.0
