"""What the event producer tests share: reading a subject's outbox rows, an attempt."""

from __future__ import annotations

import uuid
from typing import Any

from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from tests.support.stored_calls import PHONE

AGENT = "cobranza-temprana"


async def subject_events(pool: Pool, subject: str) -> list[dict[str, Any]]:
    """The outbox rows of one subject, in seq order."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, type, tenant_id::text AS tenant_id, call_id::text AS call_id, "
            "campaign_id::text AS campaign_id, subject, payload, occurred_at, seq "
            "FROM domain_events WHERE subject = %s ORDER BY seq",
            (subject,),
        )
        return [dict(r) for r in await cur.fetchall()]


async def dialling_attempt(pool: Pool, campaign_id: str) -> tuple[str, str]:
    """A contact of `campaign_id` being dialled: (attempt key, contact id)."""
    contact_id = str(uuid.uuid4())
    key = f"campaign-{campaign_id}-contact-{contact_id}-attempt-1"
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO contacts (id, tenant_id, campaign_id, position, name, phones) "
            "VALUES (%s, %s, %s, 0, 'María', %s)",
            (contact_id, DEFAULT_TENANT_ID, campaign_id, [PHONE]),
        )
        await conn.execute(
            "INSERT INTO call_attempts (attempt_key, tenant_id, campaign_id, contact_id, "
            "attempt_number, phone, agent, status) VALUES (%s, %s, %s, %s, 1, %s, %s, 'dialing')",
            (key, DEFAULT_TENANT_ID, campaign_id, contact_id, PHONE, AGENT),
        )
    return key, contact_id
