"""Call attempts and contact progress: idempotent writes keyed by natural ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from pydantic import BaseModel

from centralita.campaigns.messages import BeginAttempt
from centralita.kernel.calls import DialResult
from centralita.kernel.db import Conn, Pool


class AttemptRow(BaseModel):
    """An attempt as stored."""

    id: str
    attempt_key: str
    contact_id: str
    attempt_number: int
    phone: str
    status: str
    outcome: str | None
    disconnection_reason: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    extracted: dict[str, Any]
    transcript: str | None
    agent: str | None
    skip_reason: str | None
    cost: float


_ATTEMPT_COLUMNS = (
    "id::text AS id, attempt_key, contact_id::text AS contact_id, attempt_number, phone, "
    "status, outcome, disconnection_reason, started_at, answered_at, ended_at, duration_s, "
    "extracted, transcript, agent, skip_reason, cost::float8 AS cost"
)


async def existing_status(conn: Conn, attempt_key: str) -> str | None:
    """The stored status of an attempt, or None if it was never recorded."""
    cur = await conn.execute(
        "SELECT status FROM call_attempts WHERE attempt_key = %s", (attempt_key,)
    )
    row = await cur.fetchone()
    return None if row is None else str(row["status"])


async def insert_attempt(
    conn: Conn, tenant_id: str, begin: BeginAttempt, *, status: str, skip_reason: str | None
) -> None:
    """Record an attempt once (`dialing`, or `skipped` when the dial-time check refused)."""
    await conn.execute(
        "INSERT INTO call_attempts (attempt_key, tenant_id, campaign_id, contact_id, "
        "attempt_number, phone, agent, status, skip_reason, started_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (attempt_key) DO NOTHING",
        (
            begin.attempt_key,
            tenant_id,
            begin.campaign_id,
            begin.contact_id,
            begin.attempt_number,
            begin.phone,
            begin.agent,
            status,
            skip_reason,
            begin.now,
        ),
    )


async def complete_attempt(conn: Conn, attempt_key: str, result: DialResult) -> str | None:
    """Store how an attempt ended (same values on a retry).

    Returns:
        The attempt's contact id, or None if the attempt is unknown.
    """
    cur = await conn.execute(
        "UPDATE call_attempts SET status = 'completed', outcome = %s, "
        "disconnection_reason = %s, answered_at = %s, ended_at = %s, "
        "duration_s = %s, cost = %s, cost_breakdown = %s, extracted = %s, transcript = %s "
        "WHERE attempt_key = %s RETURNING contact_id::text AS contact_id",
        (
            result.outcome.value,
            result.disconnection_reason,
            result.answered_at,
            result.ended_at,
            result.duration_s,
            result.cost,
            Jsonb(result.cost_breakdown),
            Jsonb(result.extracted),
            result.transcript,
            attempt_key,
        ),
    )
    row = await cur.fetchone()
    return None if row is None else str(row["contact_id"])


async def contact_of_attempt(conn: Conn, attempt_key: str) -> str | None:
    """The contact an attempt belongs to."""
    cur = await conn.execute(
        "SELECT contact_id::text AS contact_id FROM call_attempts WHERE attempt_key = %s",
        (attempt_key,),
    )
    row = await cur.fetchone()
    return None if row is None else str(row["contact_id"])


async def attempts_for_contacts(pool: Pool, contact_ids: list[str]) -> dict[str, list[AttemptRow]]:
    """Attempt history of each contact, oldest first."""
    history: dict[str, list[AttemptRow]] = {cid: [] for cid in contact_ids}
    if not contact_ids:
        return history
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_ATTEMPT_COLUMNS} FROM call_attempts WHERE contact_id = ANY(%s::uuid[]) "
            "ORDER BY contact_id, attempt_number",
            (contact_ids,),
        )
        for row in await cur.fetchall():
            attempt = AttemptRow.model_validate(row)
            history[attempt.contact_id].append(attempt)
    return history


async def cancel_dialing(conn: Conn, attempt_key: str, *, at: datetime, reason: str) -> None:
    """An attempt still dialling is cancelled mid-call (opt-out, campaign cancelled)."""
    await conn.execute(
        "UPDATE call_attempts SET status = 'cancelled', ended_at = %s, "
        "skip_reason = %s WHERE attempt_key = %s AND status = 'dialing'",
        (at, reason, attempt_key),
    )


async def completed_count(conn: Conn, campaign_id: str) -> int:
    """How many of the campaign's attempts have completed."""
    cur = await conn.execute(
        "SELECT count(*) AS n FROM call_attempts WHERE campaign_id = %s::uuid "
        "AND status = 'completed'",
        (campaign_id,),
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0
