"""The actions tables' sealed values for `centralita keys rotate`
(`workers/secrets_cli.py`): which keys sealed them, and resealing in batches.

`http_tools.secret`, `mcp_servers.token` and `mcp_servers.headers`, each bound to its
table, column, tenant and row (`centralita.kernel.stored_secrets`).
"""

from __future__ import annotations

from typing import Final

from centralita.kernel.db import Conn
from centralita.kernel.key_ring import TEXT_PREFIX, KeyRing
from centralita.kernel.stored_secrets import reseal_secret, secret_context

# (table, its sealed columns): fixed names, never input.
_SEALED: Final = (("http_tools", ("secret",)), ("mcp_servers", ("token", "headers")))


async def secret_key_ids(conn: Conn) -> set[str]:
    """The ids of the keys that sealed any tool secret or MCP credential."""
    cur = await conn.execute(
        "SELECT DISTINCT split_part(s, ':', 3) AS key_id FROM ("
        "SELECT secret AS s FROM http_tools UNION ALL "
        "SELECT token FROM mcp_servers UNION ALL SELECT headers FROM mcp_servers) AS v "
        "WHERE starts_with(s, 'enc:v1:')"
    )
    return {str(r["key_id"]) for r in await cur.fetchall()}


async def reseal_secrets(
    conn: Conn, ring: KeyRing, *, after: str | None, limit: int
) -> tuple[int, str | None]:
    """Seal with the active key up to `limit` tools' and servers' values past `after` (by
    id, both tables in one order) that another key sealed, in one transaction.

    Returns:
        How many values were sealed again, and the last id seen (None: no more rows).
    """
    resealed = 0
    active = f"{TEXT_PREFIX}{ring.active_id}:"
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT * FROM ("
            "SELECT 'http_tools' AS tbl, id::text AS id, tenant_id::text AS tenant_id, "
            "secret AS a, NULL::text AS b FROM http_tools UNION ALL "
            "SELECT 'mcp_servers', id::text, tenant_id::text, token, headers FROM mcp_servers"
            ") AS v WHERE (%(after)s::text IS NULL OR id > %(after)s) AND ("
            "(a IS NOT NULL AND NOT starts_with(a, %(active)s)) OR "
            "(b IS NOT NULL AND NOT starts_with(b, %(active)s))) "
            "ORDER BY id LIMIT %(limit)s",
            {"after": after, "active": active, "limit": limit},
        )
        rows = await cur.fetchall()
        for row in rows:
            table, columns = next(t for t in _SEALED if t[0] == row["tbl"])
            for column, stored in zip(columns, (row["a"], row["b"]), strict=False):
                if stored is None:
                    continue
                context = secret_context(f"{table}.{column}", row["tenant_id"], row["id"])
                sealed = reseal_secret(ring, stored, context)
                if sealed is None:
                    continue
                await conn.execute(
                    f"UPDATE {table} SET {column} = %s WHERE id = %s::uuid",
                    (sealed, row["id"]),
                )
                resealed += 1
    return resealed, rows[-1]["id"] if rows else None
