"""promtool proves the generated rules: they load, and alerts fire when the math says they do."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sloguard.model import SLO, RatioIndicator, RawIndicator, Severity, Tier
from sloguard.rules import render_rules, rule_groups
from sloguard.spec import load_slos
from tests.support import promtool_gen

DAY = 86400
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

pytestmark = pytest.mark.prometheus


def _slo(name: str = "checkout-availability", **kw: object) -> SLO:
    base: dict[str, object] = dict(
        name=name,
        service="checkout",
        objective_percent=99.9,
        period_seconds=30 * DAY,
        indicator=RatioIndicator(
            'sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))',
            'sum(rate(http_requests_total{job="checkout"}[{{.window}}]))',
        ),
        labels={"team": "payments"},
        runbook_url="https://runbooks.example.com/checkout",
        dashboard_url="https://grafana.example.com/d/checkout",
    )
    base.update(kw)
    return SLO(**base)  # type: ignore[arg-type]


ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [pytest.param(s, id=s.name) for s in load_slos([ROOT / "slo_definitions"])]
SLOS = [
    *EXAMPLES,
    pytest.param(
        _slo(
            "checkout-raw",
            indicator=RawIndicator("sum(rate(x_err[{{.window}}])) / sum(rate(x[{{.window}}]))"),
        ),
        id="raw",
    ),
    pytest.param(
        _slo("checkout-by-route", group_by=("route",), labels={"team": 'pay"ments'}),
        id="grouped-quoted-label",
    ),
    pytest.param(
        _slo(
            "checkout-custom",
            period_seconds=7 * DAY,
            tiers=(
                Tier(Severity.SEV1, 3600, 300, 8.0),
                Tier(Severity.SEV2, 6 * 3600, 1800, 12.5),
                Tier(Severity.SEV3, DAY, 2 * 3600, 20.0),
                Tier(Severity.SEV3, 3 * DAY, 6 * 3600, 42.0),
            ),
        ),
        id="custom-7d-tiers",
    ),
]


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("slo", SLOS)
def test_generated_rules_pass_promtool_check(tmp_path: Path, slo: SLO) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(render_rules(rule_groups([slo]), "test"))
    proc = run_promtool("check", "rules", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


@pytest.mark.parametrize("slo", SLOS)
def test_alerts_fire_when_the_math_predicts(tmp_path: Path, slo: SLO) -> None:
    cases = promtool_gen.cases(slo)
    assert cases, "every SLO with tiers gets cases"
    by_step: dict[int, list[promtool_gen.Case]] = {}
    for case in cases:
        by_step.setdefault(case.step, []).append(case)
        if case.predicted_onset is not None:
            # The analytic onset lies between the last silent and the first firing evaluation.
            assert case.silent_at is not None
            assert case.firing_at is not None
            assert case.silent_at <= case.predicted_onset < case.firing_at
    files = []
    for step, group in sorted(by_step.items()):
        rules, doc = promtool_gen.files(slo, group[0])
        (tmp_path / "rules.yml").write_text(rules)
        doc["tests"] = [c.test for c in group]
        path = tmp_path / f"test-{step}.yml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False, width=1 << 16))
        files.append(str(path))
    proc = run_promtool("test", "rules", *files)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]


@pytest.mark.parametrize(
    "group_by", [pytest.param((), id="ungrouped"), pytest.param(("route",), id="grouped")]
)
def test_a_service_that_never_failed_records_zero_not_a_gap(
    tmp_path: Path, group_by: tuple[str, ...]
) -> None:
    # Only the total counter exists: client libraries create the 5xx series on the first error.
    slo = promtool_gen.synthetic(_slo("checkout-clean", group_by=group_by))
    (tmp_path / "rules.yml").write_text(render_rules(rule_groups([slo]), "test"))
    labels = '{route="a"}' if group_by else ""
    route = ',route="a"' if group_by else ""
    doc = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "group_eval_order": [g.name for g in rule_groups([slo])],
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f"{promtool_gen.TOTAL}{labels}", "values": "0+600x120"}
                ],
                "promql_expr_test": [
                    {
                        "expr": f'{name}{{sloth_id="checkout-clean"{route}}}',
                        "eval_time": "2h",
                        "exp_samples": [
                            {
                                "labels": f'{name}{{sloth_id="checkout-clean",'
                                f'sloth_service="checkout",sloth_slo="clean",'
                                f'sloth_window="{w}",team="payments"{route}}}',
                                "value": 0,
                            }
                        ],
                    }
                    for name, w in (
                        ("slo:sli_error:ratio_rate5m", "5m"),
                        ("slo:sli_error:ratio_rate1h", "1h"),
                        ("slo:sli_error:ratio_rate30d", "30d"),
                    )
                ],
                "alert_rule_test": [
                    {"eval_time": "2h", "alertname": "SLOErrorBudgetBurn", "exp_alerts": []}
                ],
            }
        ],
    }
    path = tmp_path / "test.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = run_promtool("test", "rules", str(path))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
