"""The benchmark scripts in bench/ still run, on a toy scale (10 SLOs, one run each), and the
report renders what they saved. Figures are not checked: these are benchmarks, not timed tests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bench import (
    bench_validate,
    common,
    cost,
    evaluate_ab,
    outbox,
    page,
    profile_tick,
    report,
    tick_ab,
)

pytestmark = pytest.mark.prometheus


@pytest.fixture(autouse=True)
def _needs_prometheus() -> None:
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("needs prometheus and promtool")


def test_cost_direct_and_recorded_on_ten_slos(tmp_path: Path) -> None:
    args = ["--sizes", "10", "--services", "4", "--history-hours", "1", "--ticks", "2"]
    args += ["--settle-seconds", "0", "--rule-interval", "1s", "--out", str(tmp_path)]
    assert cost.main(args) == 0
    rows = json.loads((tmp_path / "cost.json").read_text())["rows"]
    by_mode = {r["mode"]: r for r in rows}
    # The ten SLOs differ only in their service (and in three bench_variant values): merged,
    # they take fewer queries than SLOs (at most 2 per SLO is the bound); no rules: no probe.
    direct = by_mode["direct"]
    assert direct["queries"] == direct["planned"]["direct"] < 10
    assert by_mode["recorded"]["queries"] == 2 + 15  # probe, period probe, one per series
    for r in rows:
        assert r["failures"] == 0
        assert r["severities"] == {"OK": 10}, r


def test_outbox_drains_every_notification(tmp_path: Path) -> None:
    """The receiver and the drain each in a process of their own."""
    argv = ["--notifications", "10", "--runs", "1", "--out", str(tmp_path)]
    assert outbox.main(argv) == 0
    rows = json.loads((tmp_path / "outbox.json").read_text())["rows"]
    assert [(r["receiver"], r["code"]) for r in rows] == [
        ("pagerduty", "after"),
        ("webhook", "after"),
    ]
    assert all(r["all_delivered"] for r in rows)
    assert all(r["median_cpu_ms_per_notification"] > 0 for r in rows)


def test_validate_and_the_report(tmp_path: Path) -> None:
    argv = ["--slos", "10", "--files", "2", "--runs", "1", "--out", str(tmp_path)]
    assert bench_validate.main(argv) == 0
    out = tmp_path / "benchmarks.md"
    assert report.main(["--results", str(tmp_path), "--out", str(out)]) == 0
    text = out.read_text()
    assert "10 SLOs in 2 files" in text
    assert "python -m bench.bench_validate --slos 10" in text
    assert "Not measured in this report: run `python -m bench.page --runs 5`" in text


def test_the_alertmanager_config_is_valid(tmp_path: Path) -> None:
    if shutil.which("amtool") is None:
        pytest.skip("needs amtool")
    path = tmp_path / "am.yml"
    path.write_text(page.alertmanager_config("http://127.0.0.1:9/v2/enqueue"))
    done = subprocess.run(["amtool", "check-config", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    config = yaml.safe_load(path.read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers["pd"]["pagerduty_configs"][0]["routing_key"] == page.KEYS["A"]
    assert set(receivers["tickets"]) == {"name"}  # tickets go nowhere: pipeline A pages only
    assert config["route"]["routes"] == [{"matchers": ['sloth_severity="page"'], "receiver": "pd"}]


def test_slo_documents_differ_per_slo_and_share_series(tmp_path: Path) -> None:
    names = common.write_slos(tmp_path, 6, ["a", "b", "c"], "bench", files=2)
    assert names[0] == "a-availability-0"
    assert names[3] == "a-availability-1"
    texts = "".join(p.read_text() for p in sorted(tmp_path.iterdir()))
    assert texts.count('service="a"') == 4  # two SLOs on one service, errors and total each
    assert 'bench_variant!="1"' in texts


@pytest.mark.parametrize(
    ("extra", "name"),
    [
        pytest.param([], "after", id="objects"),
        pytest.param(["--http"], "after-http", id="json"),
        pytest.param(["--http", "--fresh"], "after-http-fresh", id="json-every-number-new"),
        pytest.param(["--fresh"], "after-fresh", id="objects-every-number-new"),
    ],
)
def test_profile_tick_on_canned_answers(tmp_path: Path, extra: list[str], name: str) -> None:
    argv = ["--slos", "10", "--services", "3", "--ticks", "1", "--out", str(tmp_path), *extra]
    assert profile_tick.main(argv) == 0
    data = json.loads((tmp_path / f"profile-{name}.json").read_text())
    assert data["slos"] == 10
    assert len(data["tick_cpu_seconds"]) == 1
    assert data["errors"] == 0
    out = tmp_path / "benchmarks.md"
    assert report.main(["--results", str(tmp_path), "--out", str(out)]) == 0
    answers = ("JSON" if "--http" in extra else "objects") + (
        ", all new" if "--fresh" in extra else ""
    )
    assert f"| after | {answers} | 10 |" in out.read_text()


def test_tick_ab_against_a_baseline_tree(tmp_path: Path) -> None:
    """Both trees run (here the same one twice), alternating; the report shows the ratio."""
    argv = ["--sizes", "10", "--modes", "sqlite,json", "--runs", "1", "--ticks", "1", "--fresh"]
    argv += ["--baseline", str(common.ROOT), "--out", str(tmp_path)]
    assert tick_ab.main(argv) == 0
    data = json.loads((tmp_path / "tick-ab-10-fresh.json").read_text())
    assert [(r["mode"], r["code"]) for r in data["rows"]] == [
        ("sqlite", "before"),
        ("sqlite", "after"),
        ("json", "before"),
        ("json", "after"),
    ]
    out = tmp_path / "benchmarks.md"
    assert report.main(["--results", str(tmp_path), "--out", str(out)]) == 0
    assert "| 10 | SQLite, objects |" in out.read_text()
    assert "| 10 | SQLite, JSON |" in out.read_text()
    assert "Every recorded number new each tick (`--fresh`)." in out.read_text()


def test_evaluate_ab_runs_both_trees_and_compares_their_json(tmp_path: Path) -> None:
    """Here the same tree twice, and a Prometheus that is not there: both print the same NO_DATA
    entries, so the comparison holds and the figures are saved."""
    common.write_slos(tmp_path / "slos", 3, ["a", "b"], "bench")
    argv = ["--url", "http://127.0.0.1:9", "--slos", str(tmp_path / "slos"), "--runs", "1"]
    argv += ["--baseline", str(common.ROOT), "--out", str(tmp_path)]
    assert evaluate_ab.main(argv) == 0
    data = json.loads((tmp_path / "evaluate-ab.json").read_text())
    assert data["slos"] == 3
    assert data["same_output"]
    assert [len(data["runs"][name]) for name in ("before", "after")] == [1, 1]
