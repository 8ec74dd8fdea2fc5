"""Names and numbers of the generated rules: series names, Sloth's labels, PromQL text. Pure.

Every other part of :mod:`sloguard.rules` (and the engine, which reads the recorded series)
spells a series, a window or a number through here, so the rules and their readers agree.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from sloguard.model import SLO

ALERT_NAME = "SLOErrorBudgetBurn"
# sloguard's severity on an alert whose own labels replace ``severity`` (Sloth's page labels).
SEVERITY_LABEL = "sloguard_severity"

# Series names. Sloth's, plus the two event-rate series sloguard adds.
RATIO = "slo:sli_error:ratio_rate"
ERRORS = "slo:sli_errors:rate"
TOTAL = "slo:sli_total:rate"
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
TIME_PERIOD = "slo:time_period:days"
CURRENT_BURN = "slo:current_burn_rate:ratio"
PERIOD_BURN = "slo:period_burn_rate:ratio"
PERIOD_REMAINING = "slo:period_error_budget_remaining:ratio"
INFO = "sloth_slo_info"
# The label on ``sloth_slo_info`` that fingerprints what the recorded ratios mean (indicator,
# windows, grouping). The evaluator trusts recorded series only when it matches.
HASH_LABEL = "sloguard_sli_hash"


# ---------------------------------------------------------------------------------------------
# Names


@functools.lru_cache(maxsize=256)  # a handful of windows, named for every SLO every tick
def prom_duration(seconds: int) -> str:
    """Prometheus' canonical duration string, as Sloth writes window labels and series names.

    Years and weeks only when exact (7d -> ``1w``, 28d -> ``4w``, 30d -> ``30d``), as Prometheus'
    ``model.Duration.String`` does.
    """
    if seconds <= 0:
        raise ValueError(f"{seconds} is not a positive duration")
    out = ""
    for unit, size, exact in (
        ("y", 365 * 86400, True),
        ("w", 7 * 86400, True),
        ("d", 86400, False),
        ("h", 3600, False),
        ("m", 60, False),
        ("s", 1, False),
    ):
        if exact and seconds % size:
            continue
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out


def sloth_id(slo: SLO) -> str:
    """Sloth's SLO id, ``<service>-<slo>``.

    SLO names are unique and imported Sloth SLOs are already named ``<service>-<slo>``, so a name
    that starts with its service is the id as it is (``checkout-availability``), never
    ``checkout-checkout-availability``.
    """
    if slo.name.startswith(f"{slo.service}-"):
        return slo.name
    return f"{slo.service}-{slo.name}"


def sloth_slo(slo: SLO) -> str:
    """Sloth's ``sloth_slo`` label: the SLO name without its service prefix, as Sloth writes it."""
    prefix = f"{slo.service}-"
    if slo.name.startswith(prefix) and len(slo.name) > len(prefix):
        return slo.name[len(prefix) :]
    return slo.name


def ratio_series(seconds: int) -> str:
    return f"{RATIO}{prom_duration(seconds)}"


# ---------------------------------------------------------------------------------------------
# Numbers in PromQL


def number(value: float) -> str:
    """Shortest exact text of a float; integers without ``.0`` (Sloth writes ``14.4``, ``6``)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def objective_text(slo: SLO) -> str:
    """The objective as a ratio, exactly (99.95 % is ``0.9995``): decimal, not float, math."""
    return exact(Decimal(repr(slo.objective_percent)) / 100)


def budget_text(slo: SLO) -> str:
    """The error budget as a ratio, exactly: 1 - 99.95 % is ``0.0005``, not ``0.000499...``."""
    return exact((100 - Decimal(repr(slo.objective_percent))) / 100)


def factor_text(factor: float) -> str:
    """A factor that is a short decimal up to float noise is written as that decimal.

    A budget percentage can be a repeating decimal (Pyrra's 14x over 1h of 28 days is
    2.0833...%), and the factor computed back from it is 13.999999999997758: written ``14``.
    A factor that is itself repeating (10 % over 3d of 28d: 0.9333...) keeps every digit.
    """
    short = round(factor, 6)
    return number(short if abs(short - factor) < 1e-9 * max(1.0, factor) else factor)


def exact(value: Decimal) -> str:
    return format(value.normalize(), "f")  # plain notation: 0.00001, not 1E-5


# ---------------------------------------------------------------------------------------------
# Selectors and labels every rule of an SLO carries


def quote(value: str) -> str:
    """A PromQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def selector(slo: SLO) -> str:
    sid, service, name = quote(sloth_id(slo)), quote(slo.service), quote(sloth_slo(slo))
    return f"{{sloth_id={sid}, sloth_service={service}, sloth_slo={name}}}"


def base_labels(slo: SLO) -> dict[str, str]:
    labels = dict(slo.labels)
    labels.update(
        {"sloth_id": sloth_id(slo), "sloth_service": slo.service, "sloth_slo": sloth_slo(slo)}
    )
    return labels


def window_labels(slo: SLO, seconds: int) -> Mapping[str, str]:
    return MappingProxyType(base_labels(slo) | {"sloth_window": prom_duration(seconds)})
