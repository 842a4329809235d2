"""Operator presence on the real API served on loopback, real Postgres: an operator whose
page stopped following the queue is not left `available`.

The page's stream marks the operator seen (open, keep-alives); once it closes, an
available operator goes `offline` after `operator_away_after_s` (1 s here) unless a
page follows them again; one in wrap-up keeps their status. Being seen wakes no page
(`seen_at` does not notify); a status change does.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

from api.app import create_app
from centralita.handoff import operators_store, queue_store
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.settings import Settings
from tests.support.fakes.loopback import ServedApp
from tests.support.operators import available_operator, snapshots, status_of
from tests.support.servers import api_key_for, bearer, settings_for, until

pytestmark = pytest.mark.integration

AWAY_AFTER_S = 1.0


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url, "127.0.0.1:1", operator_away_after_s=AWAY_AFTER_S)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    key = await api_key_for(settings.database_url or "")
    async with (
        ServedApp(create_app(settings)) as server,
        httpx.AsyncClient(base_url=server.origin, timeout=10, headers=bearer(key)) as client,
    ):
        yield client


async def available(api: httpx.AsyncClient) -> str:
    return await available_operator(api, f"Ana {uuid.uuid4().hex[:6]}")


async def follow_once(api: httpx.AsyncClient, operator_id: str) -> dict[str, object]:
    """Open the operator's page stream, read the first snapshot, close it."""
    async with api.stream("GET", f"/operators/{operator_id}/events") as stream:
        first = await anext(snapshots(stream))
    operator: dict[str, object] = first["operator"]
    return operator


async def test_an_operator_whose_page_is_gone_goes_offline_after_the_grace(
    api: httpx.AsyncClient,
) -> None:
    operator_id = await available(api)
    seen = await follow_once(api, operator_id)
    closed_at = time.perf_counter()
    assert seen["status"] == "available"
    assert seen["seen_at"] is not None

    async def offline() -> bool:
        return await status_of(api, operator_id) == "offline"

    await until(offline)
    assert time.perf_counter() - closed_at >= AWAY_AFTER_S


async def test_a_reloaded_page_keeps_the_operator_available(api: httpx.AsyncClient) -> None:
    operator_id = await available(api)
    await follow_once(api, operator_id)  # the page reloads: a new stream at once
    async with api.stream("GET", f"/operators/{operator_id}/events") as stream:
        received = snapshots(stream)
        await anext(received)
        await asyncio.sleep(AWAY_AFTER_S * 3)  # the first stream's check came and went
        assert await status_of(api, operator_id) == "available"


async def test_being_seen_wakes_no_page_and_a_status_change_does(
    api: httpx.AsyncClient, database_url: str, pool: Pool
) -> None:
    """Every keep-alive writes `seen_at`: were that a NOTIFY, each operator's page would
    make every page of the tenant read the queue again."""
    operator_id = await available(api)
    listening = psycopg.AsyncConnection.connect(database_url, autocommit=True, row_factory=dict_row)
    async with await listening as conn:
        await queue_store.listen(conn)
        async with pool.connection() as db:
            await operators_store.mark_seen(db, DEFAULT_TENANT_ID, operator_id)
            assert await _notices(conn) == []
            await operators_store.set_status(db, DEFAULT_TENANT_ID, operator_id, "offline")
            assert await _notices(conn) == [DEFAULT_TENANT_ID]


async def _notices(conn: psycopg.AsyncConnection[DictRow]) -> list[str]:
    return [n.payload async for n in conn.notifies(timeout=0.5)]


async def test_an_operator_in_wrap_up_keeps_it_when_their_page_closes(
    api: httpx.AsyncClient,
) -> None:
    operator_id = await available(api)
    wrap_up = await api.put(f"/operators/{operator_id}/status", json={"status": "wrap_up"})
    assert wrap_up.status_code == 200
    await follow_once(api, operator_id)
    await asyncio.sleep(AWAY_AFTER_S * 2.5)
    assert await status_of(api, operator_id) == "wrap_up"


async def test_an_operator_never_followed_by_a_page_is_left_as_set(
    api: httpx.AsyncClient,
) -> None:
    """An integration that sets statuses through the API alone keeps them."""
    operator_id = await available(api)
    await asyncio.sleep(AWAY_AFTER_S * 1.5)
    listed = (await api.get("/operators", params={"limit": 500})).json()
    [mine] = [o for o in listed if o["id"] == operator_id]
    assert (mine["status"], mine["seen_at"]) == ("available", None)
