"""Which tenant tools an agent gets, by name, without opening any secret: what a flow's
`tenant:<name>` steps are checked against when the agent is stored.

The same rule as a call's tools (`tools_for_agent`, `servers_for_agent`): the tenant's
HTTP tools and MCP servers that name the agent or serve all of them; an MCP server's
tools by their agent-facing names (`mcp_<server>_<tool>`, from its allow-list).
"""

from __future__ import annotations

from centralita.actions.models import mcp_tool_name
from centralita.kernel.db import Conn


async def tool_names_for_agent(conn: Conn, tenant_id: str, agent: str) -> set[str]:
    """The names of the tenant tools `agent` may call."""
    cur = await conn.execute(
        "SELECT name FROM http_tools "
        "WHERE tenant_id = %s::uuid AND (agents IS NULL OR %s = ANY(agents))",
        (tenant_id, agent),
    )
    names = {row["name"] for row in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT name, allowed_tools FROM mcp_servers "
        "WHERE tenant_id = %s::uuid AND (agents IS NULL OR %s = ANY(agents))",
        (tenant_id, agent),
    )
    for row in await cur.fetchall():
        names.update(mcp_tool_name(row["name"], tool) for tool in row["allowed_tools"])
    return names
