"""The tenant's own tools for its agents: HTTP tools, MCP servers, and their call log.

An HTTP tool's signing secret (`whsec_...`) is shown once, in the answer that creates
it; an MCP server's token and headers are never answered (`token_hint`, its last four
characters, and `header_names` say what is set). URLs pass the webhooks' SSRF rules at
registration (422) and again at every call. A tool's name may not be a built-in tool's
(an agent would not know which it calls). Another tenant's tool or server answers 404,
as one that does not exist.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from api.auth import TenantId
from api.deps import Services
from api.limits import PageOffset
from centralita.actions.models import (
    HttpTool,
    HttpToolCreate,
    HttpToolCreated,
    HttpToolPage,
    McpServer,
    McpServerCreate,
    McpServerPage,
    ToolInvocationPage,
    header_problems,
    token_problems,
)
from centralita.actions.store import http_tools, invocations, mcp_servers
from centralita.actions.store.http_tools import ToolNameTakenError
from centralita.actions.store.mcp_servers import ServerNameTakenError
from centralita.webhooks.signing import new_secret, parse_secret
from centralita.webhooks.ssrf import UnsafeUrl, check_url
from realtime.agents.flows.tools import TOOLS
from realtime.agents.llm.flow_prompt import FILL_SLOTS, GO_TO_NODE
from realtime.store.agents import unknown_agents

log = logging.getLogger(__name__)

router = APIRouter(tags=["actions"])

BUILT_IN = frozenset({*TOOLS, GO_TO_NODE, FILL_SLOTS})
ToolParam = Annotated[str, Path(max_length=64, description="The tool's name.")]
ServerParam = Annotated[str, Path(max_length=24, description="The MCP server's name.")]
CallKey = Annotated[str, Path(max_length=200, description="The call's idempotency key.")]
Limit = Annotated[int, Query(ge=1, le=500)]
_TOOL_404: dict[int | str, dict[str, Any]] = {404: {"description": "no such tool"}}
_SERVER_404: dict[int | str, dict[str, Any]] = {404: {"description": "no such MCP server"}}


def _unprocessable(field: str, message: str) -> HTTPException:
    # FastAPI's shape without the `input` it would echo: the field may be a secret.
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": ["body", field], "msg": message, "type": "value_error"}],
    )


async def _check_common(
    services: Services, tenant: str, url: str, agents: list[str] | None
) -> None:
    try:
        await check_url(url, allow_hosts=services.settings.webhook_allow_hosts)
    except UnsafeUrl as exc:
        raise _unprocessable("url", str(exc)) from exc
    if agents:
        unknown = await unknown_agents(services.pool, tenant, agents)
        if unknown:
            raise _unprocessable("agents", f"unknown agent(s): {', '.join(unknown)}")


async def _checked_tool(services: Services, tenant: str, body: HttpToolCreate) -> HttpToolCreate:
    if body.name in BUILT_IN:
        raise _unprocessable("name", f"{body.name!r} is a built-in tool's name")
    if body.secret is not None:
        try:
            parse_secret(body.secret)
        except ValueError as exc:
            raise _unprocessable("secret", str(exc)) from exc
    await _check_common(services, tenant, body.url, body.agents)
    return body


def _no_tool(name: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no tool {name}")


def _no_server(name: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no MCP server {name}")


# -- HTTP tools ------------------------------------------------------------------------


@router.post(
    "/tools",
    status_code=status.HTTP_201_CREATED,
    response_model=HttpToolCreated,
    responses={
        409: {"description": "the tenant has a tool of that name"},
        422: {"description": "bad name, schema, secret or agent; refused URL (SSRF)"},
    },
)
async def create_tool(
    body: HttpToolCreate, services: Services, tenant: TenantId
) -> HttpToolCreated:
    """Add an HTTP tool. Keep the `secret` from this answer: it signs every request
    (Standard Webhooks headers) and is not shown again."""
    body = await _checked_tool(services, tenant, body)
    secret = body.secret or new_secret()
    async with services.pool.connection() as conn:
        try:
            tool = await http_tools.create_tool(conn, services.keys, tenant, body, secret)
        except ToolNameTakenError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    log.info("http tool %s added", tool.name)
    return HttpToolCreated(**tool.model_dump(), secret=secret)


@router.get("/tools", response_model=HttpToolPage)
async def list_tools(
    services: Services, tenant: TenantId, limit: Limit = 100, offset: PageOffset = 0
) -> HttpToolPage:
    """The tenant's HTTP tools, oldest first (secrets are never listed)."""
    async with services.pool.connection() as conn:
        return await http_tools.list_tools(conn, tenant, limit=limit, offset=offset)


@router.get("/tools/{tool_name}", response_model=HttpTool, responses=_TOOL_404)
async def get_tool(tool_name: ToolParam, services: Services, tenant: TenantId) -> HttpTool:
    """One HTTP tool."""
    async with services.pool.connection() as conn:
        tool = await http_tools.get_tool(conn, tenant, tool_name)
    if tool is None:
        raise _no_tool(tool_name)
    return tool


@router.put(
    "/tools/{tool_name}",
    response_model=HttpTool,
    responses={**_TOOL_404, 409: {"description": "renamed to a name the tenant has"}},
)
async def replace_tool(
    tool_name: ToolParam, body: HttpToolCreate, services: Services, tenant: TenantId
) -> HttpTool:
    """Replace an HTTP tool (its secret kept unless the body gives one). Calls see the
    change within half a minute."""
    body = await _checked_tool(services, tenant, body)
    async with services.pool.connection() as conn:
        try:
            tool = await http_tools.replace_tool(conn, services.keys, tenant, tool_name, body)
        except ToolNameTakenError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    if tool is None:
        raise _no_tool(tool_name)
    return tool


@router.delete("/tools/{tool_name}", status_code=status.HTTP_204_NO_CONTENT, responses=_TOOL_404)
async def delete_tool(tool_name: ToolParam, services: Services, tenant: TenantId) -> Response:
    """Delete an HTTP tool with its secret (its call log stays)."""
    async with services.pool.connection() as conn:
        if not await http_tools.delete_tool(conn, tenant, tool_name):
            raise _no_tool(tool_name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/tools/{tool_name}/invocations",
    response_model=ToolInvocationPage,
    responses={404: {"description": "the tenant has no such tool, nor calls of one"}},
)
async def tool_invocations(
    tool_name: Annotated[str, Path(max_length=200, description="A tool's name (MCP: mcp_...).")],
    services: Services,
    tenant: TenantId,
    limit: Limit = 100,
    offset: PageOffset = 0,
) -> ToolInvocationPage:
    """The calls of one tenant tool (HTTP or MCP), newest first, arguments masked."""
    async with services.pool.connection() as conn:
        page = await invocations.list_invocations(
            conn, tenant, tool=tool_name, limit=limit, offset=offset
        )
        if page.total == 0 and await http_tools.get_tool(conn, tenant, tool_name) is None:
            raise _no_tool(tool_name)
    return page


@router.get(
    "/calls/{call_key}/tool-invocations",
    response_model=ToolInvocationPage,
    responses={404: {"description": "no tenant tool was called in such a call of the tenant"}},
)
async def call_tool_invocations(
    call_key: CallKey,
    services: Services,
    tenant: TenantId,
    limit: Limit = 100,
    offset: PageOffset = 0,
) -> ToolInvocationPage:
    """The tenant tools one call used, in order, arguments masked. A call that used none
    answers 404, as another tenant's call does."""
    async with services.pool.connection() as conn:
        page = await invocations.list_invocations(
            conn, tenant, call_key=call_key, limit=limit, offset=offset
        )
    if page.total == 0:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"no tool invocations in call {call_key}"
        )
    return page


# -- MCP servers -----------------------------------------------------------------------


@router.post(
    "/mcp-servers",
    status_code=status.HTTP_201_CREATED,
    response_model=McpServer,
    responses={
        409: {"description": "the tenant has a server of that name"},
        422: {"description": "bad name, token, header or agent; refused URL (SSRF)"},
    },
)
async def create_mcp_server(
    body: McpServerCreate, services: Services, tenant: TenantId
) -> McpServer:
    """Add an MCP server (streamable HTTP): its `allowed_tools` reach the agents as
    `mcp_<server>_<tool>`. The token and headers are stored encrypted, never answered."""
    problems = [
        *(token_problems(body.token) if body.token is not None else []),
        *(header_problems(body.headers) if body.headers else []),
    ]
    if problems:
        field = problems[0].partition(":")[0].split(".")[0]
        raise _unprocessable(field, problems[0])
    await _check_common(services, tenant, body.url, body.agents)
    async with services.pool.connection() as conn:
        try:
            server = await mcp_servers.create_server(conn, services.keys, tenant, body)
        except ServerNameTakenError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    log.info("MCP server %s added", server.name)
    return server


@router.get("/mcp-servers", response_model=McpServerPage)
async def list_mcp_servers(
    services: Services, tenant: TenantId, limit: Limit = 100, offset: PageOffset = 0
) -> McpServerPage:
    """The tenant's MCP servers, oldest first (credentials are never listed)."""
    async with services.pool.connection() as conn:
        return await mcp_servers.list_servers(conn, tenant, limit=limit, offset=offset)


@router.get("/mcp-servers/{server_name}", response_model=McpServer, responses=_SERVER_404)
async def get_mcp_server(
    server_name: ServerParam, services: Services, tenant: TenantId
) -> McpServer:
    """One MCP server."""
    async with services.pool.connection() as conn:
        server = await mcp_servers.get_server(conn, tenant, server_name)
    if server is None:
        raise _no_server(server_name)
    return server


@router.delete(
    "/mcp-servers/{server_name}", status_code=status.HTTP_204_NO_CONTENT, responses=_SERVER_404
)
async def delete_mcp_server(
    server_name: ServerParam, services: Services, tenant: TenantId
) -> Response:
    """Delete an MCP server with its credentials (its tools' call log stays)."""
    async with services.pool.connection() as conn:
        if not await mcp_servers.delete_server(conn, tenant, server_name):
            raise _no_server(server_name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
