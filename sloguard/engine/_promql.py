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


_AGGREGATION = re.compile(r"(sum|count|min|max|avg)\b\s*(?:(by|without)\s*\(([^()]*)\)\s*)?\(")


def grouped_also_by(expr: str, label: str) -> str:
    """Every ``sum``/``count``/``min``/``max``/``avg`` of ``expr`` also grouped by ``label``
    (``sum(`` becomes ``sum by (label) (``, ``by (a)`` becomes ``by (a, label)``, either
    position); ``without`` and string literals are left alone. Text only: the engine checks
    the result with the PromQL parser (:mod:`sloguard.engine._shape`)."""
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in ``expr``
    i = 0
    while i < len(expr):
        if expr[i] in "\"'`":
            i = _string_end(expr, i)
            continue
        match = _AGGREGATION.match(expr, i)
        boundary = i == 0 or not (expr[i - 1].isalnum() or expr[i - 1] in "_:")
        if not (match and boundary):
            i += 1
            continue
        if match[2] == "by":
            edits.append((match.start(3), match.end(3), _with_label(match[3], label)))
        elif match[2] is None:
            close = _matching_paren(expr, match.end() - 1)
            trailing = _TRAILING_BY.match(expr, close + 1)
            if trailing is None:
                edits.append((match.end(1), match.end(1), f" by ({label})"))
            elif trailing[1] == "by":
                edits.append((trailing.start(2), trailing.end(2), _with_label(trailing[2], label)))
        i = match.end()
    for start, end, text in reversed(edits):
        expr = expr[:start] + text + expr[end:]
    return expr


_TRAILING_BY = re.compile(r"\s*(by|without)\s*\(([^()]*)\)")


def _with_label(labels: str, label: str) -> str:
    names = [n.strip() for n in labels.split(",") if n.strip()]
    return ", ".join(names if label in names else [*names, label])


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
