"""The post-call pipeline's reads and writes, each idempotent by the call's id.

A step that runs twice (a retried activity, a worker killed after the commit) writes the
same rows again instead of adding rows: transcripts and analyses are upserts, a pass's
corrections are replaced as a set in one transaction, and events insert once by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from centralita.kernel.call_events import CallEventType
from centralita.kernel.db import Conn


@dataclass(frozen=True)
class StoredCall:
    """The facts of a stored call the pipeline needs."""

    call_id: str
    tenant_id: str
    call_key: str
    agent: str | None
    language: str
    started_at: datetime
    outcome: str | None
    recording_path: str | None
    contact_timezone: str | None


@dataclass(frozen=True)
class StoredTurn:
    """One online turn: what the caller said (as heard live) and the agent's answer."""

    index: int
    user_text: str
    agent_text: str
    stt_confidence: float | None


async def find_call(conn: Conn, call_key: str) -> StoredCall | None:
    """The call stored under `call_key` (an attempt key or an inbound call id)."""
    cur = await conn.execute(
        "SELECT c.id::text AS call_id, c.tenant_id::text AS tenant_id, c.started_at, "
        "c.outcome, c.recording_path, c.metadata, "
        # The clock the call itself ran on; before it was stored, the contact's zone.
        "coalesce(c.metadata->>'timezone', ct.timezone, ct.recipient_timezone) "
        "AS contact_timezone "
        "FROM calls c LEFT JOIN call_attempts a ON a.id = c.attempt_id "
        "LEFT JOIN contacts ct ON ct.id = a.contact_id "
        "WHERE c.metadata->>'idempotency_key' = %s AND c.deleted_at IS NULL",
        (call_key,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    metadata: dict[str, Any] = row["metadata"] or {}
    return StoredCall(
        call_id=row["call_id"],
        tenant_id=row["tenant_id"],
        call_key=call_key,
        agent=metadata.get("agent"),
        language=str(metadata.get("language") or "es"),
        started_at=row["started_at"],
        outcome=row["outcome"],
        recording_path=row["recording_path"],
        contact_timezone=row["contact_timezone"],
    )


async def online_turns(conn: Conn, call_id: str) -> list[StoredTurn]:
    """The call's turns as the live call stored them, in order."""
    cur = await conn.execute(
        "SELECT turn_index, coalesce(user_text, '') AS user_text, "
        "coalesce(agent_text, '') AS agent_text, stt_confidence "
        "FROM call_turns WHERE call_id = %s::uuid ORDER BY turn_index",
        (call_id,),
    )
    return [
        StoredTurn(r["turn_index"], r["user_text"], r["agent_text"], r["stt_confidence"])
        for r in await cur.fetchall()
    ]


async def save_transcript(
    conn: Conn, call_id: str, kind: str, language: str, text: str, segments: list[Any]
) -> None:
    """Store (or replace) the call's transcript of this kind."""
    await conn.execute(
        "INSERT INTO transcripts (call_id, kind, language, text, segments) "
        "VALUES (%s::uuid, %s, %s, %s, %s) ON CONFLICT (call_id, kind) DO UPDATE SET "
        "language = EXCLUDED.language, text = EXCLUDED.text, segments = EXCLUDED.segments, "
        "created_at = now()",
        (call_id, kind, language, text, Jsonb(segments)),
    )


async def transcript_language(conn: Conn, call_id: str, kind: str) -> str | None:
    """The language of the call's transcript of this kind (None: no transcript, or none set)."""
    cur = await conn.execute(
        "SELECT language FROM transcripts WHERE call_id = %s::uuid AND kind = %s",
        (call_id, kind),
    )
    row = await cur.fetchone()
    return str(row["language"]) if row and row["language"] else None


async def load_transcript(conn: Conn, call_id: str, kind: str) -> list[Any] | None:
    """The segments of the call's transcript of this kind (None when there is none)."""
    cur = await conn.execute(
        "SELECT segments FROM transcripts WHERE call_id = %s::uuid AND kind = %s",
        (call_id, kind),
    )
    row = await cur.fetchone()
    return None if row is None else list(row["segments"])


async def replace_corrections(
    conn: Conn, call_id: str, pass_: str, rows: list[dict[str, Any]]
) -> None:
    """The pass's corrections become exactly `rows` (run it inside a transaction).

    A correction a reviewer reverted stays reverted when the same one is made again.
    """
    cur = await conn.execute(
        "SELECT segment_index, word_start, reverted_at, reverted_by FROM call_corrections "
        "WHERE call_id = %s::uuid AND pass = %s AND reverted_at IS NOT NULL",
        (call_id, pass_),
    )
    reverted = {(r["segment_index"], r["word_start"]): r for r in await cur.fetchall()}
    await conn.execute(
        "DELETE FROM call_corrections WHERE call_id = %s::uuid AND pass = %s", (call_id, pass_)
    )
    async with conn.cursor() as insert:
        await insert.executemany(
            "INSERT INTO call_corrections (call_id, pass, segment_index, word_start, word_end, "
            "level, score, before, after, probability, reverted_at, reverted_by) "
            "VALUES (%s::uuid, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    call_id,
                    pass_,
                    r["segment_index"],
                    r["word_start"],
                    r["word_end"],
                    r["level"],
                    r["score"],
                    r["before"],
                    r["after"],
                    r["probability"],
                    *_reverted(reverted.get((r["segment_index"], r["word_start"])), r),
                )
                for r in rows
            ],
        )


def _reverted(previous: Any, row: dict[str, Any]) -> tuple[Any, Any]:
    if previous is None:
        return None, None
    return previous["reverted_at"], previous["reverted_by"]


async def save_analysis(
    conn: Conn, call_id: str, version: int, summary: dict[str, Any], analysis: dict[str, Any]
) -> None:
    """Store (or replace) the call's analysis."""
    await conn.execute(
        "INSERT INTO call_analyses (call_id, version, intent, intent_confidence, "
        "sentiment_trend, success, quality, summary, analysis) "
        "VALUES (%s::uuid, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (call_id) DO UPDATE SET "
        "version = EXCLUDED.version, intent = EXCLUDED.intent, "
        "intent_confidence = EXCLUDED.intent_confidence, "
        "sentiment_trend = EXCLUDED.sentiment_trend, success = EXCLUDED.success, "
        "quality = EXCLUDED.quality, summary = EXCLUDED.summary, "
        "analysis = EXCLUDED.analysis, analysed_at = now()",
        (
            call_id,
            version,
            summary["intent"],
            summary["intent_confidence"],
            summary["sentiment_trend"],
            summary["success"],
            summary["quality"],
            summary["summary"],
            Jsonb(analysis),
        ),
    )


async def load_analysis(conn: Conn, call_id: str) -> dict[str, Any] | None:
    """The call's stored analysis document (None before it is analysed)."""
    cur = await conn.execute(
        "SELECT analysis FROM call_analyses WHERE call_id = %s::uuid", (call_id,)
    )
    row = await cur.fetchone()
    return None if row is None else row["analysis"]


async def analysis_summary(conn: Conn, call_id: str) -> dict[str, Any] | None:
    """The call's analysis headline: intent, success, quality, summary (None: not analysed)."""
    cur = await conn.execute(
        "SELECT intent, success, quality, summary FROM call_analyses WHERE call_id = %s::uuid",
        (call_id,),
    )
    row = await cur.fetchone()
    return None if row is None else dict(row)


async def write_back_extracted(conn: Conn, call_id: str, extracted: dict[str, Any]) -> bool:
    """Put what the analysis extracted on the call's contact (False: no contact)."""
    cur = await conn.execute(
        "UPDATE contacts SET extracted = contacts.extracted || %s, extracted_at = now(), "
        "updated_at = now() FROM call_attempts a JOIN calls c ON c.attempt_id = a.id "
        "WHERE c.id = %s::uuid AND contacts.id = a.contact_id",
        (Jsonb(extracted), call_id),
    )
    return cur.rowcount > 0


async def save_document(conn: Conn, call_id: str, document: dict[str, Any], checksum: str) -> None:
    """Store (or replace) the call's metadata document."""
    await conn.execute(
        "INSERT INTO call_documents (call_id, document, checksum) VALUES (%s::uuid, %s, %s) "
        "ON CONFLICT (call_id) DO UPDATE SET document = EXCLUDED.document, "
        "checksum = EXCLUDED.checksum, updated_at = now()",
        (call_id, Jsonb(document), checksum),
    )


async def corrections_of(conn: Conn, call_id: str, pass_: str) -> list[dict[str, Any]]:
    """The pass's corrections, in transcript order."""
    cur = await conn.execute(
        "SELECT segment_index, word_start, word_end, level, score, before, after, probability, "
        "reverted_at IS NOT NULL AS reverted FROM call_corrections "
        "WHERE call_id = %s::uuid AND pass = %s ORDER BY segment_index, word_start",
        (call_id, pass_),
    )
    return [dict(r) for r in await cur.fetchall()]


async def reverted_spans(conn: Conn, call_id: str, pass_: str) -> set[tuple[int, int]]:
    """(segment, first word) of the pass's corrections a reviewer reverted."""
    cur = await conn.execute(
        "SELECT segment_index, word_start FROM call_corrections "
        "WHERE call_id = %s::uuid AND pass = %s AND reverted_at IS NOT NULL",
        (call_id, pass_),
    )
    return {(r["segment_index"], r["word_start"]) for r in await cur.fetchall()}


async def heard_tokens(conn: Conn, call_id: str, source: str) -> list[list[str]]:
    """Each segment's words as the corrections' pass (`source`) heard them."""
    if source == "offline":
        segments = await load_transcript(conn, call_id, "offline") or []
        return [
            [str(w["text"]).strip() for w in s.get("words", [])] or str(s["text"]).split()
            for s in segments
        ]
    return [t.user_text.split() for t in await online_turns(conn, call_id) if t.user_text]


# -- what the learning loop reads of a call's corrections and tool calls -----------------


async def call_language(conn: Conn, tenant_id: str, call_id: str) -> str | None:
    """The tenant's stored call's language ('es' when unset); None: no such call."""
    cur = await conn.execute(
        "SELECT coalesce(metadata->>'language', 'es') AS language FROM calls "
        "WHERE id = %s::uuid AND tenant_id = %s::uuid AND deleted_at IS NULL",
        (call_id, tenant_id),
    )
    row = await cur.fetchone()
    return None if row is None else str(row["language"])


async def unsure_corrections(
    conn: Conn, tenant_id: str, below: float, call_id: str | None
) -> list[DictRow]:
    """Unreverted level-2/3 corrections of words heard with probability under `below`, in
    the tenant's stored calls (only `call_id`'s when given), each with its call's language
    and its corrected segment's text as `context`."""
    cur = await conn.execute(
        "SELECT cc.call_id::text AS call_id, cc.pass, cc.segment_index, cc.word_start, "
        "cc.before, cc.after, c.metadata->>'language' AS language, "
        "t.segments -> cc.segment_index ->> 'text' AS context "
        "FROM call_corrections cc JOIN calls c ON c.id = cc.call_id "
        "LEFT JOIN transcripts t ON t.call_id = cc.call_id AND t.kind = 'corrected' "
        "WHERE c.tenant_id = %s::uuid AND c.deleted_at IS NULL AND cc.reverted_at IS NULL "
        "AND cc.level <> 'L1' AND cc.probability < %s "
        "AND (%s::uuid IS NULL OR cc.call_id = %s::uuid)",
        (tenant_id, below, call_id, call_id),
    )
    return await cur.fetchall()


async def tool_calls(conn: Conn, tenant_id: str, call_id: str | None) -> list[DictRow]:
    """The tool calls of the tenant's stored calls (only `call_id`'s when given): call id,
    seq, payload and the call's language."""
    cur = await conn.execute(
        "SELECT e.call_id::text AS call_id, e.seq, e.payload, "
        "coalesce(c.metadata->>'language', 'es') AS language "
        "FROM call_events e JOIN calls c ON c.id = e.call_id "
        "WHERE c.tenant_id = %s::uuid AND c.deleted_at IS NULL AND e.type = %s "
        "AND (%s::uuid IS NULL OR e.call_id = %s::uuid)",
        (tenant_id, CallEventType.TOOL_CALL.value, call_id, call_id),
    )
    return await cur.fetchall()


async def revert_correction(
    conn: Conn, call_id: str, correction_id: int, reviewer: str | None
) -> DictRow | None:
    """Mark a correction of the call reverted (a second revert keeps the first) and return
    it with its call's language and its corrected segment's text (`context`); None: the
    call has no such correction."""
    await conn.execute(
        "UPDATE call_corrections SET reverted_at = now(), reverted_by = %s "
        "WHERE id = %s AND call_id = %s::uuid AND reverted_at IS NULL",
        (reviewer, correction_id, call_id),
    )
    cur = await conn.execute(
        "SELECT cc.pass, cc.segment_index, cc.word_start, cc.before, cc.after, cc.reverted_at, "
        "cc.reverted_by, coalesce(c.metadata->>'language', 'es') AS language, "
        "t.segments -> cc.segment_index ->> 'text' AS context "
        "FROM call_corrections cc JOIN calls c ON c.id = cc.call_id "
        "LEFT JOIN transcripts t ON t.call_id = cc.call_id AND t.kind = 'corrected' "
        "WHERE cc.id = %s AND cc.call_id = %s::uuid",
        (correction_id, call_id),
    )
    return await cur.fetchone()
