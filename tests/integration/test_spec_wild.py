"""SLO files from public repositories (tests/data/wild, sources in SOURCES.md) through validate,
import, generate and ``promtool check rules``: each either goes through, or fails with the
located error listed here. No traceback, whatever the file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from sloguard.cli import main
from sloguard.rules import render_rules, rule_groups
from sloguard.spec import load

WILD = Path(__file__).parents[1] / "data" / "wild"
FILES = sorted(WILD.glob("*.yaml"))
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

# file -> (line, what the first located error says). Everything else must go through.
EXPECTED_FAILURES = {
    "openslo-osko-slo.yaml": (1, "'openslo.com/v1' is not supported"),
    "openslo-slogen-alert-policy.yaml": (4, "'High-Burn-Rate' is not an RFC 1123 name"),
    "openslo-slogen-logs-req-calendar.yaml": (4, "is not an RFC 1123 name"),
    "openslo-slogen-logs-req-rolling.yaml": (4, "is not an RFC 1123 name"),
    "openslo-slogen-order-api-errors.yaml": (
        16,
        "source 'sumologic': only prometheus is supported",
    ),
    "openslo-slogen-threshold-based.yaml": (4, "is not an RFC 1123 name"),
    "sloth-docgen-slo.yaml": (12, "error_query: not valid PromQL"),
    "sloth-docgen-slo-copy.yaml": (12, "error_query: not valid PromQL"),
}


def test_the_corpus_is_large_and_every_file_has_its_source() -> None:
    assert len(FILES) >= 25
    sources = (WILD / "SOURCES.md").read_text(encoding="utf-8")
    for path in FILES:
        assert f"| {path.name} |" in sources, path.name
    assert set(EXPECTED_FAILURES) <= {p.name for p in FILES}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_validate(path: Path) -> None:
    result = load([path])
    expected = EXPECTED_FAILURES.get(path.name)
    if expected is None:
        assert result.problems == [], [str(p) for p in result.problems]
        assert result.slos
        return
    line, needle = expected
    assert result.slos == []
    first = result.problems[0]
    assert (first.location.file, first.location.line) == (str(path), line), str(first)
    assert needle in first.message


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_import_round_trips(tmp_path: Path, path: Path) -> None:
    result = CliRunner().invoke(main, ["import", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if path.name in EXPECTED_FAILURES:
        assert result.exit_code == 1
        assert f"{path}:" in result.stderr
        return
    assert result.exit_code == 0, result.stderr
    native = tmp_path / "native.yaml"
    native.write_text(result.stdout, encoding="utf-8")
    again, original = load([native]), load([path])
    assert again.problems == []
    assert [(s.name, s.objective_percent, s.group_by) for s in again.slos] == [
        (s.name, s.objective_percent, s.group_by) for s in original.slos
    ]


@pytest.mark.prometheus
@pytest.mark.parametrize(
    "path",
    [p for p in FILES if p.name not in EXPECTED_FAILURES],
    ids=[p.stem for p in FILES if p.name not in EXPECTED_FAILURES],
)
def test_generated_rules_pass_promtool(tmp_path: Path, path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(render_rules(rule_groups(load([path]).slos), str(path)), encoding="utf-8")
    proc = subprocess.run(
        [PROMTOOL, "check", "rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("name", "alert"),
    [
        ("sloth-kuadrant-availability.yaml", "KuadrantAvailabilityHighErrorRate"),
        ("sloth-kuadrant-latency.yaml", "KuadrantlatencyHighErrorRate"),
    ],
)
def test_sloth_alert_metadata_is_carried_without_a_warning(name: str, alert: str) -> None:
    """Sloth's per-alert name and labels reach the SLO (and its rules and routes), unwarned."""
    result = load([WILD / name])
    assert result.warnings == [], [str(w) for w in result.warnings]
    for slo in result.slos:
        assert slo.alerts.name == alert
        assert slo.alerts.page_labels["severity"] == "critical"
        assert slo.alerts.ticket_labels["severity"] == "warning"


def test_pyrra_files_get_pyrras_absent_alerts() -> None:
    """Pyrra's absent alerts are on by default: every imported Pyrra SLO watches its total."""
    for path in (p for p in FILES if p.name.startswith("pyrra-")):
        for slo in load([path]).slos:
            assert slo.alerts.absent is not None, path.name
            assert slo.alerts.absent.selectors, path.name


# Files with OpenSLO calendar windows (and one rolling window with a calendar block): with the
# name fixed, what remains refused is their source (Sumo Logic) or indicator, not the window.
CALENDAR_WINDOWS = {
    "openslo-slogen-logs-req-calendar.yaml": "'sumologic-logs' is not supported",
    "openslo-slogen-threshold-based.yaml": "'sumologic-logs' is not supported",
    "openslo-slogen-logs-req-rolling.yaml": "'sumologic-logs' is not supported",
}


@pytest.mark.parametrize("name", sorted(CALENDAR_WINDOWS))
def test_calendar_windows_of_the_corpus_are_read(tmp_path: Path, name: str) -> None:
    text = (WILD / name).read_text(encoding="utf-8")
    fixed = "\n".join(
        "  name: drift-gen" if line.startswith("  name: drift_gen") else line
        for line in text.splitlines()
    )
    path = tmp_path / name
    path.write_text(fixed + "\n", encoding="utf-8")
    problems = load([path]).problems
    assert problems
    assert all(CALENDAR_WINDOWS[name] in p.message for p in problems), [str(p) for p in problems]
