"""Calls stored the way the media worker stores them, for post-call tests.

A campaign, a contact and its attempt in Postgres, and the call `save_call` writes at
the end of a conversation, with the given turns (what the caller said as heard live, and
the agent's answer).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from centralita.kernel.calls import CallOutcome, DialRequest, DialResult
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from realtime.session.record import CallRecord, TurnMetrics
from realtime.store.calls import save_call

PHONE = "+56961234567"
AGENT = "cobranza-temprana"


@dataclass(frozen=True)
class StoredCall:
    """What a test needs to find a stored call again."""

    key: str  # the attempt key: the post-call workflow's call key
    call_id: str
    contact_id: str


async def insert_campaign(pool: Pool, name: str = "post-call", status: str = "running") -> str:
    """An empty campaign of the default tenant; its id."""
    campaign_id = str(uuid.uuid4())
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO campaigns (id, tenant_id, name, status, workflow_id) "
            "VALUES (%s, %s, %s, %s, %s)",
            (campaign_id, DEFAULT_TENANT_ID, name, status, f"campaign-{campaign_id}"),
        )
    return campaign_id


async def store_answered_call(
    pool: Pool,
    campaign_id: str,
    turns: Sequence[tuple[str, str]],
    *,
    started: datetime,
    position: int = 0,
    duration_s: float = 38.0,
) -> StoredCall:
    """A contact of `campaign_id`, its first attempt, and the answered call it held."""
    contact_id = str(uuid.uuid4())
    key = f"campaign-{campaign_id}-contact-{contact_id}-attempt-1"
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO contacts (id, tenant_id, campaign_id, position, name, phones, timezone) "
            "VALUES (%s, %s, %s, %s, 'María', %s, 'America/Santiago')",
            (contact_id, DEFAULT_TENANT_ID, campaign_id, position, [PHONE]),
        )
        await conn.execute(
            "INSERT INTO call_attempts (attempt_key, tenant_id, campaign_id, contact_id, "
            "attempt_number, phone, agent, status, started_at) "
            "VALUES (%s, %s, %s, %s, 1, %s, %s, 'completed', %s)",
            (key, DEFAULT_TENANT_ID, campaign_id, contact_id, PHONE, AGENT, started),
        )
    record = CallRecord(call_id=key, language="es")
    for index, (user, agent) in enumerate(turns):
        record.turns.append(
            TurnMetrics(index=index, user_text=user, agent_text=agent, stt_confidence=0.9)
        )
    request = DialRequest(
        idempotency_key=key,
        to_number=PHONE,
        campaign_id=campaign_id,
        contact_id=contact_id,
        attempt_number=1,
        agent=AGENT,
    )
    result = DialResult(
        outcome=CallOutcome.PROMISE_TO_PAY,
        disconnection_reason="agent",
        started_at=started,
        answered_at=started + timedelta(seconds=2),
        ended_at=started + timedelta(seconds=2 + duration_s),
        duration_s=duration_s,
    )
    return StoredCall(key, await save_call(pool, request, record, result), contact_id)
