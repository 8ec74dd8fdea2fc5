"""One spelling of a burn rate for pages, reports and tables (sloguard.burn.burn_rate_text)."""

from __future__ import annotations

import pytest

from sloguard.burn import burn_rate_text

CASES = [
    # id, value, fine, text
    ("page-fast-burn", 14.4, False, "14.4x"),
    ("page-huge-burn-no-decimals", 1000.0, False, "1000x"),
    ("page-slow-burn-one-decimal", 0.5, False, "0.5x"),
    ("page-just-under-100", 99.94, False, "99.9x"),
    ("table-slow-burn-two-decimals", 0.5, True, "0.50x"),
    ("table-six-two-decimals", 6.0, True, "6.00x"),
    ("table-ten-one-decimal", 10.0, True, "10.0x"),
    ("table-hundred-no-decimals", 100.0, True, "100x"),
]


@pytest.mark.parametrize(
    ("value", "fine", "text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_burn_rate_text(value: float, fine: bool, text: str) -> None:
    assert burn_rate_text(value, fine=fine) == text
