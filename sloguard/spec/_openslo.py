"""OpenSLO ``openslo/v1`` and ``openslo/v1alpha`` documents."""

from __future__ import annotations

from sloguard.errors import Problem
from sloguard.spec._yaml import Doc

V1 = "openslo/v1"
V1ALPHA = "openslo/v1alpha"

Converted = tuple[Doc, str, list[Problem]]


def convert(docs: list[Doc]) -> tuple[list[Converted], list[Problem], list[Problem]]:
    return [], [Problem(d.start, "OpenSLO is not supported yet") for d in docs], []
