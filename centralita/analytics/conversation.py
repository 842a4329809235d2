"""One conversation's metrics: its turns' latencies, sentiment, interruptions, outcome.

A conversation is a stored call (the media worker stores it when it ends). It is named
by its id, or by its call key: the attempt key of an outbound call (as `GET /calls`
lists it) or an inbound call's key, both kept in `calls.metadata.idempotency_key`.

Averages are over the turns where that part was measured (SQL `avg` ignores NULLs: a
reply cut by a barge-in before its first frame has no TTS figure, not a zero one). The
queries are `store/conversation.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from centralita.analytics.store import conversation as store
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


async def metrics_of(
    conn: Conn, tenant_id: str, call_ids: Sequence[uuid.UUID]
) -> list[ConversationMetrics]:
    """The metrics of these calls, in the order given (unknown or deleted ones left out)."""
    if not call_ids:
        return []
    rows = await store.metrics_rows(conn, tenant_id, call_ids)
    found = {r["call_id"]: ConversationMetrics.model_validate(r) for r in rows}
    return [found[str(i)] for i in call_ids if str(i) in found]


async def conversation_metrics(pool: Pool, tenant_id: str, ref: str) -> ConversationMetrics | None:
    """The metrics of the call `ref` names, or None when no such call is stored."""
    async with pool.connection() as conn:
        call_id = await store.find_call_id(conn, tenant_id, ref)
        if call_id is None:
            return None
        found = await metrics_of(conn, tenant_id, [call_id])
    return found[0] if found else None
