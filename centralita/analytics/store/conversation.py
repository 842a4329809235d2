"""A stored call's metrics, and which stored call an id or a call key names.

Averages are SQL `avg`, over the turns where that part was measured (NULLs are left
out, never counted as zero). Interruptions and tool calls are counted from the call's
events, by the types of `centralita/kernel/call_events.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from centralita.campaigns.store.history import parse_uuid
from centralita.kernel.call_events import CallEventType
from centralita.kernel.db import Conn

_METRICS = """
SELECT c.id::text AS call_id, c.metadata->>'idempotency_key' AS call_key, a.attempt_key,
       a.campaign_id::text AS campaign_id, c.direction, c.status, c.started_at,
       c.answered_at, c.ended_at, c.duration_s, c.outcome, c.disconnection_reason,
       c.cost::float8 AS cost,
       t.turns, t.avg_endpointing_ms, t.avg_stt_ms, t.avg_brain_ms,
       t.avg_tts_first_audio_ms, t.avg_voice_to_voice_ms, t.avg_sentiment,
       t.interrupted_turns, e.interruptions, e.tool_calls, e.tool_failures
FROM calls c
LEFT JOIN call_attempts a ON a.id = c.attempt_id
CROSS JOIN LATERAL (
    SELECT count(*) AS turns,
           avg(endpointing_ms) AS avg_endpointing_ms, avg(stt_ms) AS avg_stt_ms,
           avg(brain_ms) AS avg_brain_ms, avg(tts_first_audio_ms) AS avg_tts_first_audio_ms,
           avg(voice_to_voice_ms) AS avg_voice_to_voice_ms,
           avg(sentiment)::float8 AS avg_sentiment,
           count(*) FILTER (WHERE interrupted) AS interrupted_turns
    FROM call_turns WHERE call_id = c.id
) t
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE type = %(interruption)s) AS interruptions,
           count(*) FILTER (WHERE type = %(tool_call)s) AS tool_calls,
           count(*) FILTER (WHERE type = %(tool_call)s AND payload->'success' = 'false'::jsonb)
               AS tool_failures
    FROM call_events WHERE call_id = c.id
) e
WHERE c.tenant_id = %(tenant)s AND c.deleted_at IS NULL AND c.id = ANY(%(ids)s::uuid[])
"""


async def metrics_rows(
    conn: Conn, tenant_id: str, call_ids: Sequence[uuid.UUID]
) -> list[dict[str, Any]]:
    """A row of metrics for each of these calls that is stored and not deleted (any order)."""
    params = {
        "interruption": CallEventType.INTERRUPTION.value,
        "tool_call": CallEventType.TOOL_CALL.value,
        "tenant": tenant_id,
        "ids": list(call_ids),
    }
    cur = await conn.execute(_METRICS, params)
    return await cur.fetchall()


async def find_call_id(conn: Conn, tenant_id: str, ref: str) -> uuid.UUID | None:
    """The stored call `ref` names (its id, or its call key), or None.

    A call key may itself look like a UUID, so a UUID that is no call's id is also
    tried as a key.
    """
    as_id = parse_uuid(ref)
    if as_id is not None:
        cur = await conn.execute(
            "SELECT id FROM calls WHERE id = %s AND tenant_id = %s AND deleted_at IS NULL",
            (as_id, tenant_id),
        )
        row = await cur.fetchone()
        if row is not None:
            return uuid.UUID(str(row["id"]))
    # calls_idempotency_key indexes this expression (migration 0006).
    cur = await conn.execute(
        "SELECT id FROM calls WHERE metadata->>'idempotency_key' = %s AND tenant_id = %s "
        "AND deleted_at IS NULL ORDER BY started_at DESC LIMIT 1",
        (ref, tenant_id),
    )
    row = await cur.fetchone()
    return None if row is None else uuid.UUID(str(row["id"]))
