"""Migrations against a real Postgres: applied once, recorded, safe from two processes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest

from centralita.kernel.migrate import Migration, MigrationError, available_migrations, migrate
from tests.support.schema import PRODUCT_TABLES
from tests.support.servers import REPO_ROOT

pytestmark = pytest.mark.integration

EXPECTED_TABLES = {*PRODUCT_TABLES, "schema_migrations"}


@pytest.fixture
def fresh_database(pg_server: str) -> Iterator[Callable[[], str]]:
    """Make empty databases on demand; dropped after the test."""
    made: list[str] = []

    def make() -> str:
        name = f"mig_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return psycopg.conninfo.make_conninfo(pg_server, dbname=name)

    yield make
    with psycopg.connect(pg_server, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }


def _recorded(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return [
            (row[0], row[1])
            for row in conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        ]


def test_applies_every_migration_once_and_records_it(fresh_database: Callable[[], str]) -> None:
    url = fresh_database()
    applied = migrate(url)
    shipped = available_migrations()
    assert [m.version for m in applied] == [m.version for m in shipped]
    assert _recorded(url) == [(m.version, m.name) for m in shipped]
    assert _tables(url) >= EXPECTED_TABLES
    with psycopg.connect(url) as conn:
        vector = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        assert vector.fetchone() is not None
        # pgvector really works: nearest neighbour on the corrections' embedding column.
        conn.execute(
            "INSERT INTO corrections (tenant_id, kind, wrong, correct, embedding) VALUES "
            "('00000000-0000-0000-0000-000000000001', 'pair', 'salgo', 'saldo', %s::vector), "
            "('00000000-0000-0000-0000-000000000001', 'pair', 'loscientos', 'doscientos', "
            "%s::vector)",
            (str([1.0] + [0.0] * 383), str([0.0, 1.0] + [0.0] * 382)),
        )
        nearest = conn.execute(
            "SELECT correct FROM corrections ORDER BY embedding <=> %s::vector LIMIT 1",
            (str([0.9, 0.1] + [0.0] * 382),),
        ).fetchone()
    assert nearest == ("saldo",)


def test_second_run_applies_nothing(fresh_database: Callable[[], str]) -> None:
    url = fresh_database()
    migrate(url)
    assert migrate(url) == []
    assert len(_recorded(url)) == len(available_migrations())


def test_two_processes_at_once_apply_each_migration_exactly_once(
    fresh_database: Callable[[], str],
) -> None:
    url = fresh_database()
    env = {**os.environ, "CENTRALITA_DATABASE_URL": url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "workers.cli", "migrate"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    # Exactly one process did the work; the others waited on the lock and found none left.
    assert sum("none (up to date)" in out for out in outputs) == 2, outputs
    assert len(_recorded(url)) == len(available_migrations())


def test_a_changed_applied_migration_is_refused(fresh_database: Callable[[], str]) -> None:
    url = fresh_database()
    migrate(url, [Migration(1, "first", "CREATE TABLE one (id int);")])
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(url, [Migration(1, "first", "CREATE TABLE one (id bigint);")])


def test_a_failing_migration_rolls_back_and_keeps_earlier_ones(
    fresh_database: Callable[[], str],
) -> None:
    url = fresh_database()
    good = Migration(1, "good", "CREATE TABLE good (id int);")
    bad = Migration(2, "bad", "CREATE TABLE half (id int); SELECT * FROM no_such_table;")
    with pytest.raises(MigrationError, match="0002_bad failed"):
        migrate(url, [good, bad])
    assert _recorded(url) == [(1, "good")]
    assert "good" in _tables(url)
    assert "half" not in _tables(url)  # the failed file left nothing behind
    # Fixed, it applies on the next run.
    fixed = Migration(2, "bad", "CREATE TABLE half (id int);")
    assert [m.version for m in migrate(url, [good, fixed])] == [2]


def test_cli_reports_an_unreachable_database_without_a_traceback() -> None:
    env = {
        **os.environ,
        "CENTRALITA_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2",
    }
    done = subprocess.run(
        [sys.executable, "-m", "workers.cli", "migrate"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: ")
    assert "127.0.0.1" in done.stderr
    assert "Traceback" not in done.stderr
