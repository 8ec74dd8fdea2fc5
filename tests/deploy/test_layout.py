"""The product stays readable in one sitting: no module of ``sloguard`` over 450 lines.

A module that grows past the limit is split along a seam (see how ``sloguard.rules``,
``sloguard.lifecycle`` and ``sloguard.backtest`` are laid out), not trimmed by squeezing lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sloguard"
MAX_LINES = 450

MODULES = sorted(PACKAGE.rglob("*.py"))


def lines_of(path: Path) -> int:
    """Lines as ``wc -l`` counts them."""
    return path.read_bytes().count(b"\n")


def test_the_package_has_modules() -> None:
    assert len(MODULES) > 50, f"found only {len(MODULES)} modules under {PACKAGE}"


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_no_module_is_over_450_lines(path: Path) -> None:
    count = lines_of(path)
    assert count <= MAX_LINES, (
        f"{path.relative_to(ROOT)} has {count} lines (at most {MAX_LINES}): split it along a seam"
    )
