"""Live call events: batched into Postgres by the media worker, streamed as SSE by the API.

The API runs on a real uvicorn server on loopback (the SSE stream is read as it comes,
which an in-process ASGI transport cannot do).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest

from api.app import create_app
from centralita.kernel.call_events import CallEventType
from centralita.kernel.db import Pool
from realtime.session.record import CallRecord
from realtime.store.live_events import CHANNEL, LiveEvents
from tests.support.fakes.loopback import LoopbackServer
from tests.support.servers import api_key_for, bearer, settings_for

pytestmark = pytest.mark.integration


class ApiServer(LoopbackServer):
    """The real API app on a loopback port."""

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self.app = create_app(settings_for(database_url, "127.0.0.1:1"))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        ApiServer(database_url) as server,
        httpx.AsyncClient(
            base_url=server.base_url,
            timeout=10,
            headers=bearer(await api_key_for(database_url)),
        ) as client,
    ):
        yield client


async def read_events(
    client: httpx.AsyncClient, key: str, *, last_id: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """SSE events of `key` until the stream ends (or `limit` were read)."""
    headers = {"Last-Event-ID": last_id} if last_id else {}
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    async with client.stream("GET", f"/calls/{key}/events", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                current["id"] = line[4:]
            elif line.startswith("event: "):
                current["event"] = line[7:]
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif line == "" and current:
                events.append(current)
                current = {}
                if limit is not None and len(events) >= limit:
                    break
    return events


async def test_events_are_batched_and_announced_once_per_flush(
    pool: Pool, database_url: str
) -> None:
    listener = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    await listener.execute(f"LISTEN {CHANNEL}")
    live = LiveEvents(pool, flush_s=0.1)
    record = CallRecord(call_id="busy-call", language="es")
    record.listeners.append(lambda e: live.publish("busy-call", e))
    record.event(CallEventType.CALL_STARTED, language="es")
    for i in range(48):
        record.event(CallEventType.TRANSCRIPT, speaker="user", text=f"palabra {i}", final=False)
    record.event(CallEventType.CALL_ENDED, ended_by="agent")
    await asyncio.sleep(0.3)
    await live.close()
    notices = [n async for n in listener.notifies(timeout=0.5)]
    await listener.close()

    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT seq, type FROM live_call_events WHERE call_key = 'busy-call' ORDER BY id"
        )
        rows = await cur.fetchall()
    assert [r["seq"] for r in rows] == list(range(50))
    assert rows[-1]["type"] == "call_ended"
    # One write and one NOTIFY per flush, not per event.
    assert 1 <= len([n for n in notices if n.payload == "busy-call"]) <= 3


async def test_a_client_resuming_with_last_event_id_loses_nothing(
    pool: Pool, api: httpx.AsyncClient
) -> None:
    live = LiveEvents(pool, flush_s=0.05)
    record = CallRecord(call_id="resume-call", language="es")
    record.listeners.append(lambda e: live.publish("resume-call", e))
    record.event(CallEventType.CALL_STARTED, language="es")
    record.event(
        CallEventType.TRANSCRIPT, speaker="agent", text="Hola, ¿hablo con María?", final=True
    )
    record.event(CallEventType.TRANSCRIPT, speaker="user", text="Sí, con ella.", final=True)
    await live.flush()

    listed = (await api.get("/calls", params={"live": "true"})).json()
    assert "resume-call" in [c["call_key"] for c in listed]

    first = await read_events(api, "resume-call", limit=2)  # then the client drops
    assert [e["event"] for e in first] == ["call_started", "transcript"]

    # While the client is away the call goes on, and it ends while the client is back.
    record.event(CallEventType.SENTIMENT, score=0.2, label="positive")
    await live.flush()

    async def more_later() -> None:
        await asyncio.sleep(0.3)
        record.event(
            CallEventType.TOOL_CALL,
            name="register_promise",
            arguments={"amount": 200000},
            result={},
            success=False,  # a tool that failed: no webhook event rides this batch
            duration_ms=0.5,
        )
        record.event(CallEventType.CALL_ENDED, ended_by="agent")
        await live.flush()

    later = asyncio.create_task(more_later())
    rest = await read_events(api, "resume-call", last_id=first[-1]["id"])
    await later
    await live.close()

    seqs = [e["data"]["seq"] for e in first + rest]
    assert seqs == list(range(6))  # every event once, in order
    assert [e["event"] for e in rest] == ["transcript", "sentiment", "tool_call", "call_ended"]
    assert rest[0]["data"]["payload"]["text"] == "Sí, con ella."
    ids = [int(e["id"]) for e in first + rest]
    assert ids == sorted(ids)

    listed = (await api.get("/calls", params={"live": "true"})).json()
    assert "resume-call" not in [c["call_key"] for c in listed]


async def test_an_unknown_last_event_id_starts_from_the_beginning(
    pool: Pool, api: httpx.AsyncClient
) -> None:
    live = LiveEvents(pool)
    record = CallRecord(call_id="short-call", language="en")
    record.listeners.append(lambda e: live.publish("short-call", e))
    record.event(CallEventType.CALL_STARTED, language="en")
    record.event(CallEventType.CALL_ENDED, ended_by="remote_hangup")
    await live.close()
    events = await read_events(api, "short-call", last_id="not-a-number")
    assert [e["event"] for e in events] == ["call_started", "call_ended"]


async def _listeners(pool: Pool) -> list[int]:
    """Backends LISTENing now (their pids)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE query ILIKE %s AND pid <> pg_backend_pid()",
            (f"LISTEN {CHANNEL}%",),
        )
        return [int(row["pid"]) for row in await cur.fetchall()]


async def test_many_viewers_share_one_listening_connection(
    pool: Pool, api: httpx.AsyncClient
) -> None:
    keys = [f"watched-{i}" for i in range(4)]
    live = LiveEvents(pool, flush_s=0.05)
    records = {}
    for key in keys:
        record = CallRecord(call_id=key, language="es")
        record.listeners.append(functools.partial(live.publish, key))
        record.event(CallEventType.CALL_STARTED, language="es")
        records[key] = record
    await live.flush()
    before = await _listeners(pool)
    # Twenty viewers, five per call, all waiting for the calls to go on.
    viewers = [asyncio.create_task(read_events(api, key)) for key in keys for _ in range(5)]
    await asyncio.sleep(1.0)
    during = await _listeners(pool)
    assert len(during) - len(before) == 1, (before, during)
    for key, record in records.items():
        record.event(
            CallEventType.TRANSCRIPT, speaker="user", text=f"Hola desde {key}.", final=True
        )
        record.event(CallEventType.CALL_ENDED, ended_by="agent")
    await live.close()
    seen = await asyncio.wait_for(asyncio.gather(*viewers), 20)
    for index, events in enumerate(seen):
        key = keys[index // 5]
        assert [e["event"] for e in events] == ["call_started", "transcript", "call_ended"]
        assert events[1]["data"]["payload"]["text"] == f"Hola desde {key}."


async def test_a_stream_survives_its_listening_connection_being_killed(
    pool: Pool, api: httpx.AsyncClient
) -> None:
    live = LiveEvents(pool, flush_s=0.05)
    record = CallRecord(call_id="reconnect-call", language="es")
    record.listeners.append(lambda e: live.publish("reconnect-call", e))
    record.event(CallEventType.CALL_STARTED, language="es")
    await live.flush()
    before = set(await _listeners(pool))
    viewer = asyncio.create_task(read_events(api, "reconnect-call"))
    await asyncio.sleep(1.0)
    [hub_pid] = set(await _listeners(pool)) - before
    async with pool.connection() as conn:
        await conn.execute("SELECT pg_terminate_backend(%s)", (hub_pid,))
    # Written while the hub is away: read when it is back, not lost.
    record.event(CallEventType.TRANSCRIPT, speaker="user", text="¿Aló?", final=True)
    record.event(CallEventType.CALL_ENDED, ended_by="remote_hangup")
    await live.close()
    events = await asyncio.wait_for(viewer, 20)
    assert [e["event"] for e in events] == ["call_started", "transcript", "call_ended"]


async def test_what_was_said_is_written_at_once_not_at_the_next_tick(pool: Pool) -> None:
    """A worker killed between two ticks loses no final line (issue 20): final
    transcripts and completed turns wake the writer; interim ones wait for the tick."""
    live = LiveEvents(pool, flush_s=30.0)  # a tick that never comes during the test
    record = CallRecord(call_id="said-call", language="es")
    record.listeners.append(lambda e: live.publish("said-call", e))
    record.event(CallEventType.TRANSCRIPT, speaker="user", text="puedo pag", final=False)

    async def stored() -> list[tuple[str, bool]]:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT type, payload FROM live_call_events WHERE call_key = 'said-call' "
                "ORDER BY seq"
            )
            return [(r["type"], r["payload"].get("final", False)) for r in await cur.fetchall()]

    await asyncio.sleep(0.3)
    assert await stored() == []  # an interim line waits for the batch
    record.event(
        CallEventType.TRANSCRIPT, speaker="user", text="puedo pagar el viernes", final=True
    )
    for _ in range(50):
        if await stored():
            break
        await asyncio.sleep(0.02)
    # Written within a write's time, the interim line before it riding along.
    assert await stored() == [("transcript", False), ("transcript", True)]
    await live.close()
