"""The error answers every operation can give, written into the OpenAPI schema.

FastAPI documents a 422 as its own validation error (`detail`: a list of `{loc, msg,
type}`), but routes also answer 422 from their own checks with `detail` as a message
(a string, or an object such as campaign creation's `{message, rejected}`). Some answers
come before any route runs: an operation that reads a body answers 400 when the body
cannot be read at all (not UTF-8, a broken multipart form) and 413 when it is over the
size limit (`api/limits.py`), and one that needs a key answers 401 without a valid one
(`api/auth.py`). Schema-driven clients and checkers (tests/integration/
test_openapi_fuzz.py) read statuses and bodies from the schema, so these are written
into it here, once for every route; what a route documents itself is kept.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ERROR_BODY = "ErrorBody"

_ERROR_BODY_SCHEMA: dict[str, Any] = {
    "title": ERROR_BODY,
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "title": "Detail",
            "description": "What was wrong: a message, a structured message, or "
            "FastAPI's list of validation errors.",
            "anyOf": [
                {"type": "string"},
                {"type": "object"},
                {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}},
            ],
        }
    },
}
_VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ValidationError",
    "type": "object",
    "required": ["loc", "msg", "type"],
    "properties": {
        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"type": "string"},
        "type": {"type": "string"},
    },
}
_JSON_ERROR = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_BODY}"}}}
_UNREADABLE_BODY = "the body could not be read: not UTF-8, or a malformed multipart form"
_TOO_LARGE = "the body is over the size limit"
_NO_KEY = "a missing, malformed, unknown or revoked API key"
_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


def document_error_bodies(app: FastAPI) -> None:
    """Make the app's OpenAPI schema state its 400 and 422 answers as they are."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = build()
        if fresh:
            _document(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components[ERROR_BODY] = _ERROR_BODY_SCHEMA
    components.setdefault("ValidationError", _VALIDATION_ERROR_SCHEMA)
    for path_item in schema.get("paths", {}).values():
        for method in _METHODS:
            operation = path_item.get(method)
            if operation is not None:
                _document_operation(operation)


def _document_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if "422" in responses:
        described = responses["422"].get("description") or "Validation Error"
        responses["422"] = {"description": described, "content": _JSON_ERROR}
    if "requestBody" in operation:
        responses.setdefault("400", {"description": _UNREADABLE_BODY, "content": _JSON_ERROR})
        responses.setdefault("413", {"description": _TOO_LARGE, "content": _JSON_ERROR})
    if operation.get("security"):  # public operations say `security: []`
        responses.setdefault("401", {"description": _NO_KEY, "content": _JSON_ERROR})
