"""A tenant's MCP server: its allow-listed tools, listed and called over streamable HTTP
with the official `mcp` SDK (`mcp.Client` over `streamable_http_client`).

Only tools in the server's `allowed_tools` are ever listed to an agent or called: a
server may offer more (a "delete everything") than the tenant wants a phone agent to
reach. The URL passes the same SSRF guard as webhooks and HTTP tools before each
connection, and the connection goes to the addresses the guard checked
(`pinned_transport.py`); the credentials (a bearer token, other headers) travel on the SDK's HTTP
client and never appear in an outcome or a log line.

Each call opens its own session (a handshake, then `tools/call`): a call's tools run
seldom, and a session held across turns would need its own task to live in. Listings
are cached by the caller (`realtime/store/tenant_tools.py`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent

from centralita.actions.http_caller import MAX_TEXT_CHARS, ToolOutcome
from centralita.actions.models import McpServerConfig, mcp_tool_name
from centralita.actions.pinned_transport import PinnedTransport
from centralita.webhooks.ssrf import Resolver, UnsafeUrl, check_url


class McpUnavailable(Exception):  # noqa: N818 - reads as what happened
    """The server could not be reached or refused us; the message holds no credential."""


@dataclass(frozen=True)
class McpTool:
    """One allow-listed tool of a server, as agents are offered it."""

    server: str
    name: str  # the server's own name for it
    exposed: str  # what agents call it: `mcp_<server>_<tool>`
    description: str
    parameters: dict[str, Any]


async def list_allowed_tools(
    server: McpServerConfig, *, allow_hosts: Collection[str] = (), resolver: Resolver | None = None
) -> list[McpTool]:
    """The server's tools that its allow-list names (the others are never shown).

    Raises:
        McpUnavailable: the URL is refused, or the server cannot be reached or listed.
    """
    allowed = set(server.allowed_tools)
    try:
        async with asyncio.timeout(server.timeout_ms / 1000 * 2):
            async with _client(server, allow_hosts, resolver) as client:
                listing = await client.list_tools()
    except UnsafeUrl as exc:
        raise McpUnavailable(str(exc)) from None
    except Exception as exc:  # the SDK raises task-group errors, HTTP errors, timeouts
        raise McpUnavailable(f"{server.name}: {_describe(exc)}") from None
    return [
        McpTool(
            server=server.name,
            name=tool.name,
            exposed=mcp_tool_name(server.name, tool.name),
            description=(tool.description or tool.name)[:1000],
            parameters=dict(tool.input_schema),
        )
        for tool in listing.tools
        if tool.name in allowed
    ]


async def call_mcp_tool(
    server: McpServerConfig,
    tool: str,
    arguments: Mapping[str, Any],
    *,
    allow_hosts: Collection[str] = (),
    resolver: Resolver | None = None,
) -> ToolOutcome:
    """Call one of the server's tools; never raises for what the server does."""
    started = time.perf_counter()

    def outcome(result: dict[str, Any], error: str | None) -> ToolOutcome:
        latency = (time.perf_counter() - started) * 1000
        return ToolOutcome(result=result, success=error is None, error=error, latency_ms=latency)

    if tool not in server.allowed_tools:
        return outcome({"error": "not_allowed"}, f"{tool!r} is not in the allow-list")
    try:
        async with asyncio.timeout(server.timeout_ms / 1000):
            async with _client(server, allow_hosts, resolver) as client:
                answer = await client.call_tool(tool, dict(arguments))
    except UnsafeUrl as exc:
        return outcome({"error": "refused_url"}, str(exc))
    except TimeoutError:
        return outcome({"error": "timeout"}, f"timed out after {server.timeout_ms} ms")
    except Exception as exc:  # the SDK raises task-group errors, HTTP errors
        return outcome({"error": "unreachable"}, _describe(exc))
    result = _result(answer)
    if answer.is_error:
        return outcome({"error": "tool_error", **result}, "the tool answered an error")
    return outcome(result, None)


@asynccontextmanager
async def _client(
    server: McpServerConfig, allow_hosts: Collection[str], resolver: Resolver | None
) -> AsyncIterator[Client]:
    """An `mcp.Client` on the server's URL, checked, its credentials on the HTTP client."""
    target = await check_url(server.url, allow_hosts=allow_hosts, resolver=resolver)
    timeout = server.timeout_ms / 1000
    # Connections go to the checked addresses only (no second DNS lookup); trust_env=False:
    # a proxy from the environment would connect for us.
    async with httpx2.AsyncClient(
        headers=server.request_headers(),
        timeout=timeout,
        trust_env=False,
        transport=PinnedTransport(target),
    ) as http:
        transport = streamable_http_client(server.url, http_client=http)
        async with Client(transport, read_timeout_seconds=timeout, cache=None) as client:
            yield client


def _result(answer: CallToolResult) -> dict[str, Any]:
    """The tool's answer as the model reads it: its structured content, else its text
    (parsed when it is a JSON object)."""
    if isinstance(answer.structured_content, dict):
        return dict(answer.structured_content)
    text = "\n".join(c.text for c in answer.content if isinstance(c, TextContent))
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text[:MAX_TEXT_CHARS]}
    return value if isinstance(value, dict) else {"value": value}


def _describe(exc: BaseException) -> str:
    """A short reason; a task group's first real error rather than its wrapper."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip()
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:300]
