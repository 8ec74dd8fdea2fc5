"""The backtest's input files: alerting policies (``--policy``) and known incidents
(``--incidents``). Both are YAML with located errors (``FILE:LINE:COLUMN: error: ...``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from sloguard.backtest._model import Policy
from sloguard.errors import Location, Problem, SpecError
from sloguard.model import SLO
from sloguard.spec import Doc, check_tiers, load_tiers, read_document, translate


def load_policy(path: str | Path) -> Policy:
    """A policy file as a :class:`Policy` named after its ``name`` field or the file's stem."""
    tiers = load_tiers(path)
    return Policy(tiers.name, tiers.tiers, source=str(path))


def check_policy(path: str | Path, slos: Sequence[SLO]) -> Policy:
    """Load the policy at ``path`` and check it applies to every SLO; SpecError otherwise."""
    tiers = load_tiers(path)
    problems = check_tiers(tiers, list(slos))
    if problems:
        raise SpecError(problems)
    return Policy(tiers.name, tiers.tiers, source=str(path))


class _IncidentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    slo: str = Field(min_length=1)
    start: AwareDatetime
    end: AwareDatetime
    name: str = ""


class _IncidentsDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    incidents: list[_IncidentSpec]


@dataclass(frozen=True, slots=True)
class Incident:
    """A known incident: the SLO it hurt and when (unix seconds)."""

    slo: str
    start: float
    end: float
    name: str = ""
    location: Location = field(default_factory=lambda: Location("<memory>"))

    @property
    def label(self) -> str:
        return self.name or f"{self.slo}@{self.start:.0f}"


def load_incidents(path: str | Path, slos: Sequence[SLO]) -> list[Incident]:
    """Read a YAML list of incidents (``slo``, ``start``, ``end`` as RFC 3339 with a timezone,
    optional ``name``), or a mapping with ``incidents:``. Every SLO named must be loaded."""
    doc = read_document(path)
    data: Any = doc.data
    if isinstance(data, list):
        doc = Doc(
            doc.file,
            {"incidents": data},
            doc.start,
            {("incidents", *p): loc for p, loc in doc.keys.items()},
            {("incidents", *p): loc for p, loc in doc.values.items()},
        )
    elif not (isinstance(data, dict) and "incidents" in data):
        raise SpecError(Problem(doc.start, "expected a list of incidents (slo, start, end, name)"))
    try:
        parsed = _IncidentsDocument.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(translate(exc, doc, _IncidentsDocument)) from None
    names = {s.name for s in slos}
    problems: list[Problem] = []
    out: list[Incident] = []
    for i, spec in enumerate(parsed.incidents):
        where = doc.value(("incidents", i))
        if spec.slo not in names:
            problems.append(
                Problem(
                    doc.value(("incidents", i, "slo")),
                    f"incidents[{i}].slo: no SLO named {spec.slo!r} is being backtested; "
                    f"known: {', '.join(sorted(names)) or 'none'}",
                    f"incidents[{i}].slo",
                )
            )
        if spec.end <= spec.start:
            problems.append(
                Problem(
                    doc.value(("incidents", i, "end")),
                    f"incidents[{i}].end must be after its start",
                    f"incidents[{i}].end",
                )
            )
        out.append(
            Incident(spec.slo, spec.start.timestamp(), spec.end.timestamp(), spec.name, where)
        )
    if problems:
        raise SpecError(problems)
    return out
