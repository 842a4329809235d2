"""Earlier calls of a person, stored as campaigns store them, for the contact memory tests.

A tenant, its campaigns and contacts, and finished attempts with what the live call
recorded (`extracted`), the stored call's language and its analysis's summary.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from centralita.kernel.db import Pool


async def insert_tenant(pool: Pool, name: str) -> str:
    """A new tenant; its id."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO tenants (name) VALUES (%s) RETURNING id::text AS id",
            (f"{name} {uuid.uuid4().hex[:6]}",),
        )
        row = await cur.fetchone()
    assert row is not None
    return str(row["id"])


async def insert_campaign(pool: Pool, tenant_id: str, name: str = "memoria") -> str:
    """A running campaign of the tenant (Santiago time); its id."""
    campaign_id = str(uuid.uuid4())
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO campaigns (id, tenant_id, name, status, timezone) "
            "VALUES (%s, %s, %s, 'running', 'America/Santiago')",
            (campaign_id, tenant_id, name),
        )
    return campaign_id


async def insert_contact(
    pool: Pool,
    tenant_id: str,
    campaign_id: str,
    phones: list[str],
    *,
    external_id: str | None = None,
    name: str = "María",
) -> str:
    """A contact of the campaign; its id."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO contacts (tenant_id, campaign_id, position, external_id, name, phones) "
            "VALUES (%s, %s, (SELECT count(*) FROM contacts WHERE campaign_id = %s), %s, %s, %s) "
            "RETURNING id::text AS id",
            (tenant_id, campaign_id, campaign_id, external_id, name, phones),
        )
        row = await cur.fetchone()
    assert row is not None
    return str(row["id"])


async def insert_attempt(
    pool: Pool,
    tenant_id: str,
    campaign_id: str,
    contact_id: str,
    *,
    started: datetime,
    outcome: str,
    extracted: dict[str, Any] | None = None,
    language: str | None = "es",
    summary: str | None = None,
    status: str = "completed",
    deleted: bool = False,
) -> str:
    """A finished attempt of the contact with its call (and analysis, given a summary)."""
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "INSERT INTO call_attempts (attempt_key, tenant_id, campaign_id, contact_id, "
            "attempt_number, phone, status, outcome, started_at, extracted) "
            "SELECT %s, %s, %s, c.id, "
            "  (SELECT count(*) + 1 FROM call_attempts WHERE contact_id = c.id), "
            "  c.phones[1], %s, %s, %s, %s FROM contacts c WHERE c.id = %s "
            "RETURNING id::text AS id",
            (
                f"attempt-{uuid.uuid4()}",
                tenant_id,
                campaign_id,
                status,
                outcome,
                started,
                Jsonb(extracted or {}),
                contact_id,
            ),
        )
        row = await cur.fetchone()
        assert row is not None
        attempt_id = str(row["id"])
        if status != "completed":
            return attempt_id
        cur = await conn.execute(
            "INSERT INTO calls (tenant_id, attempt_id, direction, status, started_at, outcome, "
            "metadata, deleted_at) VALUES (%s, %s, 'outbound', 'ended', %s, %s, %s, %s) "
            "RETURNING id::text AS id",
            (
                tenant_id,
                attempt_id,
                started,
                outcome,
                Jsonb({"language": language} if language else {}),
                started if deleted else None,
            ),
        )
        call = await cur.fetchone()
        assert call is not None
        if summary is not None:
            await conn.execute(
                "INSERT INTO call_analyses (call_id, version, intent, intent_confidence, "
                "sentiment_trend, quality, summary, analysis) "
                "VALUES (%s, 1, %s, 0.9, 'stable', 0.8, %s, '{}')",
                (call["id"], "dispute" if outcome == "disputed" else "other", summary),
            )
    return attempt_id
