"""A fresh embedded Postgres with the project's migrations, for one benchmark run."""

from __future__ import annotations

import os
import platform
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from centralita.kernel.db import Pool, open_pool
from centralita.kernel.migrate import migrate
from workers.embedded_postgres import EmbeddedPostgres


@asynccontextmanager
async def fresh_database(max_size: int = 2) -> AsyncIterator[Pool]:
    """A pool on a new, migrated Postgres in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="centralita-bench-") as home:
        postgres = EmbeddedPostgres(Path(home) / "pg")
        url = postgres.start()
        try:
            migrate(url)
            pool = await open_pool(url, max_size=max_size)
            try:
                await pool.wait(timeout=30)
                yield pool
            finally:
                await pool.close()
        finally:
            postgres.stop()


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
