"""A call that ends while Postgres is down is stored once it is back (a private Postgres).

Issue 20: nothing but the media worker's memory holds a finished conversation's record,
so a store that fails on the first refused connection would lose the call's row, turns
and events. The server here is this module's own (`tests/support/own_postgres.py`):
stopping the session's shared one would break every test running beside it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from psycopg import OperationalError

from centralita.kernel.calls import CallOutcome, DialRequest, DialResult
from centralita.kernel.db import Pool, open_pool
from realtime.session.record import CallRecord
from realtime.store.calls import save_call_retrying
from tests.support.own_postgres import OwnPostgres, own_database

pytestmark = pytest.mark.integration

DOWN_S = 2.0  # as long as an immediate restart's crash recovery, and a little more


@pytest.fixture(scope="module")
def own_pg() -> Iterator[tuple[OwnPostgres, str]]:
    with own_database() as server_and_url:
        yield server_and_url


@pytest.fixture
async def warm_pool(own_pg: tuple[OwnPostgres, str]) -> AsyncIterator[Pool]:
    """A pool with open connections, as a running worker has: they die with the server."""
    pool = await open_pool(own_pg[1], min_size=2, max_size=2)
    await pool.wait(timeout=10)
    yield pool
    await pool.close()


def _ended_call() -> tuple[DialRequest, CallRecord, DialResult]:
    key = f"inbound-{uuid.uuid4()}"
    request = DialRequest(
        idempotency_key=key,
        to_number="+56229990000",
        campaign_id="",
        contact_id="",
        attempt_number=1,
        agent="cobranza-temprana",
    )
    started = datetime.now(UTC)
    result = DialResult(
        outcome=CallOutcome.COMPLETED,
        disconnection_reason="remote_hangup",
        started_at=started,
        answered_at=started,
        ended_at=started + timedelta(seconds=12),
        duration_s=12.0,
    )
    return request, CallRecord(call_id=key, language="es"), result


async def _stored(pool: Pool, key: str) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) AS n FROM calls WHERE metadata->>'idempotency_key' = %s", (key,)
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


async def test_a_call_ending_while_postgres_is_down_is_stored_when_it_is_back(
    own_pg: tuple[OwnPostgres, str], warm_pool: Pool
) -> None:
    server, _ = own_pg
    request, record, result = _ended_call()
    server.kill_immediate()
    try:
        store = asyncio.create_task(
            save_call_retrying(
                warm_pool, request, record, result, direction="inbound", from_number="+56961110000"
            )
        )
        await asyncio.sleep(DOWN_S)
        assert not store.done(), store  # still trying, not given up
    finally:
        server.start_again()

    call_id = await asyncio.wait_for(store, 30)
    assert call_id
    assert await _stored(warm_pool, request.idempotency_key) == 1


async def test_a_store_gives_up_when_postgres_stays_down(
    own_pg: tuple[OwnPostgres, str], warm_pool: Pool
) -> None:
    server, _ = own_pg
    request, record, result = _ended_call()
    server.kill_immediate()
    try:
        with pytest.raises(OperationalError):
            await save_call_retrying(warm_pool, request, record, result, patience_s=1.0)
    finally:
        server.start_again()
