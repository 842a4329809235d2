"""The latest conversations with their metrics, and aggregates over exactly those.

`GET /metrics/summary?limit=N` answers the last N stored calls (newest first) and
figures over the same N; `cursor` pages further back, and each page's aggregates cover
that page's calls. Latency and sentiment aggregates weigh every measured turn equally
(a long call counts for more turns than a short one), as the campaign latency does.
"""

from __future__ import annotations

import uuid
from collections import Counter

from pydantic import BaseModel, Field

from centralita.analytics.conversation import ConversationMetrics, metrics_of
from centralita.analytics.cursor import Cursor
from centralita.analytics.store import summary as store
from centralita.analytics.store.snapshot import snapshot
from centralita.kernel.db import Conn, Pool


class SummaryAggregates(BaseModel):
    """Figures over the calls of the page (null where nothing was measured)."""

    calls: int
    turns: int
    avg_endpointing_ms: float | None
    avg_stt_ms: float | None
    avg_brain_ms: float | None
    avg_tts_first_audio_ms: float | None
    avg_voice_to_voice_ms: float | None
    avg_sentiment: float | None
    interruptions: int
    interrupted_turns: int
    tool_calls: int
    tool_failures: int
    avg_duration_s: float | None = Field(description="Over calls with a duration.")
    total_duration_s: float
    total_cost: float
    outcomes: dict[str, int] = Field(description="Calls by outcome ('unknown' when none).")


class MetricsSummary(BaseModel):
    """The page of calls, their aggregates, and the cursor of the next (older) page."""

    calls: list[ConversationMetrics]
    aggregates: SummaryAggregates
    next_cursor: str | None = Field(description="Pass as `cursor` for older calls; null: no more.")


async def metrics_summary(
    pool: Pool, tenant_id: str, *, limit: int, before: Cursor | None = None
) -> MetricsSummary:
    """The tenant's `limit` latest calls (older than `before`, when given) and aggregates."""
    after_at = before.started_at if before else None
    after_id = before.id if before else None
    # One snapshot: the list, its metrics and the aggregates agree.
    async with snapshot(pool) as conn:
        page = await store.latest_calls(
            conn, tenant_id, limit=limit, before_at=after_at, before_id=after_id
        )
        ids = [uuid.UUID(str(r["id"])) for r in page]
        calls = await metrics_of(conn, tenant_id, ids)
        aggregates = await _aggregates(conn, ids, calls)
    more = len(page) == limit
    next_cursor = Cursor(page[-1]["started_at"], ids[-1]).encode() if more and page else None
    return MetricsSummary(calls=calls, aggregates=aggregates, next_cursor=next_cursor)


async def _aggregates(
    conn: Conn, ids: list[uuid.UUID], calls: list[ConversationMetrics]
) -> SummaryAggregates:
    turns = await store.turn_figures(conn, ids)
    durations = [c.duration_s for c in calls if c.duration_s is not None]
    return SummaryAggregates(
        calls=len(calls),
        turns=turns["turns"],
        avg_endpointing_ms=turns["avg_endpointing_ms"],
        avg_stt_ms=turns["avg_stt_ms"],
        avg_brain_ms=turns["avg_brain_ms"],
        avg_tts_first_audio_ms=turns["avg_tts_first_audio_ms"],
        avg_voice_to_voice_ms=turns["avg_voice_to_voice_ms"],
        avg_sentiment=turns["avg_sentiment"],
        interruptions=sum(c.interruptions for c in calls),
        interrupted_turns=sum(c.interrupted_turns for c in calls),
        tool_calls=sum(c.tool_calls for c in calls),
        tool_failures=sum(c.tool_failures for c in calls),
        avg_duration_s=sum(durations) / len(durations) if durations else None,
        total_duration_s=sum(durations),
        total_cost=sum(c.cost for c in calls),
        outcomes=dict(Counter(c.outcome or "unknown" for c in calls)),
    )
