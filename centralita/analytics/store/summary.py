"""The tenant's latest stored calls, a page at a time, and their turns' figures together."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from centralita.kernel.db import Conn

_LATEST = (
    "SELECT id, started_at FROM calls WHERE tenant_id = %s AND deleted_at IS NULL "
    "AND (%s::timestamptz IS NULL OR (started_at, id) < (%s::timestamptz, %s::uuid)) "
    "ORDER BY started_at DESC, id DESC LIMIT %s"
)

_TURNS = (
    "SELECT count(*) AS turns, avg(endpointing_ms) AS avg_endpointing_ms, "
    "avg(stt_ms) AS avg_stt_ms, avg(brain_ms) AS avg_brain_ms, "
    "avg(tts_first_audio_ms) AS avg_tts_first_audio_ms, "
    "avg(voice_to_voice_ms) AS avg_voice_to_voice_ms, avg(sentiment)::float8 AS avg_sentiment "
    "FROM call_turns WHERE call_id = ANY(%s::uuid[])"
)


async def latest_calls(
    conn: Conn,
    tenant_id: str,
    *,
    limit: int,
    before_at: datetime | None = None,
    before_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """`id` and `started_at` of up to `limit` calls, newest first, older than the cursor's."""
    cur = await conn.execute(_LATEST, (tenant_id, before_at, before_at, before_id, limit))
    return await cur.fetchall()


async def turn_figures(conn: Conn, call_ids: list[uuid.UUID]) -> dict[str, Any]:
    """Turns of these calls counted, and each latency and the sentiment averaged."""
    cur = await conn.execute(_TURNS, (call_ids,))
    row = await cur.fetchone()
    assert row is not None  # an aggregate without GROUP BY always yields a row
    return row
