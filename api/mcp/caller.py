"""Who a tool call acts for, and the REST layer's errors as tool errors.

The endpoint (`api.mcp.endpoint`) authenticates each HTTP request and stores an
`McpCaller` in the request's ASGI scope; the SDK hands tools that request
(`ctx.request_context.request`), so a tool reads its tenant from the very request that
carried it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, status
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from api.services import ApiServices

SCOPE_KEY = "centralita.mcp_caller"

# How each REST status reads in a tool error: the model is told what kind of failure.
# (A 404's detail says "... not found" itself, as `not_found` does.)
_KINDS: dict[int, str] = {
    status.HTTP_409_CONFLICT: "conflict",
    status.HTTP_413_CONTENT_TOO_LARGE: "too large",
    status.HTTP_422_UNPROCESSABLE_CONTENT: "invalid",
    status.HTTP_429_TOO_MANY_REQUESTS: "rate limited",
    status.HTTP_503_SERVICE_UNAVAILABLE: "unavailable",
}


@dataclass(frozen=True)
class McpCaller:
    """The services of the API and the tenant an authenticated request acts for."""

    services: ApiServices
    tenant_id: str


def caller_of(ctx: Context) -> McpCaller:
    """The caller of the HTTP request that carried this tool call.

    Raises:
        ToolError: the request did not come through the authenticating endpoint (never
            the case over HTTP; the in-process client of the SDK has no request).
    """
    request: Any = ctx.request_context.request
    caller = getattr(request, "scope", {}).get(SCOPE_KEY)
    if not isinstance(caller, McpCaller):
        raise ToolError("unauthenticated: connect over HTTP with a tenant's API key")
    return caller


def not_found(what: str, ident: str) -> ToolError:
    """The error for an id the tenant has no such thing under (another tenant's too)."""
    return ToolError(f"{what} {ident} not found")


def _message(exc: HTTPException) -> str:
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, default=str)
    if exc.status_code == status.HTTP_404_NOT_FOUND:
        return detail
    kind = _KINDS.get(exc.status_code, f"error {exc.status_code}")
    retry = (exc.headers or {}).get("Retry-After")
    suffix = f" (retry after {retry} s)" if retry else ""
    return f"{kind}: {detail}{suffix}"


@contextmanager
def as_tool_errors() -> Iterator[None]:
    """Turn the REST functions' HTTP errors into tool errors with the same detail.

    The detail is what the REST API answers the same tenant (row numbers and reasons,
    field names), never a secret: the shared functions never put one there.
    """
    try:
        yield
    except HTTPException as exc:
        raise ToolError(_message(exc)) from exc
