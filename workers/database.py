"""Which Postgres a process uses: the configured one, or the embedded development server."""

from __future__ import annotations

from centralita.kernel.settings import Settings
from workers.embedded_postgres import EmbeddedPostgres


def database_url(settings: Settings) -> str:
    """The configured Postgres, or the embedded one (started on first use).

    Processes started by `centralita dev up` receive the embedded server's URL in
    `CENTRALITA_DATABASE_URL`, so only a stand-alone command (say `centralita migrate`
    with nothing configured) reaches the embedded branch here.
    """
    if settings.database_url:
        return settings.database_url
    return EmbeddedPostgres(settings.home / "pg").start()
