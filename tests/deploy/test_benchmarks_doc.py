"""docs/benchmarks.md is written by ``make bench`` (``bench.report``): every section of it must
be one the generator writes, from results or from bench/notes.md, so a rerun loses no page of
it (figures measured by hand are kept in bench/notes.md until a benchmark measures them)."""

from __future__ import annotations

from pathlib import Path

from bench.report import render

ROOT = Path(__file__).resolve().parents[2]


def _sections(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("## ")]


def test_every_section_of_the_benchmarks_page_survives_a_rerun(tmp_path: Path) -> None:
    written = set(_sections(render(tmp_path)))  # no results: every figure section, empty
    on_the_page = _sections((ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8"))
    lost = [s for s in on_the_page if s not in written]
    assert not lost, f"sections make bench would drop (keep them in bench/notes.md): {lost}"
