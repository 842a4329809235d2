"""The MCP server: its name, its instructions and its tools, and where the API serves it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import ValidationError
from starlette.routing import Route

from api.mcp import campaign_tools, read_tools
from api.mcp.endpoint import METHODS, PATH, McpEndpoint
from centralita import __version__

INSTRUCTIONS = (
    "Centralita runs outbound calling campaigns with voice agents. Create a campaign from "
    "a CSV of contacts, pause or resume it, follow its progress and figures, read a "
    "contact's history and a call's transcript and analysis, and search the knowledge "
    "base the agents answer from. Everything is the API key's tenant's; ids of anything "
    "else read as not found."
)

_READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_CONTROL = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
_CREATE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)

# (name, function, annotations): the names are the tools' public contract.
TOOLS: tuple[tuple[str, Callable[..., Any], ToolAnnotations], ...] = (
    ("create_campaign_from_csv", campaign_tools.create_campaign_from_csv, _CREATE),
    ("pause_campaign", campaign_tools.pause_campaign, _CONTROL),
    ("resume_campaign", campaign_tools.resume_campaign, _CONTROL),
    ("campaign_progress", campaign_tools.campaign_progress, _READ),
    ("campaign_stats", campaign_tools.campaign_stats_tool, _READ),
    ("list_campaigns", campaign_tools.list_campaigns, _READ),
    ("campaign_contacts", campaign_tools.campaign_contacts, _READ),
    ("contact_history", read_tools.contact_history_tool, _READ),
    ("call_transcript", read_tools.call_transcript, _READ),
    ("search_knowledge", read_tools.search_knowledge, _READ),
)


@contextmanager
def _root_logging_kept() -> Iterator[None]:
    """Undo what `MCPServer()` does to the root logger.

    Its constructor calls `logging.basicConfig` (a rich handler, level INFO): in a
    process that configures logging later, or never (tests, `centralita` commands),
    that would decide the process's logging. The API's logging is the process's own.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


class _Server(MCPServer):
    """The SDK's server, with argument errors that name fields and never echo values.

    The SDK reports a failed argument check as pydantic prints it, input included: a
    CSV of names and phones would come back in the error, and into the model's context.
    """

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if type(exc) is not ToolError or not isinstance(cause, ValidationError):
                raise
            raise ToolError(f"invalid arguments for {name}: {_problems(cause)}") from cause


def _problems(error: ValidationError) -> str:
    """Each invalid argument and why, without the value given."""
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'arguments'}: {e['msg']}"
        for e in error.errors(include_url=False, include_context=False, include_input=False)
    )


def build_server() -> MCPServer:
    """A new MCP server with Centralita's tools."""
    with _root_logging_kept():
        server: MCPServer = _Server(
            "centralita", title="Centralita", instructions=INSTRUCTIONS, version=__version__
        )
    for name, function, hints in TOOLS:
        server.add_tool(function, name=name, annotations=hints)
    return server


def mount_mcp(app: FastAPI) -> McpEndpoint:
    """Serve MCP at `/mcp` of `app`; run the returned endpoint's `running()` in the app's
    lifespan. The route is outside the OpenAPI schema: MCP clients list the tools."""
    endpoint = McpEndpoint(build_server())
    # A plain Starlette route: FastAPI's would wrap the endpoint as a request handler.
    app.router.routes.append(Route(PATH, endpoint, methods=METHODS, include_in_schema=False))
    return endpoint
