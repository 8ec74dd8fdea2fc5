"""Whether a merged query answers for each SLO exactly what its own query answers. Pure.

A fleet's SLOs often differ only in the value of one equality matcher (``service="a"``,
``service="b"``). Their query is then asked once with that matcher widened to a regex
(``service=~"a|b"``) and every aggregation grouped by that label too
(:mod:`sloguard.engine._merge`). :func:`check` parses the original query and the merged one
and accepts the pair only where PromQL guarantees the same numbers for every value: each
selector keeps its other matchers, range and offset; per-series functions (``rate``,
``increase``, ...) keep each series and its labels; ``sum``/``count``/``min``/``max``/``avg``
add the label to their ``by`` list, so no group mixes two values, and each group holds the
same series in the same (label-sorted) order as before; binary operators match one to one on
all labels, on both sides carrying the label alike. Anything else (subqueries, ``without``,
``on``/``ignoring``, ``label_replace``, ``@``, string literals, a scalar result) is refused
with the reason, and its queries are asked per SLO as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import promql_parser as pp

AGGREGATIONS = frozenset({"sum", "count", "min", "max", "avg"})
PER_SERIES_FUNCTIONS = frozenset(
    {
        "rate",
        "increase",
        "irate",
        "delta",
        "idelta",
        "last_over_time",
        "sum_over_time",
        "count_over_time",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
    }
)

_SET_OPERATORS = frozenset({"and", "or", "unless"})
_ONE_TO_ONE = (pp.VectorMatchCardinality.OneToOne,)
_SET_CARDS = (pp.VectorMatchCardinality.ManyToMany, pp.VectorMatchCardinality.OneToOne)

# What a node yields: a scalar, or series that carry the label (in the original query) or not.
_SCALAR, _WITH, _WITHOUT = "scalar", "with", "without"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of :func:`check`: ``refused`` says why not ("" when merged); ``keeps_label``
    whether the original query's series carry the label (else the split removes it)."""

    refused: str = ""
    keeps_label: bool = False


class _Refused(Exception):
    """A node the merged query cannot answer exactly (internal: :func:`check` returns it)."""


@dataclass(frozen=True, slots=True)
class _Widened:
    label: str
    value: str  # the original equality matcher's value
    regex: str  # the merged regex matcher's value (as Prometheus reads it)


def check(original: str, merged: str, label: str, value: str, regex: str) -> Verdict:
    """Whether ``merged`` answers, for the series whose ``label`` is ``value``, exactly what
    ``original`` answers (see the module docstring); ``regex`` is the merged matcher's value."""
    try:
        o, m = pp.parse(original), pp.parse(merged)
        kind = _same(o, m, _Widened(label, value, regex))
    except ValueError as exc:  # promql_parser's parse error
        return Verdict(refused=f"not parsed: {exc}")
    except _Refused as exc:
        return Verdict(refused=str(exc))
    if kind == _SCALAR:
        return Verdict(refused="a scalar")
    return Verdict(keeps_label=kind == _WITH)


def _same(o: Any, m: Any, w: _Widened) -> str:
    """The kind of ``o``, having checked that ``m`` is ``o`` widened on ``w``; raises _Refused."""
    if type(o) is not type(m):
        raise _Refused(f"the merged query differs: {type(o).__name__} vs {type(m).__name__}")
    if isinstance(o, pp.ParenExpr | pp.UnaryExpr):
        return _same(o.expr, m.expr, w)
    if isinstance(o, pp.NumberLiteral):
        if str(o.val) != str(m.val):
            raise _Refused("the merged query differs in a number")
        return _SCALAR
    if isinstance(o, pp.VectorSelector):
        return _selector(o, m, w)
    if isinstance(o, pp.MatrixSelector):
        if o.range != m.range:
            raise _Refused("the merged query differs in a range")
        return _selector(o.vector_selector, m.vector_selector, w)
    if isinstance(o, pp.Call):
        return _call(o, m, w)
    if isinstance(o, pp.AggregateExpr):
        return _aggregation(o, m, w)
    if isinstance(o, pp.BinaryExpr):
        return _binary(o, m, w)
    raise _Refused(f"{type(o).__name__} is not merged")


def _selector(o: Any, m: Any, w: _Widened) -> str:
    if o.name != m.name or o.offset != m.offset:
        raise _Refused("the merged query differs in a selector")
    if o.at is not None or m.at is not None:
        raise _Refused("a selector with @ is not merged")
    o_own = [(x.name, str(x.op), x.value) for x in o.matchers.matchers if x.name == w.label]
    m_own = [(x.name, str(x.op), x.value) for x in m.matchers.matchers if x.name == w.label]
    if o_own != [(w.label, str(pp.MatchOp.Equal), w.value)]:
        raise _Refused(f'a selector without exactly one {w.label}="{w.value}"')
    if m_own != [(w.label, str(pp.MatchOp.Re), w.regex)]:
        raise _Refused(f"the merged query differs in its {w.label} matcher")
    o_rest = [(x.name, str(x.op), x.value) for x in o.matchers.matchers if x.name != w.label]
    m_rest = [(x.name, str(x.op), x.value) for x in m.matchers.matchers if x.name != w.label]
    if o_rest != m_rest:
        raise _Refused("the merged query differs in a matcher")
    return _WITH


def _call(o: Any, m: Any, w: _Widened) -> str:
    name = o.func.name
    if name != m.func.name or name not in PER_SERIES_FUNCTIONS:
        raise _Refused(f"{name}() is not merged")
    if len(o.args) != 1 or len(m.args) != 1:
        raise _Refused(f"{name}() with {len(o.args)} arguments is not merged")
    return _same(o.args[0], m.args[0], w)


def _aggregation(o: Any, m: Any, w: _Widened) -> str:
    op = str(o.op)
    if op != str(m.op) or op not in AGGREGATIONS or o.param is not None:
        raise _Refused(f"{op} is not merged")
    if o.modifier is not None and o.modifier.type != pp.AggModifierType.By:
        raise _Refused(f"{op} without (...) is not merged")
    if m.modifier is None or m.modifier.type != pp.AggModifierType.By:
        raise _Refused(f"the merged query's {op} is not grouped by {w.label}")
    by = list(o.modifier.labels) if o.modifier is not None else []
    want = by if w.label in by else [*by, w.label]
    if sorted(m.modifier.labels) != sorted(want):
        raise _Refused(f"the merged query's {op} is not grouped by {w.label}")
    inner = _same(o.expr, m.expr, w)
    if inner == _SCALAR:
        raise _Refused(f"{op} of a scalar")
    if w.label not in by:
        return _WITHOUT
    if inner != _WITH:
        raise _Refused(f"{op} by {w.label} of series without it")
    return _WITH


def _binary(o: Any, m: Any, w: _Widened) -> str:
    om, mm = o.modifier, m.modifier
    if str(o.op) != str(m.op):
        raise _Refused("the merged query differs in an operator")
    # One to one on all labels; the set operators (and/or/unless) are many to many by kind.
    cards = _SET_CARDS if str(o.op) in _SET_OPERATORS else _ONE_TO_ONE
    for mod in (om, mm):
        if mod is not None and (
            mod.matching is not None or mod.card not in cards or list(mod.group_labels or ())
        ):
            raise _Refused("on/ignoring/group_left/group_right is not merged")
    if (om is not None and om.return_bool) != (mm is not None and mm.return_bool):
        raise _Refused("the merged query differs in bool")
    left, right = _same(o.lhs, m.lhs, w), _same(o.rhs, m.rhs, w)
    if left == _SCALAR:
        return right
    if right == _SCALAR or left == right:
        return left
    raise _Refused(f"one side carries {w.label}, the other does not")
