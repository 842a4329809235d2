"""The media workers' registry in Postgres: placement spreads calls, skips the gone,
the draining and the full, and a dropped call keeps what was said (issue 20)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from psycopg.types.json import Jsonb

from centralita.kernel.db import Pool
from centralita.telephony.media_workers import DroppedCall, MediaWorker
from centralita.telephony.store import media_workers
from tests.support.servers import AppClients, api_key_for, bearer, settings_for
from tests.support.tenants import ADMIN_KEY

pytestmark = pytest.mark.integration


def worker(worker_id: str, *, max_calls: int = 2, draining: bool = False) -> MediaWorker:
    return MediaWorker(
        worker_id=worker_id,
        task_queue=f"media-{worker_id}",
        address=f"http://127.0.0.1:1/{worker_id}",
        max_calls=max_calls,
        draining=draining,
    )


@pytest.fixture
async def clean(pool: Pool) -> Pool:
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM media_workers")
    return pool


async def place_all(pool: Pool, n: int, avoid: str | None = None) -> list[str | None]:
    picks: list[str | None] = []
    for _ in range(n):
        async with pool.connection() as conn:
            placement = await media_workers.place(conn, avoid=avoid)
        picks.append(placement.worker_id if placement else None)
    return picks


async def test_placement_spreads_calls_and_waits_when_every_worker_is_full(clean: Pool) -> None:
    async with clean.connection() as conn:
        for name in ("a", "b", "c"):
            await media_workers.register(conn, worker(name))
    picks = await place_all(clean, 7)
    # Each pick counts at once, so six picks between two heartbeats fill all three
    # workers evenly instead of piling onto one; the seventh finds no room.
    assert sorted(p for p in picks[:6] if p) == ["a", "a", "b", "b", "c", "c"], picks
    assert picks[6] is None
    async with clean.connection() as conn:
        capacity = await media_workers.capacity(conn)
    assert (capacity.workers, capacity.max_calls, capacity.active_calls) == (3, 6, 6)
    assert "no media worker has room: 3 live (0 draining), 6 of 6 calls" in capacity.describe()
    # A heartbeat right after the picks may not hold them yet (the calls are on their
    # way to the worker): they still count, so nothing piles onto "b" meanwhile...
    async with clean.connection() as conn:
        assert await media_workers.heartbeat(conn, "b", active_calls=0, draining=False)
    assert await place_all(clean, 1) == [None]
    # ... and the next beat says how many calls really run: room again on "b" only.
    async with clean.connection() as conn:
        assert await media_workers.heartbeat(conn, "b", active_calls=0, draining=False)
    assert await place_all(clean, 3) == ["b", "b", None]


async def test_gone_and_draining_workers_leave_placement(clean: Pool) -> None:
    async with clean.connection() as conn:
        await media_workers.register(conn, worker("alive"))
        await media_workers.register(conn, worker("draining", draining=True))
        await media_workers.register(conn, worker("silent"))
        await conn.execute(
            "UPDATE media_workers SET heartbeat_at = now() - interval '10 seconds' "
            "WHERE worker_id = 'silent'"
        )
    assert await place_all(clean, 3) == ["alive", "alive", None]
    async with clean.connection() as conn:
        listed = {w.worker_id: w for w in await media_workers.list_workers(conn)}
        capacity = await media_workers.capacity(conn)
    assert not listed["silent"].alive
    assert listed["alive"].alive
    assert (capacity.workers, capacity.draining) == (2, 1)
    async with clean.connection() as conn:
        await media_workers.deregister(conn, "alive")
        empty = await media_workers.capacity(conn)
    assert await place_all(clean, 1) == [None]
    assert empty.describe() == "no media worker has room: 1 live (1 draining), 0 of 0 calls in use"


async def test_avoided_worker_is_chosen_only_when_no_other_has_room(clean: Pool) -> None:
    async with clean.connection() as conn:
        await media_workers.register(conn, worker("x", max_calls=5))
        await media_workers.register(conn, worker("y", max_calls=1))
    assert await place_all(clean, 2, avoid="x") == ["y", "x"]


async def test_a_heartbeat_from_an_unknown_worker_asks_it_to_register(clean: Pool) -> None:
    async with clean.connection() as conn:
        assert not await media_workers.heartbeat(conn, "nobody", active_calls=0, draining=False)


async def test_a_dropped_call_keeps_its_final_lines_and_frees_its_live_feed(pool: Pool) -> None:
    key = "campaign-x-contact-y-attempt-1"
    lines = [
        (0, "call_started", {"language": "es"}),
        (1, "transcript", {"speaker": "agent", "text": "Hola, ¿hablo con Ana?", "final": True}),
        (2, "transcript", {"speaker": "user", "text": "sí, so", "final": False}),
        (3, "transcript", {"speaker": "user", "text": "sí, soy yo", "final": True}),
    ]
    async with pool.connection() as conn:
        for seq, kind, payload in lines:
            await conn.execute(
                "INSERT INTO live_call_events (call_key, seq, type, payload, at_s) "
                "VALUES (%s, %s, %s, %s, %s)",
                (key, seq, kind, Jsonb(payload), seq * 1.5),
            )
    dropped = DroppedCall(
        call_key=key, drop_number=1, media_worker="w2", detected_at=datetime.now(UTC)
    )
    async with pool.connection() as conn:
        assert await media_workers.record_dropped(conn, dropped)
        # Again (a retried local activity): nothing twice.
        assert not await media_workers.record_dropped(
            conn, dropped.model_copy(update={"detected_at": dropped.detected_at + timedelta(1)})
        )
        transcripts = await media_workers.dropped_transcripts(conn, key)
        cur = await conn.execute(
            "SELECT count(*) AS n FROM live_call_events WHERE call_key = %s", (key,)
        )
        left = await cur.fetchone()
    assert transcripts == [
        [
            {"speaker": "agent", "text": "Hola, ¿hablo con Ana?", "at_s": 1.5},
            {"speaker": "user", "text": "sí, soy yo", "at_s": 4.5},
        ]
    ]
    # The retry's ring starts its live feed at event 0 again without colliding.
    assert left == {"n": 0}


async def test_operators_see_the_media_plane_with_the_admin_key_only(
    clean: Pool, app_clients: AppClients, database_url: str
) -> None:
    async with clean.connection() as conn:
        await media_workers.register(conn, worker("busy", max_calls=4))
        await media_workers.heartbeat(conn, "busy", active_calls=3, draining=False)
        await media_workers.register(conn, worker("leaving", draining=True))
    api = await app_clients.open(
        settings_for(database_url, "127.0.0.1:1", admin_api_key=ADMIN_KEY), tenant_id=None
    )
    refused = await api.get("/admin/media-workers", headers=bearer(await api_key_for(database_url)))
    assert refused.status_code == 403
    plane = await api.get("/admin/media-workers", headers=bearer(ADMIN_KEY))
    assert plane.status_code == 200, plane.text
    body = plane.json()
    assert body["capacity"] == {"workers": 2, "draining": 1, "max_calls": 4, "active_calls": 3}
    assert body["free_calls"] == 1
    assert [(w["worker_id"], w["alive"], w["draining"]) for w in body["workers"]] == [
        ("busy", True, False),
        ("leaving", True, True),
    ]
