"""A tenant's HTTP tools in Postgres (`http_tools`).

Reads for the API never select the secret; `tools_for_agent` (for a call) opens it. The
secret is sealed with the key ring, bound to its table, column, tenant and row.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from centralita.actions.models import HttpTool, HttpToolConfig, HttpToolCreate, HttpToolPage
from centralita.kernel.db import Conn
from centralita.kernel.key_ring import KeyRing
from centralita.kernel.stored_secrets import open_secret, seal_secret, secret_context


class ToolNameTakenError(ValueError):
    """The tenant has a tool of that name already."""


_COLUMNS = (
    "id::text AS id, name, description, parameters, url, method, timeout_ms, "
    "waiting_line, failure_line, agents, created_at, updated_at"
)


def _context(tenant_id: str, tool_id: str) -> str:
    return secret_context("http_tools.secret", tenant_id, tool_id)


async def create_tool(
    conn: Conn, ring: KeyRing, tenant_id: str, tool: HttpToolCreate, secret: str
) -> HttpTool:
    """Store a new tool of the tenant, its secret sealed.

    Raises:
        ToolNameTakenError: the tenant has a tool of that name.
    """
    tool_id = str(uuid.uuid4())  # chosen here: the sealed secret is bound to it
    try:
        async with conn.transaction():  # a savepoint: a taken name must not abort a caller's
            cur = await conn.execute(
                "INSERT INTO http_tools (id, tenant_id, name, description, parameters, url, "
                "method, timeout_ms, waiting_line, failure_line, agents, secret) "
                f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
                (
                    tool_id,
                    tenant_id,
                    *_values(tool),
                    seal_secret(ring, secret, _context(tenant_id, tool_id)),
                ),
            )
            row = await cur.fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise ToolNameTakenError(f"a tool named {tool.name!r} exists already") from exc
    assert row is not None
    return HttpTool(**row)


async def replace_tool(
    conn: Conn, ring: KeyRing, tenant_id: str, name: str, tool: HttpToolCreate
) -> HttpTool | None:
    """Replace the tenant's tool `name` with `tool` (its secret kept unless `tool` gives
    one); None when it has none of that name.

    Raises:
        ToolNameTakenError: `tool` renames it to a name another of its tools has.
    """
    current = await conn.execute(
        "SELECT id::text AS id FROM http_tools WHERE tenant_id = %s::uuid AND name = %s",
        (tenant_id, name),
    )
    found = await current.fetchone()
    if found is None:
        return None
    secret = (
        seal_secret(ring, tool.secret, _context(tenant_id, found["id"])) if tool.secret else None
    )
    try:
        async with conn.transaction():
            cur = await conn.execute(
                "UPDATE http_tools SET name = %s, description = %s, parameters = %s, url = %s, "
                "method = %s, timeout_ms = %s, waiting_line = %s, failure_line = %s, "
                "agents = %s, secret = COALESCE(%s, secret), updated_at = now() "
                f"WHERE id = %s::uuid AND tenant_id = %s::uuid RETURNING {_COLUMNS}",
                (*_values(tool), secret, found["id"], tenant_id),
            )
            row = await cur.fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise ToolNameTakenError(f"a tool named {tool.name!r} exists already") from exc
    return HttpTool(**row) if row is not None else None


def _values(tool: HttpToolCreate) -> tuple[Any, ...]:
    return (
        tool.name,
        tool.description,
        Jsonb(tool.parameters),
        tool.url,
        tool.method,
        tool.timeout_ms,
        tool.waiting_line,
        tool.failure_line,
        tool.agents,
    )


async def get_tool(conn: Conn, tenant_id: str, name: str) -> HttpTool | None:
    """The tenant's tool of that name; None when it has none."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM http_tools WHERE tenant_id = %s::uuid AND name = %s",
        (tenant_id, name),
    )
    row = await cur.fetchone()
    return HttpTool(**row) if row is not None else None


async def list_tools(conn: Conn, tenant_id: str, *, limit: int, offset: int) -> HttpToolPage:
    """The tenant's tools, oldest first (secrets never listed)."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM http_tools WHERE tenant_id = %s::uuid "
        "ORDER BY created_at, id LIMIT %s OFFSET %s",
        (tenant_id, limit, offset),
    )
    items = [HttpTool(**row) for row in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT count(*)::int AS total FROM http_tools WHERE tenant_id = %s::uuid", (tenant_id,)
    )
    total = await cur.fetchone()
    return HttpToolPage(total=total["total"] if total else 0, items=items)


async def delete_tool(conn: Conn, tenant_id: str, name: str) -> bool:
    """Delete the tenant's tool; False when it has none of that name."""
    cur = await conn.execute(
        "DELETE FROM http_tools WHERE tenant_id = %s::uuid AND name = %s RETURNING id",
        (tenant_id, name),
    )
    return await cur.fetchone() is not None


async def tools_for_agent(
    conn: Conn, ring: KeyRing, tenant_id: str, agent: str
) -> list[HttpToolConfig]:
    """The tools the tenant gives `agent` (those naming it, and those for all agents),
    secrets opened, by name.

    Raises:
        KeyRingError: a secret was sealed with a key the ring lacks, or altered.
    """
    cur = await conn.execute(
        "SELECT id::text AS id, name, description, parameters, url, timeout_ms, "
        "waiting_line, failure_line, secret FROM http_tools "
        "WHERE tenant_id = %s::uuid AND (agents IS NULL OR %s = ANY(agents)) ORDER BY name",
        (tenant_id, agent),
    )
    return [
        HttpToolConfig(
            name=row["name"],
            description=row["description"],
            parameters=row["parameters"],
            url=row["url"],
            timeout_ms=row["timeout_ms"],
            waiting_line=row["waiting_line"],
            failure_line=row["failure_line"],
            secret=open_secret(ring, row["secret"], _context(tenant_id, row["id"])),
        )
        for row in await cur.fetchall()
    ]
