"""Read the vendor contracts shipped as package data in ``harness/contracts/``."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker


@cache
def load(relative: str) -> Any:
    """``load("pagerduty/contract.json")``: parsed JSON of one contract file."""
    text = files("harness").joinpath("contracts", *relative.split("/")).read_text("utf-8")
    return json.loads(text)


@cache
def validator(relative: str, definition: str | None = None) -> Any:
    """A jsonschema validator for a schema file, or for one of its ``$defs``."""
    schema = load(relative)
    if definition is not None:
        schema = {**schema, "$ref": f"#/$defs/{definition}"}
    cls = Draft7Validator if "draft-07" in schema.get("$schema", "") else Draft202012Validator
    cls.check_schema(schema)
    return cls(schema, format_checker=FormatChecker())
