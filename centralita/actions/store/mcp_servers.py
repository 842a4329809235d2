"""A tenant's MCP servers in Postgres (`mcp_servers`).

The token and the headers (a JSON object) are sealed with the key ring, each bound to its
column and row; reads for the API select only `token_hint` (its last four characters)
and `header_names`. `servers_for_agent` (for a call) opens them.
"""

from __future__ import annotations

import json
import uuid

import psycopg

from centralita.actions.models import McpServer, McpServerConfig, McpServerCreate, McpServerPage
from centralita.kernel.db import Conn
from centralita.kernel.key_ring import KeyRing
from centralita.kernel.stored_secrets import open_secret, seal_secret, secret_context


class ServerNameTakenError(ValueError):
    """The tenant has an MCP server of that name already."""


_COLUMNS = (
    "id::text AS id, name, url, allowed_tools, timeout_ms, waiting_line, failure_line, "
    "agents, CASE WHEN token_hint IS NOT NULL THEN '****' || token_hint END AS token_hint, "
    "header_names, created_at"
)


def _context(column: str, tenant_id: str, server_id: str) -> str:
    return secret_context(f"mcp_servers.{column}", tenant_id, server_id)


async def create_server(
    conn: Conn, ring: KeyRing, tenant_id: str, server: McpServerCreate
) -> McpServer:
    """Store a new MCP server of the tenant, its credentials sealed.

    Raises:
        ServerNameTakenError: the tenant has a server of that name.
    """
    server_id = str(uuid.uuid4())  # chosen here: the sealed values are bound to it
    token = (
        seal_secret(ring, server.token, _context("token", tenant_id, server_id))
        if server.token
        else None
    )
    headers = server.headers or {}
    sealed_headers = (
        seal_secret(ring, json.dumps(headers), _context("headers", tenant_id, server_id))
        if headers
        else None
    )
    try:
        async with conn.transaction():
            cur = await conn.execute(
                "INSERT INTO mcp_servers (id, tenant_id, name, url, allowed_tools, timeout_ms, "
                "waiting_line, failure_line, agents, token, token_hint, headers, header_names) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                f"RETURNING {_COLUMNS}",
                (
                    server_id,
                    tenant_id,
                    server.name,
                    server.url,
                    list(dict.fromkeys(server.allowed_tools)),
                    server.timeout_ms,
                    server.waiting_line,
                    server.failure_line,
                    server.agents,
                    token,
                    server.token[-4:] if server.token else None,
                    sealed_headers,
                    sorted(headers),
                ),
            )
            row = await cur.fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise ServerNameTakenError(f"an MCP server named {server.name!r} exists already") from exc
    assert row is not None
    return McpServer(**row)


async def get_server(conn: Conn, tenant_id: str, name: str) -> McpServer | None:
    """The tenant's server of that name; None when it has none."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM mcp_servers WHERE tenant_id = %s::uuid AND name = %s",
        (tenant_id, name),
    )
    row = await cur.fetchone()
    return McpServer(**row) if row is not None else None


async def list_servers(conn: Conn, tenant_id: str, *, limit: int, offset: int) -> McpServerPage:
    """The tenant's servers, oldest first (credentials never listed)."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM mcp_servers WHERE tenant_id = %s::uuid "
        "ORDER BY created_at, id LIMIT %s OFFSET %s",
        (tenant_id, limit, offset),
    )
    items = [McpServer(**row) for row in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT count(*)::int AS total FROM mcp_servers WHERE tenant_id = %s::uuid", (tenant_id,)
    )
    total = await cur.fetchone()
    return McpServerPage(total=total["total"] if total else 0, items=items)


async def delete_server(conn: Conn, tenant_id: str, name: str) -> bool:
    """Delete the tenant's server with its credentials; False when it has none of that name."""
    cur = await conn.execute(
        "DELETE FROM mcp_servers WHERE tenant_id = %s::uuid AND name = %s RETURNING id",
        (tenant_id, name),
    )
    return await cur.fetchone() is not None


async def servers_for_agent(
    conn: Conn, ring: KeyRing, tenant_id: str, agent: str
) -> list[McpServerConfig]:
    """The servers the tenant gives `agent`, credentials opened, by name.

    Raises:
        KeyRingError: a credential was sealed with a key the ring lacks, or altered.
    """
    cur = await conn.execute(
        "SELECT id::text AS id, name, url, allowed_tools, timeout_ms, waiting_line, "
        "failure_line, token, headers FROM mcp_servers "
        "WHERE tenant_id = %s::uuid AND (agents IS NULL OR %s = ANY(agents)) ORDER BY name",
        (tenant_id, agent),
    )
    servers: list[McpServerConfig] = []
    for row in await cur.fetchall():
        token = row["token"]
        headers = row["headers"]
        servers.append(
            McpServerConfig(
                name=row["name"],
                url=row["url"],
                allowed_tools=tuple(row["allowed_tools"]),
                timeout_ms=row["timeout_ms"],
                waiting_line=row["waiting_line"],
                failure_line=row["failure_line"],
                token=open_secret(ring, token, _context("token", tenant_id, row["id"]))
                if token
                else None,
                headers=json.loads(
                    open_secret(ring, headers, _context("headers", tenant_id, row["id"]))
                )
                if headers
                else {},
            )
        )
    return servers
