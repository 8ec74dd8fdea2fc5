"""Read the vendor contracts in ``harness/contracts/``, and build their validators.

Folders whose schemas ``$ref`` each other (``common.schema.json``, ``adf.schema.json``) get
:func:`contract_validator`: every ``*.schema.json`` of the folder goes into one
``referencing.Registry`` keyed by its ``$id``, as the folders' READMEs ask.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


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


@cache
def _schemas(folder: str) -> dict[str, dict[str, Any]]:
    """File name -> parsed schema, for every ``*.schema.json`` in ``contracts/<folder>/``."""
    root = files("harness").joinpath("contracts", folder)
    return {
        entry.name: load(f"{folder}/{entry.name}")
        for entry in root.iterdir()
        if entry.name.endswith(".schema.json")
    }


@cache
def _registry(folder: str) -> Registry[Any]:
    resources = [
        (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
        for schema in _schemas(folder).values()
    ]
    return Registry().with_resources(resources)


@cache
def contract_validator(folder: str, name: str, definition: str | None = None) -> Any:
    """A 2020-12 validator for ``contracts/<folder>/<name>`` (or one of its ``$defs``), with
    the folder's other schemas resolvable by their relative ``$ref``s."""
    schema = _schemas(folder)[name]
    if definition is not None:
        schema = {"$ref": f"{schema['$id']}#/$defs/{definition}"}
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry(folder), format_checker=FormatChecker())
