"""An error ratio from its two halves: ask ``errors`` and ``total``, divide here.

An SLO's error ratio over a window is ``(errors)\\n/\\n(total)`` and the engine also asks the
``total`` itself (the event rate); Prometheus does not share the two, so it read the total's
series twice per window. Where each half yields at most one series per label set (an
aggregation such as ``sum by (...)``, or arithmetic between such), PromQL's ``/`` is plain:
each ``errors`` series divided by the ``total`` series with the same labels (their labels,
none dropped, since an aggregation's result has no ``__name__``), in the ``errors`` order,
float division as in Go (IEEE 754; ``x/0`` is ``±Inf``, ``0/0`` NaN). :func:`divide` does that,
so the engine asks ``errors`` instead of the ratio and the numbers do not change. Pure.
"""

from __future__ import annotations

import math
from typing import Any

import promql_parser as pp

from sloguard.engine._ask import Answer
from sloguard.engine._shape import AGGREGATIONS
from sloguard.ports import Sample

_ARITHMETIC = frozenset({"+", "-", "*", "/"})


def one_per_labels(expr: str) -> bool:
    """Whether ``expr`` yields at most one series per label set, none with ``__name__``: an
    aggregation (``by`` or none), or arithmetic between such (or with a number)."""
    try:
        return _unique(pp.parse(expr)) is True
    except ValueError:
        return False


def _unique(node: Any) -> bool | None:
    """True: unique series; None: a number; False: neither (or not known)."""
    if isinstance(node, pp.ParenExpr):
        return _unique(node.expr)
    if isinstance(node, pp.NumberLiteral):
        return None
    if isinstance(node, pp.AggregateExpr):
        by = node.modifier is None or node.modifier.type == pp.AggModifierType.By
        return str(node.op) in AGGREGATIONS and node.param is None and by
    if isinstance(node, pp.BinaryExpr) and str(node.op) in _ARITHMETIC:
        mod = node.modifier
        if mod is not None and (mod.matching is not None or mod.return_bool):
            return False
        sides = (_unique(node.lhs), _unique(node.rhs))
        return False not in sides and sides != (None, None)
    return False


def divide(errors: Answer, total: Answer) -> Answer:
    """``errors / total`` as Prometheus answers it (see the module docstring), or the failure
    of either half."""
    if not isinstance(errors, list):
        return errors
    if not isinstance(total, list):
        return total
    by_labels = {_key(s): s.value for s in total}
    out = []
    for s in errors:
        denominator = by_labels.get(_key(s))
        if denominator is not None:
            out.append(Sample(s.labels, _div(s.value, denominator)))
    return out


def _key(s: Sample) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(s.labels.items()))


def _div(a: float, b: float) -> float:
    """``a / b`` as Go divides float64s (Python raises on a zero divisor)."""
    if b != 0 or math.isnan(b):
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)
