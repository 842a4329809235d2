"""The log of tenant tool calls in Postgres (`tool_invocations`): one row per call of an
HTTP or MCP tool, its arguments already masked (`centralita.actions.masking`)."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from centralita.actions.models import Invocation, ToolInvocation, ToolInvocationPage
from centralita.kernel.db import Conn

_COLUMNS = (
    "id, call_key, agent, tool, kind, arguments, result, latency_ms, success, error, created_at"
)


async def record_invocation(conn: Conn, tenant_id: str, invocation: Invocation) -> None:
    """Log one tool call of the tenant's."""
    await conn.execute(
        "INSERT INTO tool_invocations (tenant_id, call_key, agent, tool, kind, arguments, "
        "result, latency_ms, success, error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            tenant_id,
            invocation.call_key,
            invocation.agent,
            invocation.tool,
            invocation.kind,
            Jsonb(invocation.arguments),
            Jsonb(invocation.result),
            max(invocation.latency_ms, 0.0),
            invocation.success,
            invocation.error,
        ),
    )


async def list_invocations(
    conn: Conn,
    tenant_id: str,
    *,
    call_key: str | None = None,
    tool: str | None = None,
    limit: int,
    offset: int,
) -> ToolInvocationPage:
    """The tenant's tool calls of one call (in order) or of one tool (newest first)."""
    if call_key is not None:
        where, value, order = "call_key = %s", call_key, "id"
    else:
        where, value, order = "tool = %s", tool or "", "created_at DESC, id DESC"
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM tool_invocations WHERE tenant_id = %s::uuid AND {where} "
        f"ORDER BY {order} LIMIT %s OFFSET %s",
        (tenant_id, value, limit, offset),
    )
    items = [ToolInvocation(**row) for row in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT count(*)::int AS total FROM tool_invocations "
        f"WHERE tenant_id = %s::uuid AND {where}",
        (tenant_id, value),
    )
    total = await cur.fetchone()
    return ToolInvocationPage(total=total["total"] if total else 0, items=items)
