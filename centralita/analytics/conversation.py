"""One conversation's metrics: its turns' latencies, sentiment, interruptions, outcome.

A conversation is a stored call (the media worker stores it when it ends). It is named
by its id, or by its call key: the attempt key of an outbound call (as `GET /calls`
lists it) or an inbound call's key, both kept in `calls.metadata.idempotency_key`.

Averages are over the turns where that part was measured (SQL `avg` ignores NULLs: a
reply cut by a barge-in before its first frame has no TTS figure, not a zero one).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from centralita.campaigns.store.history import parse_uuid
from centralita.kernel.db import Conn, Pool


class ConversationMetrics(BaseModel):
    """What one stored call measured (milliseconds for latencies)."""

    call_id: str
    call_key: str | None = Field(description="Attempt key (outbound) or inbound call key.")
    attempt_key: str | None
    campaign_id: str | None
    direction: str
    status: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    outcome: str | None
    disconnection_reason: str | None
    cost: float
    turns: int
    avg_endpointing_ms: float | None
    avg_stt_ms: float | None
    avg_brain_ms: float | None
    avg_tts_first_audio_ms: float | None
    avg_voice_to_voice_ms: float | None = Field(
        description="End of the caller's speech to the agent's first audio (the total)."
    )
    avg_sentiment: float | None = Field(description="Mean turn sentiment, -1..1.")
    interruptions: int = Field(description="Times the caller barged in on the agent.")
    interrupted_turns: int = Field(description="Turns whose reply was cut by a barge-in.")
    tool_calls: int
    tool_failures: int


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
    SELECT count(*) FILTER (WHERE type = 'interruption') AS interruptions,
           count(*) FILTER (WHERE type = 'tool_call') AS tool_calls,
           count(*) FILTER (WHERE type = 'tool_call' AND payload->'success' = 'false'::jsonb)
               AS tool_failures
    FROM call_events WHERE call_id = c.id
) e
WHERE c.tenant_id = %s AND c.deleted_at IS NULL AND c.id = ANY(%s::uuid[])
"""


async def metrics_of(
    conn: Conn, tenant_id: str, call_ids: Sequence[uuid.UUID]
) -> list[ConversationMetrics]:
    """The metrics of these calls, in the order given (unknown or deleted ones left out)."""
    if not call_ids:
        return []
    cur = await conn.execute(_METRICS, (tenant_id, list(call_ids)))
    found = {r["call_id"]: ConversationMetrics.model_validate(r) for r in await cur.fetchall()}
    return [found[str(i)] for i in call_ids if str(i) in found]


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


async def conversation_metrics(pool: Pool, tenant_id: str, ref: str) -> ConversationMetrics | None:
    """The metrics of the call `ref` names, or None when no such call is stored."""
    async with pool.connection() as conn:
        call_id = await find_call_id(conn, tenant_id, ref)
        if call_id is None:
            return None
        found = await metrics_of(conn, tenant_id, [call_id])
    return found[0] if found else None
