"""Fake and counting Prometheus sources, and the SLOs and answers the engine tests share."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import replace

from sloguard import rules
from sloguard.engine import PROBE, Combined, Engine, Plan, bulk_query
from sloguard.engine._merge import widened
from sloguard.model import QUERY_TAG_LABEL, SLO, RatioIndicator
from sloguard.ports import BySlothId, Sample, Series
from sloguard.prometheus import PrometheusClient

DAY = 86400
# One part of the engine's combined query (sloguard.engine._combine): its text and its tag.
_COMBINED = re.compile(
    rf'label_replace\(\n(.*?)\n, "{QUERY_TAG_LABEL}", "(\d+)", "", ""\)', re.DOTALL
)
# The regex matcher of the engine's merged query (sloguard.engine._merge): label, PromQL text.
_WIDENED = re.compile(r'(?<![\w:])([A-Za-z_]\w*)=~"((?:[^"\\]|\\.)*)"')
AT = 1704067207.0


def ratio_slo(name: str, svc: str = "checkout", **kw: object) -> SLO:
    return SLO(
        name=name,
        service=svc,
        objective_percent=99.9,
        period_seconds=30 * DAY,
        indicator=RatioIndicator(
            errors=f'sum(rate(req{{svc="{svc}",code=~"5.."}}[{{{{.window}}}}]))',
            total=f'sum(rate(req{{svc="{svc}"}}[{{{{.window}}}}]))',
        ),
        **kw,  # type: ignore[arg-type]
    )


class FakeSource:
    """Answers only the expressions it was given; anything else is a test failure."""

    def __init__(self, answers: Mapping[str, list[Sample] | Exception]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, float]] = []

    async def query(self, expr: str, at: float) -> list[Sample]:
        self.asked.append((expr, at))
        return self._answer(expr)

    def _answer(self, expr: str) -> list[Sample]:
        if expr not in self.answers and _COMBINED.match(expr):
            return self._union(expr)
        if expr not in self.answers and (parts := self.merged_parts(expr)):
            return self._merged(parts)
        if expr not in self.answers and (halves := self._ratio_of(expr)):
            return self._errors(*halves)
        if expr not in self.answers:
            raise AssertionError(f"unexpected query: {expr}")
        got = self.answers[expr]
        if isinstance(got, Exception):
            raise got
        return got

    def _union(self, expr: str) -> list[Sample]:
        """What Prometheus answers to the engine's combined query: each part's series tagged,
        or the first failure of a part (a failing part fails the whole query)."""
        out: list[Sample] = []
        for part, tag in _COMBINED.findall(expr):
            got = self._answer(part)
            out += [Sample({**s.labels, QUERY_TAG_LABEL: tag}, s.value) for s in got]
        return out

    def _ratio_of(self, errors: str) -> tuple[str, str] | None:
        """The answered ratio ``(errors)/(total)`` and its answered total, if any: the engine
        asks ``errors`` and divides (sloguard.engine._ratio)."""
        return self.halves().get(errors)

    def halves(self) -> dict[str, tuple[str, str]]:
        """errors -> (ratio, total) of each answered ratio ``(errors)/(total)`` whose total is
        answered too, the errors not being answered itself."""
        out = {}
        for q in self.answers:
            at = q.find(")\n/\n(")
            while at > 0:
                errors, total = q[1:at], q[at + 5 : -1]
                if q[0] == "(" and total in self.answers and errors not in self.answers:
                    out[errors] = (q, total)
                at = q.find(")\n/\n(", at + 1)
        return out

    def _errors(self, ratio: str, total: str) -> list[Sample]:
        """The errors rate whose division by the answered total is the answered ratio (up to
        rounding), or the ratio's failure; series the total lacks are dropped, as PromQL's
        ``/`` drops them."""
        got, totals = self._answer(ratio), self.answers[total]
        if isinstance(totals, Exception):
            raise totals
        by_labels = {tuple(sorted(s.labels.items())): s.value for s in totals}
        out = []
        for s in got:
            t = by_labels.get(tuple(sorted(s.labels.items())))
            if t is not None:
                out.append(Sample(s.labels, s.value * t))
        return out

    def merged_parts(self, expr: str) -> list[tuple[str, str, str]]:
        """The answered queries the engine merged into ``expr``: (query, label, value) each, in
        the order of the merged regex; [] when ``expr`` is no merged query of them."""
        for label, literal in _WIDENED.findall(expr):
            regex = literal.replace("\\\\", "\\")
            values = [re.sub(r"\\(.)", r"\1", v) for v in re.split(r"(?<!\\)\|", regex)]
            parts = [
                (q, label, v)
                for q in [*self.answers, *self.halves()]
                for v in values
                if f'{label}="{v}"' in q and widened(q, label, values) == expr
            ]
            if parts:
                return sorted(parts, key=lambda part: values.index(part[2]))
        return []

    def _merged(self, parts: list[tuple[str, str, str]]) -> list[Sample]:
        """What Prometheus answers to a merged query: each part's series with its label, or the
        first failure of a part."""
        out: list[Sample] = []
        for q, label, value in parts:
            out += [Sample({**s.labels, label: value}, s.value) for s in self._answer(q)]
        return out

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        raise AssertionError("the engine makes instant queries only")


RATIOS = {
    300: 0.02,
    1800: 0.018,
    3600: 0.016,
    7200: 0.004,
    21600: 0.003,
    86400: 0.0012,
    259200: 0.0008,
    30 * DAY: 0.0005,
}  # distinct per window, so a swapped window shows


class RulesLoaded(FakeSource):
    """Prometheus with the rules of ``slos`` loaded for longer than their period: the probes,
    the recorded series (every SLO in one answer, by ``sloth_id``) and the direct queries
    answer the same number per window (``RATIOS``), so both paths must evaluate alike."""

    answers: dict[str, list[Sample]]  # no failures, and tests may edit an answer

    def __init__(self, slos: list[SLO], rate: float = 100.0) -> None:
        answers = rules_info_answers(slos)
        for s in slos:
            p = Engine().plan([s]).slos[0]
            answers |= {q: [Sample({}, RATIOS[w])] for w, q in p.ratio.items()}
            answers |= {q: [Sample({}, rate)] for q in p.total.values()}
        for w, ratio in RATIOS.items():
            ids = [{"sloth_id": rules.sloth_id(s)} for s in slos]
            answers[bulk_query(rules.ratio_series(w))] = [Sample(i, ratio) for i in ids]
            answers[bulk_query(rules.TOTAL + rules.prom_duration(w))] = [
                Sample(i, rate) for i in ids
            ]
        super().__init__(answers)

    def recorded_windows(self) -> set[int]:
        """The windows asked from recorded series (ratio or total)."""
        by_name = {bulk_query(rules.RATIO + rules.prom_duration(w)): w for w in RATIOS}
        by_name |= {bulk_query(rules.TOTAL + rules.prom_duration(w)): w for w in RATIOS}
        return {by_name[q] for q, _ in self.asked if q in by_name}

    def direct(self) -> list[str]:
        """The direct queries asked, each part of a combined query on its own, and the ratio
        for an errors half asked."""
        halves = self.halves()
        asked = [p for q in self.direct_asks() for p in parts_of(q, self)]
        return [halves[p][0] if p in halves else p for p in asked]

    def direct_asks(self) -> list[str]:
        """The direct queries as sent to Prometheus."""
        return [q for q, _ in self.asked if not q.startswith(("max without", "group by"))]


def rules_loaded_at(slos: list[SLO], instants: Sequence[float]) -> RulesLoaded:
    """:class:`RulesLoaded` for ``slos``, where a calendar SLO's period (always asked directly,
    over the elapsed part of its period) is also answered at each of ``instants``."""
    source = RulesLoaded(slos)
    for slo in slos:
        if slo.calendar is None:
            continue
        for at in instants:
            (sp,) = Engine().plan([slo], at).slos
            source.answers[sp.ratio[slo.period_seconds]] = [Sample({}, 0.0005)]
            source.answers[sp.total[slo.period_seconds]] = [Sample({}, 100.0)]
    return source


def one_by_one(plan: Plan) -> Plan:
    """``plan`` asking each distinct query on its own: the shape before queries were combined,
    which the combined one must decode exactly like."""
    return replace(plan, asks=tuple(Combined(q, (q,)) for q in plan.queries), merged=(), derived=())


def one_by_one_asked(plan: Plan) -> Plan:
    """``plan`` asking each distinct query it sends on its own (a ratio asked as its halves,
    see sloguard.engine._ratio), without merging or combining."""
    asked = dict.fromkeys(q for sp in plan.slos for q in sp.asked)
    return replace(plan, asks=tuple(Combined(q, (q,)) for q in asked), merged=())


def parts_of(expr: str, source: FakeSource | None = None) -> list[str]:
    """The queries the engine combined into ``expr``, each merged query among them as the
    queries it merged (those ``source`` answers); just ``expr`` if neither."""
    parts = [part for part, _ in _COMBINED.findall(expr)] or [expr]
    if source is None:
        return parts
    return [q for p in parts for q in ([q for q, _, _ in source.merged_parts(p)] or [p])]


class Counting:
    """A Source that counts the queries it forwards (a BulkSource, as the client is)."""

    def __init__(self, inner: PrometheusClient) -> None:
        self.inner = inner
        self.asked: list[str] = []

    async def query(self, expr: str, at: float) -> list[Sample]:
        self.asked.append(expr)
        return await self.inner.query(expr, at)

    async def query_by_sloth_id(
        self, expr: str, at: float, sids: Mapping[str, str], grouped: Set[str]
    ) -> BySlothId:
        self.asked.append(expr)
        return await self.inner.query_by_sloth_id(expr, at, sids, grouped)

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        raise AssertionError("instant queries only")


def rules_info_answers(slos: list[SLO]) -> dict[str, list[Sample] | Exception]:
    """The probe's answers when the rules of ``slos`` run, and ran a period (30d) ago."""
    info = [
        Sample({"sloth_id": rules.sloth_id(s), rules.HASH_LABEL: rules.sli_hash(s)}, 1)
        for s in slos
    ]
    return {
        PROBE: info,
        f"group by (sloth_id, {rules.HASH_LABEL}) ({rules.INFO} offset 30d)": info,
    }
