"""The Postgres connection pool every process shares, and where its URL comes from."""

from __future__ import annotations

from typing import TypeAlias

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

Pool: TypeAlias = AsyncConnectionPool[AsyncConnection[DictRow]]
# One connection of the pool (dict rows); store functions take one so the caller decides
# the transaction.
Conn: TypeAlias = AsyncConnection[DictRow]


async def open_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> Pool:
    """Open a pool of dict-row connections without waiting for the server.

    The pool opens even while Postgres is down, so a process can start, report itself
    not ready (`/health/ready`) and recover when the database comes back.
    """
    pool: Pool = AsyncConnectionPool(
        url,
        connection_class=AsyncConnection[DictRow],
        min_size=min_size,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
        name="centralita",
    )
    await pool.open(wait=False)
    return pool


async def ping(conn: Conn) -> None:
    """One round trip to the server (raises whatever reaching it raises)."""
    await conn.execute("SELECT 1")
