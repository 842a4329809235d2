"""The Postgres connection pool every process shares, and where its URL comes from."""

from __future__ import annotations

from typing import TypeAlias

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from centralita.settings import Settings

Pool: TypeAlias = AsyncConnectionPool[AsyncConnection[DictRow]]


def database_url(settings: Settings) -> str:
    """The configured Postgres, or the embedded one (started on first use).

    Processes started by `centralita dev up` receive the embedded server's URL in
    `CENTRALITA_DATABASE_URL`, so only a stand-alone command (say `centralita migrate`
    with nothing configured) reaches the embedded branch here.
    """
    if settings.database_url:
        return settings.database_url
    # Imported here: the embedded server is a development convenience, not a dependency
    # of processes that are given a URL.
    from workers.embedded_postgres import EmbeddedPostgres

    return EmbeddedPostgres(settings.home / "pg").start()


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
