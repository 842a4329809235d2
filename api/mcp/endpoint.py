"""The `/mcp` endpoint: the tenant's API key on every request, then the MCP SDK.

The SDK's streamable HTTP session manager runs stateless with JSON answers: each POST
is one exchange, so any API process behind a load balancer can answer it and nothing
about a client outlives its request. That matters for authentication too: a stateful
session would run its tools in the task of the request that opened it, with that
request's tenant, whatever key later requests on the session presented.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Receive, Scope, Send

from api.auth import authenticate, bearer, caller_tenant
from api.deps import get_services
from api.mcp.caller import SCOPE_KEY, McpCaller

PATH = "/mcp"
METHODS = ["GET", "POST", "DELETE"]

# The SDK checks Host and Origin against a list when it guards against DNS rebinding,
# which would refuse the API's real host names. Every request here must carry the
# tenant's key in a header, which a page that rebinds a name cannot know or send.
_TRANSPORT_SECURITY = TransportSecuritySettings(enable_dns_rebinding_protection=False)


class McpEndpoint:
    """An ASGI endpoint for the route `/mcp`, over one `MCPServer`."""

    def __init__(self, server: MCPServer) -> None:
        self._server = server
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Serve MCP while the API's lifespan lasts.

        The SDK's session manager holds an anyio task group, which must be left in the
        task that entered it; a lifespan may end in another task than it began in (test
        fixtures do), so the manager runs in a task of its own. It runs once, so each
        lifespan gets a new one.
        """
        self._server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            json_response=True,
            transport_security=_TRANSPORT_SECURITY,
        )
        manager = self._server.session_manager
        ready, stop = asyncio.Event(), asyncio.Event()

        async def serve() -> None:
            async with manager.run():
                self._manager = manager
                ready.set()
                try:
                    await stop.wait()
                finally:
                    self._manager = None

        task = asyncio.create_task(serve(), name="mcp-session-manager")
        waiting = asyncio.create_task(ready.wait())
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if task.done():
            task.result()  # its failure, raised here
            raise RuntimeError("the MCP session manager ended as it started")
        try:
            yield
        finally:
            stop.set()
            await task

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            tenant_id = await _tenant_of(request)
        except HTTPException as exc:
            answer = JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
            await answer(scope, receive, send)
            return
        if self._manager is None:  # outside the lifespan: nothing serves MCP yet
            await JSONResponse({"detail": "the MCP server is not running"}, 503)(
                scope, receive, send
            )
            return
        scope[SCOPE_KEY] = McpCaller(services=get_services(request), tenant_id=tenant_id)
        await self._manager.handle_request(scope, receive, send)


async def _tenant_of(request: Request) -> str:
    """The tenant of the request's key, checked exactly as on the REST routes.

    Raises:
        HTTPException: 401 (with `WWW-Authenticate`) for a missing, malformed, unknown
            or revoked key, or one sent as `?access_token=`; 403 for the admin key.
    """
    credentials = await bearer(request)
    caller = await authenticate(request, get_services(request), credentials)
    return await caller_tenant(caller)
