"""A tool's arguments as a JSON Schema: checked when the tool is registered, and the
arguments an agent chose checked against it before anything is sent.

The schema is what a model is shown (OpenAI-style function parameters), so it must be an
object schema. Only local references (`#/...`) are accepted: a remote `$ref` would have
the validator reach a URL the tenant chose, from inside the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Final

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs ship
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]

MAX_SCHEMA_BYTES: Final = 16_000
MAX_PROBLEMS: Final = 5


def schema_problems(schema: Any) -> list[str]:
    """Why `schema` cannot describe a tool's arguments (empty: it can).

    The messages name where the problem is (`properties.amount.type`), never the
    tenant's values beyond that path.
    """
    if not isinstance(schema, dict):
        return ["must be a JSON object (a JSON Schema)"]
    if schema.get("type") != "object":
        return ['must have "type": "object" (a tool takes named arguments)']
    if len(json.dumps(schema)) > MAX_SCHEMA_BYTES:
        return [f"is larger than {MAX_SCHEMA_BYTES} bytes"]
    remote = sorted(set(_remote_refs(schema)))
    if remote:
        return [f"$ref must be local ('#/...'), not {remote[0][:100]!r}"]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "(root)"
        return [f"{where}: {exc.message[:200]}"]
    return []


def argument_problems(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> list[str]:
    """Why `arguments` do not fit `schema` (empty: they do), the first few, by path."""
    validator = Draft202012Validator(dict(schema))
    problems: list[str] = []
    for error in sorted(validator.iter_errors(dict(arguments)), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in error.absolute_path) or "(arguments)"
        problems.append(f"{where}: {error.message[:200]}")
        if len(problems) == MAX_PROBLEMS:
            break
    return problems


def _remote_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"$ref", "$dynamicRef"} and isinstance(value, str):
                if not value.startswith("#"):
                    yield value
            else:
                yield from _remote_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _remote_refs(item)
