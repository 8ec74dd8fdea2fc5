"""The code stays readable: no module of ``sloguard`` over 450 lines; no test suite imports
another.

A module that grows past the limit is split along a seam (see how ``sloguard.rules``,
``sloguard.lifecycle`` and ``sloguard.backtest`` are laid out), not trimmed by squeezing lines.
"""

from __future__ import annotations

import ast
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


TEST_MODULES = sorted((ROOT / "tests").rglob("test_*.py"))


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports at its top level or inside functions (not in strings)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", TEST_MODULES, ids=[str(p.relative_to(ROOT)) for p in TEST_MODULES])
def test_no_test_module_imports_another(path: Path) -> None:
    """Shared helpers live in ``tests/support``; a suite never imports a suite."""
    suites = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts) for p in TEST_MODULES if p != path
    }
    leaks = sorted(m for m in imported_modules(path) if m in suites or m == "tests.conftest")
    assert not leaks, (
        f"{path.relative_to(ROOT)} imports {leaks}: move what it needs to tests/support"
    )
