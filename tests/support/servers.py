"""Real servers in tests: settings that point at them, free ports, Temporal task queues
and the orchestrator worker, API keys and in-process API clients, apps served on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psycopg
import uvicorn
from fastapi import FastAPI
from psycopg.rows import dict_row
from temporalio.client import Client
from temporalio.worker import Worker

from api.app import create_app
from centralita.kernel.calls import (
    Dialer,
)
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.settings import Settings
from centralita.tenants.store.keys import create_key
from realtime.carrier.simulated import Persona, SimulatedCarrier
from workers.orchestrator import build_worker

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def settings_for(database_url: str, temporal_address: str, **overrides: object) -> Settings:
    """Settings that point at the test servers (never at the embedded defaults).

    Campaigns started through them dial through the orchestrator's own dialer (the
    in-process worker a test runs), not a registered media worker, unless the test asks
    for `media_placement=True` (tests/e2e/test_media_placement.py runs real ones).
    """
    values: dict[str, object] = {"media_placement": False, **overrides}
    return Settings(
        database_url=database_url,
        temporal_address=temporal_address,
        _env_file=None,
        **values,  # type: ignore[arg-type]
    )


def task_queue() -> str:
    """A fresh task queue, so no test's worker picks up another test's tasks."""
    return f"tq-{uuid.uuid4().hex[:10]}"


def instant_carrier(personas: list[Persona]) -> SimulatedCarrier:
    """A simulated carrier whose calls take no time."""
    return SimulatedCarrier(personas, time_scale=0.0)


def orchestrator_worker(client: Client, queue: str, pool: Pool, carrier: Dialer) -> Worker:
    """The production orchestrator worker, on a test queue."""
    return build_worker(client, queue, pool, carrier)


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


# The dial log holds every tenant's numbers: only the admin key reads it.
ADMIN_KEY = "media-admin-key-0123456789abcdef"


ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@asynccontextmanager
async def serving(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """Serve `app` under uvicorn on `port` (a free local one by default); its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    serve = asyncio.create_task(server.serve())
    while not server.started:
        if serve.done():
            serve.result()  # a failed start raises here instead of spinning
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serve


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    """Return once `check` holds; fail after 5 s rather than hang."""
    async with asyncio.timeout(5):
        while True:
            if await check():
                return
            await asyncio.sleep(0.01)
