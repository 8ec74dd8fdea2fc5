"""PromQL text the planner writes: grouping sums by labels, and a histogram's bucket selector."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sloguard.model import LatencyIndicator

_SUM = re.compile(r"sum\s*\(")
_TRAILING_GROUPING = re.compile(r"\s*(by|without)\s*\(")


def bucket_selector(ind: LatencyIndicator) -> str:
    """All ``_bucket`` series of the indicator's histogram (its ``good_bucket_selector`` minus
    the ``le`` matcher)."""
    le = 'le="' + ind.le + '"'
    good = ind.good_bucket_selector
    return good.replace("," + le + "}", "}").replace("{" + le + "}", "{}")


def group_expr(expr: str, by: Sequence[str]) -> str:
    """Make every ungrouped ``sum(...)`` a ``sum by (<by>) (...)``; already grouped sums
    (``sum by``/``sum without``, either position) and string literals are left alone."""
    if not by:
        return expr
    clause = f"sum by ({', '.join(by)}) ("
    out: list[str] = []
    i = 0
    while i < len(expr):
        ch = expr[i]
        if ch in "\"'`":
            end = _string_end(expr, i)
            out.append(expr[i:end])
            i = end
            continue
        match = _SUM.match(expr, i)
        boundary = i == 0 or not (expr[i - 1].isalnum() or expr[i - 1] in "_:")
        if match and boundary:
            close = _matching_paren(expr, match.end() - 1)
            if not _TRAILING_GROUPING.match(expr, close + 1):
                out.append(clause)
                i = match.end()
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _string_end(expr: str, start: int) -> int:
    quote = expr[start]
    i = start + 1
    while i < len(expr):
        if expr[i] == "\\" and quote != "`":
            i += 2
            continue
        if expr[i] == quote:
            return i + 1
        i += 1
    return len(expr)


def _matching_paren(expr: str, open_at: int) -> int:
    depth = 0
    i = open_at
    while i < len(expr):
        ch = expr[i]
        if ch in "\"'`":
            i = _string_end(expr, i)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(expr) - 1
