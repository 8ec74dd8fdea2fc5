"""Sloth specs (``version: prometheus/v1`` and the ``PrometheusServiceLevel`` CRD)."""

from __future__ import annotations

from sloguard.errors import Problem
from sloguard.spec._yaml import Doc

PROM_VERSION = "prometheus/v1"
K8S_API_VERSION = "sloth.slok.dev/v1"

Converted = tuple[Doc, str, list[Problem]]


def convert_prometheus(doc: Doc) -> tuple[list[Converted], list[Problem]]:
    return [], [Problem(doc.start, "Sloth specs are not supported yet")]


def convert_k8s(doc: Doc) -> tuple[list[Converted], list[Problem], list[Problem]]:
    return [], [Problem(doc.start, "Sloth specs are not supported yet")], []
