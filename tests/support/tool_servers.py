"""Tenant tool servers on 127.0.0.1 for the actions tests: an HTTP tool receiver that
verifies Standard Webhooks signatures with the `standardwebhooks` library, and an MCP
server built with the `mcp` SDK (`MCPServer`, streamable HTTP) behind a bearer token."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import Request
from fastapi.responses import JSONResponse
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from standardwebhooks import Webhook as StandardWebhook
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response
from starlette.types import ASGIApp

from centralita.kernel.settings import Settings
from tests.support.fakes.loopback import LoopbackServer
from tests.support.servers import settings_for
from tests.support.tenants import ADMIN_KEY


@dataclass
class Received:
    """One request the receiver verified."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]


class ToolReceiver(LoopbackServer):
    """POST /orders answers an order's status (after `orders_delay_s`); POST /slow sleeps
    `slow_s` first.

    Every request must carry a valid signature under `secret` (set once the tool is
    created): one that does not verify answers 401, and is counted in `refused`.
    """

    def __init__(self, slow_s: float = 2.0, orders_delay_s: float = 0.0) -> None:
        super().__init__()
        self.secret = ""
        self.received: list[Received] = []
        self.refused = 0
        self.slow_s = slow_s
        self.orders_delay_s = orders_delay_s  # a tenant service that takes its time

        @self.app.post("/orders")
        async def orders(request: Request) -> JSONResponse:
            payload = await self._verified(request)
            if payload is None:
                return JSONResponse({"error": "bad signature"}, status_code=401)
            order = payload["arguments"].get("order_id")
            await asyncio.sleep(self.orders_delay_s)
            return JSONResponse({"order_id": order, "status": "enviado", "eta": "mañana"})

        @self.app.post("/slow")
        async def slow(request: Request) -> JSONResponse:
            payload = await self._verified(request)
            await asyncio.sleep(self.slow_s)
            return JSONResponse({"late": payload is not None})

    async def _verified(self, request: Request) -> dict[str, Any] | None:
        body = await request.body()
        headers = dict(request.headers)
        try:
            StandardWebhook(self.secret).verify(body, headers)
        except Exception:
            self.refused += 1
            return None
        payload: dict[str, Any] = json.loads(body)
        self.received.append(Received(request.url.path, payload, headers))
        return payload


@dataclass
class McpCalls:
    """What the MCP server's tools were called with."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    unauthorised: int = 0
    hosts: set[str] = field(default_factory=set)  # the Host headers requests came with


def crm_server(seen: McpCalls) -> MCPServer:
    """A CRM with one safe tool and one the allow-list must keep from agents."""
    server = MCPServer("crm")

    @server.tool()
    def customer_status(customer_id: str) -> dict[str, Any]:
        """The customer's account status."""
        seen.calls.append(("customer_status", {"customer_id": customer_id}))
        return {"customer_id": customer_id, "status": "al día", "segment": "gold"}

    @server.tool()
    def delete_customer(customer_id: str) -> str:
        """Delete the customer (never for a phone agent)."""
        seen.calls.append(("delete_customer", {"customer_id": customer_id}))
        return "deleted"

    return server


class _Bearer(BaseHTTPMiddleware):
    def __init__(self, app: ASGIApp, token: str, seen: McpCalls) -> None:
        super().__init__(app)
        self._token = token
        self._seen = seen

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        self._seen.hosts.add(request.headers.get("host", ""))
        if request.headers.get("authorization") != f"Bearer {self._token}":
            self._seen.unauthorised += 1
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return await call_next(request)


@contextlib.asynccontextmanager
async def serving_mcp(
    token: str, *, also_named: str | None = None
) -> AsyncIterator[tuple[str, McpCalls]]:
    """The CRM MCP server on a free 127.0.0.1 port: (its /mcp URL, what it saw).

    `also_named`: a host name it answers to besides 127.0.0.1 (the SDK's own DNS
    rebinding guard refuses other `Host` headers)."""
    seen = McpCalls()
    names = ["127.0.0.1:*", *([f"{also_named}:*"] if also_named else [])]
    security = TransportSecuritySettings(allowed_hosts=names)
    app = crm_server(seen).streamable_http_app(transport_security=security)
    app.add_middleware(_Bearer, token=token, seen=seen)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/mcp", seen
    finally:
        server.should_exit = True
        await task


def local_tools_settings(database_url: str) -> Settings:
    """Test settings whose SSRF rules let tenant tools reach the local servers here
    (127.0.0.1), with the admin key for a second tenant."""
    return settings_for(
        database_url, "127.0.0.1:1", admin_api_key=ADMIN_KEY, webhook_allow_hosts=["127.0.0.1"]
    )
