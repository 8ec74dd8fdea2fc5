"""SLO definitions: read, validate and convert them (pure core: reads files, nothing else).

Public API::

    load_slos(paths) -> list[SLO]        raises SpecError carrying every located Problem
    load(paths) -> LoadResult            never raises for bad input: .slos, .problems, .warnings
    discover(paths) -> list[Path]        files as given, *.yaml/*.yml under directories
    load_tiers(path) -> TierPolicy       an alerting policy file (a list of tiers), SpecError
    check_tiers(policy, slos)            problems of applying a policy to SLOs
    read_document(path) -> Doc           one located YAML document (for other input files)
    translate(exc, doc, model)           pydantic errors as located Problems

Formats: native ``apiVersion: sloguard/v1`` (see docs/spec.md), Sloth ``version: prometheus/v1``
and ``sloth.slok.dev/v1 PrometheusServiceLevel``, OpenSLO ``openslo/v1`` and ``openslo/v1alpha``,
Pyrra ``pyrra.dev/v1alpha1 ServiceLevelObjective``.
"""

from sloguard.errors import Location, Problem, SpecError
from sloguard.spec._build import translate
from sloguard.spec._emit import native_yaml
from sloguard.spec._load import Draft, LoadResult, discover, load, load_slos
from sloguard.spec._tiers import TierPolicy, check_tiers, load_tiers, read_document
from sloguard.spec._yaml import DEFAULT_LIMITS, Doc, Limits, parse_documents, read_text

__all__ = [
    "DEFAULT_LIMITS",
    "Doc",
    "Draft",
    "Limits",
    "LoadResult",
    "Location",
    "Problem",
    "SpecError",
    "TierPolicy",
    "check_tiers",
    "discover",
    "load",
    "load_slos",
    "load_tiers",
    "native_yaml",
    "parse_documents",
    "read_document",
    "read_text",
    "translate",
]
