"""Call attempts and contact progress: idempotent writes keyed by natural ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from pydantic import BaseModel

from centralita.db import Pool
from workflows.models import AttemptStart, ContactStateChange, DialResult


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


_ATTEMPT_COLUMNS = (
    "id::text AS id, attempt_key, contact_id::text AS contact_id, attempt_number, phone, "
    "status, outcome, disconnection_reason, started_at, answered_at, ended_at, duration_s, "
    "extracted, transcript"
)


async def record_attempt_started(pool: Pool, tenant_id: str, start: AttemptStart) -> None:
    """Insert the attempt once; a retried activity finds it and changes nothing."""
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO call_attempts (attempt_key, tenant_id, campaign_id, contact_id, "
            "attempt_number, phone) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (attempt_key) DO NOTHING",
            (
                start.attempt_key,
                tenant_id,
                start.campaign_id,
                start.contact_id,
                start.attempt_number,
                start.phone,
            ),
        )


async def record_attempt_result(pool: Pool, attempt_key: str, result: DialResult) -> bool:
    """Store how an attempt ended (same values on a retry). False if the attempt is unknown."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE call_attempts SET status = 'completed', outcome = %s, "
            "disconnection_reason = %s, started_at = %s, answered_at = %s, ended_at = %s, "
            "duration_s = %s, cost = %s, extracted = %s, transcript = %s "
            "WHERE attempt_key = %s",
            (
                result.outcome.value,
                result.disconnection_reason,
                result.started_at,
                result.answered_at,
                result.ended_at,
                result.duration_s,
                result.cost,
                Jsonb(result.extracted),
                result.transcript,
                attempt_key,
            ),
        )
        return cur.rowcount == 1


async def record_contact_state(pool: Pool, change: ContactStateChange) -> bool:
    """Set a contact's state; fields left None keep their stored value."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE contacts SET state = %s, outcome = coalesce(%s, outcome), "
            "attempts_count = coalesce(%s, attempts_count), "
            "last_phone_tried = coalesce(%s, last_phone_tried), next_attempt_at = %s, "
            "updated_at = now() WHERE id::text = %s",
            (
                change.state.value,
                change.outcome.value if change.outcome else None,
                change.attempts,
                change.last_phone_tried,
                change.next_attempt_at,
                change.contact_id,
            ),
        )
        return cur.rowcount == 1


async def attempts_for_contacts(pool: Pool, contact_ids: list[str]) -> dict[str, list[AttemptRow]]:
    """Attempt history of each contact, oldest first."""
    history: dict[str, list[AttemptRow]] = {cid: [] for cid in contact_ids}
    if not contact_ids:
        return history
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_ATTEMPT_COLUMNS} FROM call_attempts WHERE contact_id::text = ANY(%s) "
            "ORDER BY contact_id, attempt_number",
            (contact_ids,),
        )
        for row in await cur.fetchall():
            attempt = AttemptRow.model_validate(row)
            history[attempt.contact_id].append(attempt)
    return history
