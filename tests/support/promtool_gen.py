"""Generate ``promtool test rules`` files for an SLO from the burn-rate math.

For an SLO, every severity tier gets two scenarios:

* outage: a full window of baseline traffic (burn 0.25), then 100 % errors. The tier must be
  silent at the last evaluation before the analytic onset ``L x (factor x budget - b0) / (1 - b0)``
  and firing at the first one after it (51.84 s for SEV1 of a 99.9 % / 30d SLO with b0 = 0).
* below: a constant burn of 0.9 x the tier's factor for 1.5 long windows. The tier never fires.

The SLO's indicator is replaced by two synthetic counters (``sloguard_test_errors_total``,
``sloguard_test_requests_total``; ``sum by`` its group labels); everything else (objective,
period, tiers, labels, grouping, min_events) is the SLO's own. The expected alerts and recorded
values at each evaluation come from an independent discrete model of Prometheus' ``rate()``
(samples on one grid, counters starting at 0, so extrapolation cancels) fed through
:func:`sloguard.burn.evaluate`; the floats are built with the same operations Prometheus uses,
so promtool's exact comparison holds.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from sloguard.burn import TierState, WindowReading, evaluate
from sloguard.model import SLO, RatioIndicator, RawIndicator, Severity, Tier
from sloguard.rules import (
    ALERT_NAME,
    number,
    prom_duration,
    recorded_windows,
    render_rules,
    rule_groups,
    sloth_id,
    sloth_slo,
    tier_threshold,
)

ERRORS = "sloguard_test_errors_total"
TOTAL = "sloguard_test_requests_total"
INTERVALS = (10, 15, 30, 60, 300, 900, 1800, 3600)
MAX_STEPS = 450
PER_STEP = 300 * 40_000  # increments are multiples of 300 so 5m rates are integers (exact sums)
BASELINE_BURN = 0.25
ROUND = 1e-12


def synthetic(slo: SLO) -> SLO:
    by = f" by ({', '.join(slo.group_by)})" if slo.group_by else ""
    errors = f"sum{by}(rate({ERRORS}[{{{{.window}}}}]))"
    total = f"sum{by}(rate({TOTAL}[{{{{.window}}}}]))"
    if isinstance(slo.indicator, RawIndicator):
        return dataclasses.replace(slo, indicator=RawIndicator(f"{errors}\n/\n{total}"))
    return dataclasses.replace(slo, indicator=RatioIndicator(errors, total))


def _errors_per_step(ratio: float) -> int:
    """Errors per step (a multiple of 300) giving at most ``ratio``."""
    return 300 * math.floor(ratio * PER_STEP / 300)


@dataclass
class Series:
    """Per-step increments (step k ends at k x interval); counters start at 0 at step 0."""

    errors: list[int]
    total: list[int]

    def cumulative(self) -> tuple[list[int], list[int]]:
        ce, ct = [0], [0]
        for e, t in zip(self.errors, self.total, strict=True):
            ce.append(ce[-1] + e)
            ct.append(ct[-1] + t)
        return ce, ct

    def notation(self) -> tuple[str, str]:
        return _notation(self.errors), _notation(self.total)


def _notation(increments: list[int]) -> str:
    """promtool's 'a+bxN' segments; each yields N+1 values, the next one starts after them."""
    parts: list[str] = []
    value = 0
    i = 0
    first = True
    while i < len(increments):
        j = i
        while j + 1 < len(increments) and increments[j + 1] == increments[i]:
            j += 1
        inc = increments[i]
        if first:
            parts.append(f"0+{inc}x{j - i + 1}")
            first = False
        else:
            parts.append(f"{value + inc}+{inc}x{j - i}")
        value += inc * (j - i + 1)
        i = j + 1
    return " ".join(parts)


@dataclass(frozen=True)
class Reading:
    error_rate: float
    total_rate: float

    @property
    def ratio(self) -> float:
        return self.error_rate / self.total_rate


def window_reading(
    cum: tuple[list[int], list[int]], k: int, window: int, step: int
) -> Reading | None:
    """rate() over [t - window, t] at t = k x step, as Prometheus 2.x computes it on the grid."""
    if window % step:
        if window < step:
            return None
        raise ValueError(f"window {window}s is not a multiple of the step {step}s")
    j0 = max(k - window // step, 0)
    if k - j0 < 1:
        return None
    ce, ct = cum
    # resultValue * (extrapolateToInterval / sampledInterval) / range: the factor is exactly 1.
    return Reading((ce[k] - ce[j0]) * 1.0 / window, (ct[k] - ct[j0]) * 1.0 / window)


def period_ratio(slo: SLO, cum: tuple[list[int], list[int]], k: int, step: int) -> float | None:
    """The recorded period ratio: sum_over_time of base-window rates, or avg of ratios (raw)."""
    base = min(recorded_windows(slo))
    first = max(0, k - slo.period_seconds // step)
    readings = [window_reading(cum, j, base, step) for j in range(first, k + 1)]
    got = [r for r in readings if r is not None]
    if not got:
        return None
    if isinstance(slo.indicator, RawIndicator):
        ratios = [r.ratio for r in got]
        s = 0.0
        for x in ratios:
            s += x
        return s / len(ratios)
    se = st = 0.0
    for r in got:
        se += r.error_rate
        st += r.total_rate
    return se / st


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def prom_round(value: float) -> float:
    """PromQL ``round(v, ROUND)``: absorbs the last-bit differences of rate()'s float steps."""
    inverse = 1.0 / ROUND
    return math.floor(value * inverse + 0.5) / inverse


def go_g4(value: float) -> str:
    return f"{value:.4g}"


def expected_alerts(
    slo: SLO, cum: tuple[list[int], list[int]], k: int, step: int, group: dict[str, str]
) -> list[dict[str, object]]:
    readings = {}
    raw: dict[int, Reading | None] = {}
    for w in slo.window_seconds:
        r = window_reading(cum, k, w, step)
        raw[w] = r
        if r is None:
            readings[w] = WindowReading(None, None)
        else:
            events = r.total_rate * w
            readings[w] = WindowReading(
                r.ratio, None if isinstance(slo.indicator, RawIndicator) else events
            )
    ev = evaluate(slo, readings, None, k * step)
    alerts: list[dict[str, object]] = []
    for severity in (Severity.SEV1, Severity.SEV2, Severity.SEV3):
        firing = [
            d for d in ev.tiers if d.tier.severity is severity and d.state is TierState.FIRING
        ]
        if not firing:
            continue
        short = raw[firing[0].tier.short_seconds]
        assert short is not None
        labels = {
            **dict(slo.labels),
            **group,
            "sloth_id": sloth_id(slo),
            "sloth_service": slo.service,
            "sloth_slo": sloth_slo(slo),
            "severity": str(severity),
            "sloth_severity": "page" if severity.pages else "ticket",
        }
        alerts.append(
            {"exp_labels": labels, "exp_annotations": alert_annotations(slo, severity, short.ratio)}
        )
    return alerts


def alert_annotations(slo: SLO, severity: Severity, value: float) -> dict[str, str]:
    from sloguard.rules import slo_rule_groups

    rule = next(
        r
        for g in slo_rule_groups(slo)
        for r in g.rules
        if r.alert and r.labels.get("severity") == str(severity)
    )
    out = {}
    for key, text in rule.annotations.items():
        text = text.replace("{{$labels.sloth_service}}", slo.service)
        text = text.replace("{{$labels.sloth_slo}}", sloth_slo(slo))
        text = text.replace("{{ $value | humanizePercentage }}", go_g4(value * 100) + "%")
        out[key] = text
    return out


def choose_step(slo: SLO, span: int) -> int:
    for step in INTERVALS:
        if span // step > MAX_STEPS:
            continue
        if all(w % step == 0 or w < step for w in recorded_windows(slo) if w != slo.period_seconds):
            return step
    raise ValueError(f"no step fits {slo.name}")


@dataclass
class Case:
    """One promtool test case and what the math says about it (for assertions in Python too)."""

    name: str
    tier: Tier
    step: int
    test: dict[str, object]
    silent_at: int | None = None  # seconds
    firing_at: int | None = None
    predicted_onset: float | None = None


def _groups(slo: SLO) -> list[dict[str, str]]:
    if not slo.group_by:
        return [{}]
    return [{g: f"{v}-{g}" for g in slo.group_by} for v in ("a", "b")]


def _input_series(slo: SLO, burning: Series, healthy: Series) -> list[dict[str, str]]:
    out = []
    for n, group in enumerate(_groups(slo)):
        series = burning if n == 0 else healthy
        labels = ",".join(f'{k}="{v}"' for k, v in group.items())
        errs, tots = series.notation()
        out.append({"series": f"{ERRORS}{{{labels}}}", "values": errs})
        out.append({"series": f"{TOTAL}{{{labels}}}", "values": tots})
    return out


def _case(
    slo: SLO, name: str, step: int, burning: Series, healthy: Series, eval_steps: list[int]
) -> dict[str, object]:
    groups = _groups(slo)
    cum_b, cum_h = burning.cumulative(), healthy.cumulative()
    alert_tests = []
    expr_tests = []
    for k in sorted(set(eval_steps)):
        exp = []
        for n, group in enumerate(groups):
            exp += expected_alerts(slo, cum_b if n == 0 else cum_h, k, step, group)
        alert_tests.append(
            {"eval_time": f"{k * step}s", "alertname": ALERT_NAME, "exp_alerts": exp}
        )
    # The recorded ratios of the burning group at the last evaluation, exactly.
    k = max(eval_steps)
    samples = []
    for w in recorded_windows(slo):
        value = (
            period_ratio(slo, cum_b, k, step)
            if w == slo.period_seconds
            else (r.ratio if (r := window_reading(cum_b, k, w, step)) else None)
        )
        if value is None:
            continue
        labels = {
            **dict(slo.labels),
            **groups[0],
            "sloth_id": sloth_id(slo),
            "sloth_service": slo.service,
            "sloth_slo": sloth_slo(slo),
            "sloth_window": prom_duration(w),
        }
        name_ = f"slo:sli_error:ratio_rate{prom_duration(w)}"
        sel = ",".join(f"{a}={_q(b)}" for a, b in sorted(labels.items()))
        pick = {"sloth_id": sloth_id(slo), **groups[0]}
        query = ",".join(f"{a}={_q(b)}" for a, b in pick.items())
        samples.append(
            {
                "expr": f"round({name_}{{{query}}}, {ROUND})",
                "eval_time": f"{k * step}s",
                "exp_samples": [{"labels": f"{{{sel}}}", "value": prom_round(value)}],
            }
        )
    expr_tests += samples
    return {
        "name": name,
        "interval": f"{step}s",
        "input_series": _input_series(slo, burning, healthy),
        "alert_rule_test": alert_tests,
        "promql_expr_test": expr_tests,
    }


def cases(slo: SLO) -> list[Case]:
    syn = synthetic(slo)
    b0 = _errors_per_step(BASELINE_BURN * slo.budget)
    out: list[Case] = []
    seen: set[Tier] = set()
    for tier in syn.tiers:
        if tier in seen:
            continue
        seen.add(tier)
        thr = tier_threshold(syn, tier)
        if thr >= 1:
            continue  # a tier that can never fire
        L = tier.long_seconds
        b0_ratio = b0 / PER_STEP
        onset = L * (thr - b0_ratio) / (1 - b0_ratio)
        step = choose_step(syn, int(1.5 * L) + 600)
        k0 = L // step
        k_fire = k0 + math.floor(onset / step) + 1
        k_silent = k_fire - 1
        n = k_fire + 2
        burning = Series([b0] * k0 + [PER_STEP] * (n - k0), [PER_STEP] * n)
        healthy = Series([b0] * n, [PER_STEP] * n)
        test = _case(
            syn,
            f"{sloth_id(syn)} {tier.severity} {tier.long}/{tier.short}: outage",
            step,
            burning,
            healthy,
            [k0, k_silent, k_fire, n],
        )
        out.append(
            Case(
                f"outage-{tier.severity}-{tier.long}",
                tier,
                step,
                test,
                silent_at=k_silent * step - k0 * step,
                firing_at=k_fire * step - k0 * step,
                predicted_onset=onset,
            )
        )
        below = _errors_per_step(0.9 * thr)
        n = int(1.5 * L) // step
        series = Series([below] * n, [PER_STEP] * n)
        test = _case(
            syn,
            f"{sloth_id(syn)} {tier.severity} {tier.long}/{tier.short}: below threshold",
            step,
            series,
            healthy_like(series),
            [L // step, n],
        )
        out.append(Case(f"below-{tier.severity}-{tier.long}", tier, step, test))
    return out


def healthy_like(series: Series) -> Series:
    n = len(series.total)
    return Series([0] * n, [PER_STEP] * n)


def files(slo: SLO, case: Case) -> tuple[str, dict[str, object]]:
    """The rules file text and the test document for one case (rules file named rules.yml)."""
    syn = synthetic(slo)
    rules = render_rules(rule_groups([syn]), "synthetic")
    doc: dict[str, object] = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": f"{case.step}s",
        "group_eval_order": [g.name for g in rule_groups([syn])],
        "tests": [case.test],
    }
    return rules, doc


__all__ = ["Case", "cases", "files", "number", "synthetic", "tier_threshold"]
