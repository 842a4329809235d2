"""`media_workers` and `dropped_calls` (migration 0013): membership, placement, drops.

Placement picks, in one statement, the live, non-draining worker with the most free
room (ties: the least loaded, then at random) and counts the pick against it at once,
so picks made between two heartbeats spread out instead of piling onto one worker. A
heartbeat replaces the count with the calls the worker holds plus the picks made since
the previous beat (they may not have reached it yet); the beat after forgets those, so
a pick is counted twice for at most one beat, never lost.
"""

from __future__ import annotations

from datetime import timedelta

from centralita.kernel.db import Conn
from centralita.telephony.media_workers import (
    STALE_AFTER,
    DroppedCall,
    MediaCapacity,
    MediaWorker,
    MediaWorkerRow,
    Placement,
)

_LIVE = "heartbeat_at > now() - %(stale)s"


async def register(conn: Conn, worker: MediaWorker) -> None:
    """Announce a worker (again): its row is replaced, its heartbeat is now."""
    await conn.execute(
        "INSERT INTO media_workers (worker_id, task_queue, address, max_calls, "
        "active_calls, languages, voices, draining) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (worker_id) DO UPDATE SET task_queue = EXCLUDED.task_queue, "
        "address = EXCLUDED.address, max_calls = EXCLUDED.max_calls, "
        "active_calls = EXCLUDED.active_calls, languages = EXCLUDED.languages, "
        "voices = EXCLUDED.voices, draining = EXCLUDED.draining, heartbeat_at = now()",
        (
            worker.worker_id,
            worker.task_queue,
            worker.address,
            worker.max_calls,
            worker.active_calls,
            worker.languages,
            worker.voices,
            worker.draining,
        ),
    )


async def heartbeat(conn: Conn, worker_id: str, *, active_calls: int, draining: bool) -> bool:
    """Say the worker is alive with this load (plus the picks since the last beat, which
    may not have reached it yet); False when its row is gone (re-register)."""
    cur = await conn.execute(
        "UPDATE media_workers SET active_calls = %s + picked_since_beat, "
        "picked_since_beat = 0, draining = %s, heartbeat_at = now() WHERE worker_id = %s",
        (active_calls, draining, worker_id),
    )
    return cur.rowcount == 1


async def deregister(conn: Conn, worker_id: str) -> None:
    """A worker that stopped cleanly leaves at once (no wait for its heartbeat to age)."""
    await conn.execute("DELETE FROM media_workers WHERE worker_id = %s", (worker_id,))


async def place(
    conn: Conn, *, avoid: str | None = None, stale_after: timedelta = STALE_AFTER
) -> Placement | None:
    """Choose a live worker with room for one more call and count the call against it.

    `avoid` is skipped while another worker has room (a worker that just failed the
    call); None when no live worker has room.
    """
    cur = await conn.execute(
        "WITH chosen AS ("
        " SELECT worker_id FROM media_workers"
        f" WHERE {_LIVE} AND NOT draining AND active_calls < max_calls"
        " ORDER BY (worker_id = %(avoid)s), max_calls - active_calls DESC, active_calls,"
        " random() LIMIT 1 FOR UPDATE SKIP LOCKED) "
        "UPDATE media_workers w SET active_calls = w.active_calls + 1, "
        "picked_since_beat = w.picked_since_beat + 1 FROM chosen "
        "WHERE w.worker_id = chosen.worker_id RETURNING w.worker_id, w.task_queue",
        {"stale": stale_after, "avoid": avoid or ""},
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return Placement(worker_id=row["worker_id"], task_queue=row["task_queue"])


async def capacity(conn: Conn, *, stale_after: timedelta = STALE_AFTER) -> MediaCapacity:
    """Live workers, how many drain, and their calls against their room."""
    cur = await conn.execute(
        "SELECT count(*) AS workers, count(*) FILTER (WHERE draining) AS draining, "
        "coalesce(sum(max_calls) FILTER (WHERE NOT draining), 0) AS max_calls, "
        "coalesce(sum(active_calls) FILTER (WHERE NOT draining), 0) AS active_calls "
        f"FROM media_workers WHERE {_LIVE}",
        {"stale": stale_after},
    )
    row = await cur.fetchone()
    assert row is not None  # an aggregate always answers one row
    return MediaCapacity.model_validate(row)


async def list_workers(conn: Conn, *, stale_after: timedelta = STALE_AFTER) -> list[MediaWorkerRow]:
    """Every registered worker, live or not, oldest first."""
    cur = await conn.execute(
        "SELECT worker_id, task_queue, address, max_calls, active_calls, languages, voices, "
        f"draining, started_at, heartbeat_at, {_LIVE} AS alive "
        "FROM media_workers ORDER BY started_at, worker_id",
        {"stale": stale_after},
    )
    return [MediaWorkerRow.model_validate(row) for row in await cur.fetchall()]


async def record_dropped(conn: Conn, dropped: DroppedCall) -> bool:
    """Keep what was said before the call dropped, and clear its live feed for the retry.

    The live events of the lost try are copied (final transcript lines) and removed, so
    the same key's next ring starts its feed from event 0 instead of colliding with the
    lost one's. Idempotent by (key, drop number): False when recorded already.
    """
    cur = await conn.execute(
        "INSERT INTO dropped_calls (call_key, drop_number, media_worker, detected_at, "
        "transcript) SELECT %s, %s, %s, %s, coalesce(jsonb_agg(jsonb_build_object("
        "'speaker', payload->>'speaker', 'text', payload->>'text', 'at_s', at_s) "
        "ORDER BY seq), '[]'::jsonb) FROM live_call_events WHERE call_key = %s "
        "AND type = 'transcript' AND (payload->>'final')::boolean "
        "ON CONFLICT (call_key, drop_number) DO NOTHING",
        (
            dropped.call_key,
            dropped.drop_number,
            dropped.media_worker,
            dropped.detected_at,
            dropped.call_key,
        ),
    )
    if cur.rowcount != 1:
        return False
    await conn.execute("DELETE FROM live_call_events WHERE call_key = %s", (dropped.call_key,))
    return True


async def dropped_transcripts(conn: Conn, call_key: str) -> list[list[dict[str, object]]]:
    """The transcripts of a key's dropped tries, in drop order."""
    cur = await conn.execute(
        "SELECT transcript FROM dropped_calls WHERE call_key = %s ORDER BY drop_number",
        (call_key,),
    )
    return [row["transcript"] for row in await cur.fetchall()]


# A waiting call not seen again for this long (its attempt cancelled) stops counting.
WAIT_SEEN_WITHIN = timedelta(seconds=30)


async def note_waiting(conn: Conn, call_key: str, campaign_id: str, reason: str) -> None:
    """The call found no worker with room (again): counted in its campaign's view."""
    await conn.execute(
        "INSERT INTO media_waits (call_key, campaign_id, reason) VALUES (%s, %s, %s) "
        "ON CONFLICT (call_key) DO UPDATE SET seen_at = now(), reason = EXCLUDED.reason",
        (call_key, campaign_id, reason),
    )


async def stop_waiting(conn: Conn, call_key: str) -> None:
    """The call was placed."""
    await conn.execute("DELETE FROM media_waits WHERE call_key = %s", (call_key,))


async def waiting_counts(conn: Conn, campaign_ids: list[str]) -> dict[str, int]:
    """For each campaign, its calls waiting for a media worker with room now."""
    counts = dict.fromkeys(campaign_ids, 0)
    cur = await conn.execute(
        "SELECT campaign_id, count(*) AS n FROM media_waits "
        "WHERE campaign_id = ANY(%s) AND seen_at > now() - %s GROUP BY campaign_id",
        (campaign_ids, WAIT_SEEN_WITHIN),
    )
    for row in await cur.fetchall():
        counts[row["campaign_id"]] = row["n"]
    return counts
