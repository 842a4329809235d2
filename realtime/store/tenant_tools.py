"""The tenant tools a call gets: its tenant's HTTP tools and allow-listed MCP tools for
its agent, bound to the call as `ExternalTools` (`realtime/agents/external_tools.py`).

A call start must not wait long on this nor fail because of it, as with the tenant's
agent (`realtime/store/agent_lookup.py`): the tools' rows are kept per (tenant, agent)
for `refresh_s`, an MCP server's tool listing per server for `listing_refresh_s`, the
whole lookup has a deadline, and whatever goes wrong (Postgres, a server down, a key the
ring lacks) leaves the call without those tools, with a warning, never without a call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import Any

from centralita.actions.http_caller import ToolOutcome, call_http_tool
from centralita.actions.lines import failure_line, waiting_line
from centralita.actions.mcp_client import McpTool, call_mcp_tool, list_allowed_tools
from centralita.actions.models import HttpToolConfig, Invocation, McpServerConfig
from centralita.actions.store.http_tools import tools_for_agent
from centralita.actions.store.invocations import record_invocation
from centralita.actions.store.mcp_servers import servers_for_agent
from centralita.kernel.db import Pool
from centralita.kernel.key_ring import KeyRing
from realtime.agents.external_tools import ExternalTool, ExternalTools, Recorder
from realtime.cache import FreshCache

log = logging.getLogger(__name__)

REFRESH_S = 30.0
LISTING_REFRESH_S = 60.0
LOOKUP_TIMEOUT_S = 1.5

_Configs = tuple[list[HttpToolConfig], list[McpServerConfig]]


class TenantTools:
    """Builds each call's `ExternalTools` from its tenant's stored tools.

    Args:
        pool: the database.
        keys: opens the tools' secrets and the servers' credentials.
        allow_hosts: the SSRF allow-list (`CENTRALITA_WEBHOOK_ALLOW_HOSTS`).
        refresh_s: how stale a tenant's tool rows may get.
        listing_refresh_s: how stale an MCP server's tool listing may get.
        timeout_s: the most a call start waits for the tools.
    """

    def __init__(
        self,
        pool: Pool,
        keys: KeyRing,
        *,
        allow_hosts: Collection[str] = (),
        refresh_s: float = REFRESH_S,
        listing_refresh_s: float = LISTING_REFRESH_S,
        timeout_s: float = LOOKUP_TIMEOUT_S,
    ) -> None:
        self._pool = pool
        self._keys = keys
        self._allow = tuple(allow_hosts)
        self._timeout_s = timeout_s
        self._configs: FreshCache[tuple[str, str], _Configs] = FreshCache(refresh_s)
        # By (tenant, server, its URL and allow-list): an edited server is listed anew.
        self._listings: FreshCache[tuple[str, str, str, tuple[str, ...]], list[McpTool]] = (
            FreshCache(listing_refresh_s)
        )

    async def for_call(
        self, tenant_id: str, agent: str, call_key: str, language: str
    ) -> ExternalTools | None:
        """The call's tenant tools; None when it has none (or they cannot be had now)."""
        try:
            async with asyncio.timeout(self._timeout_s):
                https, servers = await self._configs.get(
                    (tenant_id, agent), lambda: self._load(tenant_id, agent)
                )
                listings = await asyncio.gather(
                    *(self._listing(tenant_id, server) for server in servers)
                )
        except Exception:
            log.warning("call %s: the tenant's tools are unavailable", call_key, exc_info=True)
            return None
        tools = [self._http(tool, call_key, language) for tool in https]
        for server, listing in zip(servers, listings, strict=True):
            tools += [self._mcp(server, tool, language) for tool in listing]
        if not tools:
            return None
        return ExternalTools(
            tools, call_key=call_key, agent=agent, record=self._recorder(tenant_id)
        )

    async def _load(self, tenant_id: str, agent: str) -> _Configs:
        async with self._pool.connection() as conn:
            https = await tools_for_agent(conn, self._keys, tenant_id, agent)
            servers = await servers_for_agent(conn, self._keys, tenant_id, agent)
        return https, servers

    async def _listing(self, tenant_id: str, server: McpServerConfig) -> list[McpTool]:
        """The server's allow-listed tools; none (this call) when it cannot be listed."""
        try:
            return await self._listings.get(
                (tenant_id, server.name, server.url, server.allowed_tools),
                lambda: list_allowed_tools(server, allow_hosts=self._allow),
            )
        except Exception as exc:
            log.warning("MCP server %s of tenant %s: %s", server.name, tenant_id, exc)
            return []

    def _http(self, tool: HttpToolConfig, call_key: str, language: str) -> ExternalTool:
        allow = self._allow

        async def run(arguments: dict[str, Any]) -> ToolOutcome:
            return await call_http_tool(tool, arguments, call_key=call_key, allow_hosts=allow)

        return ExternalTool(
            name=tool.name,
            kind="http",
            description=tool.description,
            parameters=tool.parameters,
            waiting_line=waiting_line(tool.waiting_line, language),
            failure_line=failure_line(tool.failure_line, language),
            timeout_s=tool.timeout_ms / 1000,
            run=run,
        )

    def _mcp(self, server: McpServerConfig, tool: McpTool, language: str) -> ExternalTool:
        allow = self._allow

        async def run(arguments: dict[str, Any]) -> ToolOutcome:
            return await call_mcp_tool(server, tool.name, arguments, allow_hosts=allow)

        return ExternalTool(
            name=tool.exposed,
            kind="mcp",
            description=tool.description,
            parameters=tool.parameters,
            waiting_line=waiting_line(server.waiting_line, language),
            failure_line=failure_line(server.failure_line, language),
            timeout_s=server.timeout_ms / 1000,
            run=run,
        )

    def _recorder(self, tenant_id: str) -> Recorder:
        pool = self._pool

        async def record(invocation: Invocation) -> None:
            async with pool.connection() as conn:
                await record_invocation(conn, tenant_id, invocation)

        return record
