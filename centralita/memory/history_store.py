"""A person's earlier calls with this tenant, as memory reads them.

Who is "the same person" across campaigns: contacts are rows of one campaign, so a
debtor called by three campaigns is three contacts. They are one person when the tenant
gave them the same `external_id` (its own customer reference: the tenant knows who its
customers are, and numbers are shared by households and handed on to strangers). A
contact with no external id is matched by its first number (the one it was given as its
own, `to_number`) with other contacts that have no external id either: its further
numbers (`try_phones`) are often a relative's or a workplace's, and a contact the tenant
did name with a reference is someone it tells apart from whoever else uses the number.
Matching stays inside the tenant in every query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from centralita.campaigns.store.history import parse_uuid
from centralita.kernel.db import Conn


class Person(BaseModel):
    """The contact memory is built for, and what identifies them across campaigns."""

    contact_id: str
    external_id: str | None
    phone: str
    timezone: str


class AttemptFacts(BaseModel):
    """One earlier call attempt that was dialled and finished, with what it left behind.

    `extracted` is what the live call recorded (a promise, a callback time, an opt-out);
    `analysed` the post-call analysis's variables, when the live call recorded none.
    """

    attempt_id: str
    campaign_id: str
    contact_id: str
    started_at: datetime
    answered_at: datetime | None
    outcome: str | None
    extracted: dict[str, Any]
    language: str | None
    intent: str | None
    summary: str | None
    analysed: dict[str, Any] | None


async def find_person(conn: Conn, tenant_id: str, contact_id: str) -> Person | None:
    """The tenant's contact as a person to remember, or None (no such contact of its).

    Ids arrive from URLs: one that is not a UUID is simply not found.
    """
    key = parse_uuid(contact_id)
    if key is None:
        return None
    cur = await conn.execute(
        "SELECT c.id::text AS contact_id, c.external_id, c.phones[1] AS phone, "
        "coalesce(c.recipient_timezone, c.timezone, k.timezone) AS timezone "
        "FROM contacts c JOIN campaigns k ON k.id = c.campaign_id "
        "WHERE c.id = %s AND c.tenant_id = %s",
        (key, tenant_id),
    )
    row = await cur.fetchone()
    return None if row is None else Person.model_validate(row)


async def earlier_attempts(
    conn: Conn, tenant_id: str, person: Person, *, before: datetime, limit: int
) -> list[AttemptFacts]:
    """The person's finished attempts that started before `before`, newest first.

    Skipped, cancelled and failed-to-store attempts held no call and are left out, and
    so is an attempt whose call the tenant deleted (it leaves every view with it).
    """
    cur = await conn.execute(
        "WITH same AS ("
        "  SELECT c.id FROM contacts c WHERE c.tenant_id = %(tenant)s AND ("
        "    (%(ext)s::text IS NOT NULL AND c.external_id = %(ext)s)"
        "    OR (%(ext)s::text IS NULL AND c.external_id IS NULL AND c.phones[1] = %(phone)s)"
        "    OR c.id = %(contact)s::uuid)"
        ") "
        "SELECT a.id::text AS attempt_id, a.campaign_id::text AS campaign_id, "
        "a.contact_id::text AS contact_id, a.started_at, a.answered_at, a.outcome, "
        "a.extracted, k.metadata->>'language' AS language, n.intent, n.summary, "
        "n.analysis->'variables' AS analysed "
        "FROM call_attempts a JOIN same s ON s.id = a.contact_id "
        "LEFT JOIN calls k ON k.attempt_id = a.id AND k.tenant_id = a.tenant_id "
        "LEFT JOIN call_analyses n ON n.call_id = k.id "
        "WHERE a.tenant_id = %(tenant)s AND a.status = 'completed' "
        "AND a.started_at < %(before)s AND (k.id IS NULL OR k.deleted_at IS NULL) "
        "ORDER BY a.started_at DESC, a.id DESC LIMIT %(limit)s",
        {
            "tenant": tenant_id,
            "ext": person.external_id,
            "phone": person.phone,
            "contact": person.contact_id,
            "before": before,
            "limit": limit,
        },
    )
    return [AttemptFacts.model_validate(r) for r in await cur.fetchall()]
