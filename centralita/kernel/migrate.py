"""Apply the numbered SQL files in `migrations/`, once each, safely from many processes.

Every process that starts (API, workers, the dev stack) may call `migrate()`; a
Postgres advisory lock makes concurrent runs take turns, and the second finds nothing
left to do. An applied file whose text later changes is refused: history is not edited.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

log = logging.getLogger(__name__)

# Arbitrary, fixed: the key of the advisory lock that serialises migration runs.
MIGRATION_LOCK_KEY = 7_233_008_000
_FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """A migration file is malformed, was changed after being applied, or failed."""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file's text, recorded when applied."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    """The migrations shipped in the `migrations` package, in version order.

    Raises:
        MigrationError: a `.sql` file is misnamed or two share a version.
    """
    found: dict[int, Migration] = {}
    for entry in resources.files("migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_PATTERN.match(entry.name)
        if match is None:
            raise MigrationError(f"migration file {entry.name!r} is not named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations share version {version:04d}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def migrate(database_url: str, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply pending migrations and record them in `schema_migrations`.

    Args:
        database_url: the Postgres to migrate.
        migrations: what to apply; defaults to the shipped files.

    Returns:
        The migrations this call applied (empty when the database was up to date).

    Raises:
        MigrationError: a recorded migration changed, or one failed (its transaction is
            rolled back, and the ones before it stay applied).
    """
    pending_source = available_migrations() if migrations is None else migrations
    applied_now: list[Migration] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version integer PRIMARY KEY,
                       name text NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            recorded = {
                row[0]: row[1]
                for row in conn.execute("SELECT version, checksum FROM schema_migrations")
            }
            for migration in pending_source:
                if migration.version in recorded:
                    _check_unchanged(migration, recorded[migration.version])
                    continue
                _apply(conn, migration)
                applied_now.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied_now


def _check_unchanged(migration: Migration, recorded_checksum: str) -> None:
    if migration.checksum != recorded_checksum:
        raise MigrationError(
            f"migration {migration.version:04d}_{migration.name} was changed after it was "
            "applied; add a new numbered file instead of editing an applied one"
        )


def _apply(conn: psycopg.Connection[tuple[object, ...]], migration: Migration) -> None:
    label = f"{migration.version:04d}_{migration.name}"
    log.info("applying migration %s", label)
    try:
        with conn.transaction():
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
    except psycopg.Error as exc:
        raise MigrationError(f"migration {label} failed: {exc}") from exc
