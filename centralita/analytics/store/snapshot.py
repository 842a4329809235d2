"""One snapshot for the reads of one answer, so its parts describe the same calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from centralita.kernel.db import Conn, Pool


@asynccontextmanager
async def snapshot(pool: Pool) -> AsyncIterator[Conn]:
    """A connection in a read-only, repeatable-read transaction for the block."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield conn
