"""SLO definitions: read, validate and convert them (pure core: reads files, nothing else).

Public API::

    load_slos(paths) -> list[SLO]        raises SpecError carrying every located Problem
    load(paths) -> LoadResult            never raises for bad input: .slos, .problems, .warnings
    discover(paths) -> list[Path]        files as given, *.yaml/*.yml under directories

Formats: native ``apiVersion: sloguard/v1`` (see docs/spec.md), Sloth ``version: prometheus/v1``
and ``sloth.slok.dev/v1 PrometheusServiceLevel``, OpenSLO ``openslo/v1`` and ``openslo/v1alpha``.
"""

from sloguard.errors import Location, Problem, SpecError
from sloguard.spec._emit import native_yaml
from sloguard.spec._load import Draft, LoadResult, discover, load, load_slos
from sloguard.spec._yaml import DEFAULT_LIMITS, Limits

__all__ = [
    "DEFAULT_LIMITS",
    "Draft",
    "Limits",
    "LoadResult",
    "Location",
    "Problem",
    "SpecError",
    "discover",
    "load",
    "load_slos",
    "native_yaml",
]
