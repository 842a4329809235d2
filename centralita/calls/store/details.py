"""One stored conversation for the API: the `calls` row with its turns and its events.

A call exists only when a conversation was held (the media worker writes it when the
call ends); most attempts (no answer, busy, ...) have none. `attempt_id`/`attempt_key`
link it to its attempt, and are null when that attempt is gone or for inbound calls.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from centralita.kernel.db import Conn, Pool


class CallTurnRow(BaseModel):
    """One exchange of the conversation and where its time went (milliseconds)."""

    turn_index: int
    user_text: str | None
    agent_text: str | None
    endpointing_ms: float | None
    stt_ms: float | None
    brain_ms: float | None
    tts_first_audio_ms: float | None
    voice_to_voice_ms: float | None
    sentiment: float | None
    interrupted: bool


class CallEventRow(BaseModel):
    """Something that happened during the call, in `seq` order."""

    seq: int
    type: str
    payload: dict[str, Any]
    at: datetime


class CallDetail(BaseModel):
    """A stored call with its turns (by index) and events (by seq)."""

    id: str
    attempt_id: str | None
    attempt_key: str | None
    campaign_id: str | None
    contact_id: str | None
    agent: str | None
    direction: str
    status: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    outcome: str | None
    disconnection_reason: str | None
    recording_path: str | None
    usage: dict[str, Any]
    cost: float
    turns: list[CallTurnRow]
    events: list[CallEventRow]
    # The post-call analysis (centralita.analysis.CallAnalysis as JSON), once it ran.
    analysis: dict[str, Any] | None = None
    # The post-call corrections of its transcript, in order (reversible: before/after).
    corrections: list[dict[str, Any]] = Field(default_factory=list)


# The attempt is LEFT JOINed: a call outlives its attempt (ON DELETE SET NULL).
_CALL_SELECT = (
    "SELECT c.id::text AS id, c.attempt_id::text AS attempt_id, a.attempt_key, "
    "a.campaign_id::text AS campaign_id, a.contact_id::text AS contact_id, "
    "coalesce(a.agent, c.metadata->>'agent') AS agent, c.direction, c.status, "
    "c.started_at, c.answered_at, c.ended_at, c.duration_s, c.outcome, "
    "c.disconnection_reason, c.recording_path, c.usage, c.cost::float8 AS cost "
    "FROM calls c LEFT JOIN call_attempts a ON a.id = c.attempt_id "
    "WHERE c.tenant_id = %s AND c.deleted_at IS NULL"  # soft-deleted calls are gone
)


async def call_detail(pool: Pool, tenant_id: str, call_id: uuid.UUID) -> CallDetail | None:
    """The tenant's call `call_id` with its turns and events, or None."""
    return await _detail(pool, "c.id = %s", (tenant_id, call_id))


async def call_detail_by_attempt(pool: Pool, tenant_id: str, attempt_key: str) -> CallDetail | None:
    """The call held by the attempt `attempt_key`, or None (unknown attempt, or no call)."""
    return await _detail(pool, "a.attempt_key = %s", (tenant_id, attempt_key))


async def _detail(pool: Pool, condition: str, params: tuple[Any, ...]) -> CallDetail | None:
    # One REPEATABLE READ snapshot for the three reads, like the contact history: a
    # call being stored right now shows up whole or not at all.
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cur = await conn.execute(f"{_CALL_SELECT} AND {condition}", params)
        row = await cur.fetchone()
        if row is None:
            return None
        call_id = uuid.UUID(row["id"])
        analysis, corrections = await post_call_results(conn, call_id)
        return CallDetail(
            **row,
            turns=await call_turns(conn, call_id),
            events=await call_events(conn, call_id),
            analysis=analysis,
            corrections=corrections,
        )


async def post_call_results(
    conn: Conn, call_id: uuid.UUID
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The call's post-call analysis (None before it ran) and corrections."""
    cur = await conn.execute("SELECT analysis FROM call_analyses WHERE call_id = %s", (call_id,))
    row = await cur.fetchone()
    cur = await conn.execute(
        "SELECT pass, segment_index, word_start, word_end, level, score::float8 AS score, "
        "before, after, reverted_at IS NOT NULL AS reverted FROM call_corrections "
        "WHERE call_id = %s ORDER BY pass, segment_index, word_start",
        (call_id,),
    )
    return (row["analysis"] if row else None), [dict(r) for r in await cur.fetchall()]


async def call_turns(conn: Conn, call_id: uuid.UUID) -> list[CallTurnRow]:
    """A call's turns in the order they were spoken."""
    cur = await conn.execute(
        "SELECT turn_index, user_text, agent_text, endpointing_ms, stt_ms, brain_ms, "
        "tts_first_audio_ms, voice_to_voice_ms, sentiment::float8 AS sentiment, interrupted "
        "FROM call_turns WHERE call_id = %s ORDER BY turn_index",
        (call_id,),
    )
    return [CallTurnRow.model_validate(r) for r in await cur.fetchall()]


async def call_events(conn: Conn, call_id: uuid.UUID) -> list[CallEventRow]:
    """A call's events in sequence order."""
    cur = await conn.execute(
        "SELECT seq, type, payload, created_at AS at FROM call_events "
        "WHERE call_id = %s ORDER BY seq",
        (call_id,),
    )
    return [CallEventRow.model_validate(r) for r in await cur.fetchall()]
