"""Campaigns and their contacts: creation and the reads the API and workflows need."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field, model_validator

from centralita.campaigns.messages import CampaignStatus
from centralita.campaigns.policy import CampaignPolicy, read_stored_policy
from centralita.campaigns.store.campaign_events import record_status_event
from centralita.kernel.db import Conn, Pool
from centralita.kernel.ids import is_uuid


class NewContact(BaseModel):
    """A validated contact ready to store (phones already E.164, in try order)."""

    name: str
    phones: list[str] = Field(min_length=1)
    external_id: str | None = None
    timezone: str | None = None
    recipient_timezone: str | None = None
    segment: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)


class CampaignRow(BaseModel):
    """A campaign as stored.

    A stored policy that is not valid (a row saved before a check existed, or edited by
    hand) does not make the row unreadable: `policy` is None and `policy_error` says
    what is wrong, so one such row never hides the others.
    """

    id: str
    name: str
    status: CampaignStatus
    timezone: str
    policy: CampaignPolicy | None
    policy_error: str | None = None
    # The policy as stored, valid or not (an edit is applied to it). Not shown.
    stored_policy: dict[str, Any] = Field(default_factory=dict, exclude=True)
    workflow_id: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None

    @model_validator(mode="before")
    @classmethod
    def _tolerate_a_bad_policy(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or "stored_policy" in data:
            return data
        raw = data.get("policy")
        if isinstance(raw, CampaignPolicy):
            return {**data, "stored_policy": raw.model_dump(mode="json")}
        policy, problem = read_stored_policy(raw)
        stored = raw if isinstance(raw, dict) else {}
        return {**data, "policy": policy, "policy_error": problem, "stored_policy": stored}


class ContactRow(BaseModel):
    """A contact as stored."""

    id: str
    campaign_id: str
    position: int
    external_id: str | None
    name: str
    phones: list[str]
    timezone: str | None
    segment: str | None
    variables: dict[str, Any]
    recipient_timezone: str | None
    state: str
    state_reason: str | None
    outcome: str | None
    attempts_count: int
    last_phone_tried: str | None
    next_attempt_at: datetime | None
    callback_at: datetime | None
    # What post-call analysis extracted from the latest analysed call (promise).
    extracted: dict[str, Any] = Field(default_factory=dict)


_CAMPAIGN_COLUMNS = (
    "id::text AS id, name, status, timezone, policy, workflow_id, created_at, started_at, "
    "completed_at"
)
_CONTACT_COLUMNS = (
    "id::text AS id, campaign_id::text AS campaign_id, position, external_id, name, phones, "
    "timezone, recipient_timezone, segment, variables, state, state_reason, outcome, "
    "attempts_count, last_phone_tried, next_attempt_at, callback_at, extracted"
)


async def create_campaign(
    pool: Pool,
    *,
    tenant_id: str,
    name: str,
    timezone: str,
    policy: CampaignPolicy,
    contacts: Sequence[NewContact],
    workflow_id_for: Callable[[str], str],
) -> CampaignRow:
    """Insert a campaign and all its contacts in one transaction.

    Args:
        workflow_id_for: maps the new campaign id to its workflow id (stored with it).
    """
    async with pool.connection() as conn, conn.transaction():
        row = await _fetch_one(
            conn,
            "INSERT INTO campaigns (tenant_id, name, timezone, policy) VALUES (%s, %s, %s, %s) "
            f"RETURNING {_CAMPAIGN_COLUMNS}",
            (tenant_id, name, timezone, Jsonb(policy.model_dump(mode="json"))),
        )
        campaign_id = row["id"]
        row = await _fetch_one(
            conn,
            f"UPDATE campaigns SET workflow_id = %s WHERE id = %s RETURNING {_CAMPAIGN_COLUMNS}",
            (workflow_id_for(campaign_id), campaign_id),
        )
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO contacts (tenant_id, campaign_id, position, external_id, name, "
                "phones, timezone, recipient_timezone, segment, variables) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        tenant_id,
                        campaign_id,
                        position,
                        c.external_id,
                        c.name,
                        c.phones,
                        c.timezone,
                        c.recipient_timezone,
                        c.segment,
                        Jsonb(c.variables),
                    )
                    for position, c in enumerate(contacts)
                ],
            )
    return CampaignRow.model_validate(row)


async def get_campaign(pool: Pool, tenant_id: str, campaign_id: str) -> CampaignRow | None:
    """One campaign of the tenant, or None (also for an id that is not a UUID)."""
    if not is_uuid(campaign_id):
        return None
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE tenant_id = %s AND id = %s::uuid",
            (tenant_id, campaign_id),
        )
        row = await cur.fetchone()
    return CampaignRow.model_validate(row) if row else None


async def list_campaigns(
    pool: Pool, tenant_id: str, *, limit: int, offset: int
) -> list[CampaignRow]:
    """The tenant's campaigns, newest first."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE tenant_id = %s "
            "ORDER BY created_at DESC, id LIMIT %s OFFSET %s",
            (tenant_id, limit, offset),
        )
        rows = await cur.fetchall()
    return [CampaignRow.model_validate(r) for r in rows]


async def contact_state_counts(pool: Pool, campaign_ids: list[str]) -> dict[str, dict[str, int]]:
    """For each campaign, how many of its contacts are in each state (one query)."""
    return await _counts_by(pool, "contacts", "state", campaign_ids)


async def list_contacts(
    pool: Pool, campaign_id: str, *, limit: int, offset: int
) -> list[ContactRow]:
    """Contacts of a campaign in upload order."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE campaign_id = %s "
            "ORDER BY position LIMIT %s OFFSET %s",
            (campaign_id, limit, offset),
        )
        rows = await cur.fetchall()
    return [ContactRow.model_validate(r) for r in rows]


async def set_campaign_status(pool: Pool, campaign_id: str, status: CampaignStatus) -> bool:
    """Record a status; stamps started/completed times once. False if no such campaign.

    Starting and completing also record their webhook event, in the same transaction.
    """
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "UPDATE campaigns SET status = %s, updated_at = now(), "
            "started_at = CASE WHEN %s = 'running' THEN coalesce(started_at, now()) "
            "ELSE started_at END, "
            "completed_at = CASE WHEN %s IN ('completed', 'cancelled', 'failed') "
            "THEN coalesce(completed_at, now()) ELSE completed_at END "
            "WHERE id = %s::uuid "
            "RETURNING id::text AS id, tenant_id::text AS tenant_id, name, started_at, "
            "completed_at",
            (status.value, status.value, status.value, campaign_id),
        )
        campaign = await cur.fetchone()
        if campaign is None:
            return False
        await record_status_event(conn, dict(campaign), status)
        if status is CampaignStatus.CANCELLED:
            # Every attempt has ended by now (the workflow waited for them): one that
            # still says "dialing" was interrupted before it could record so.
            await conn.execute(
                "UPDATE call_attempts SET status = 'cancelled', skip_reason = 'campaign cancelled' "
                "WHERE campaign_id = %s::uuid AND status = 'dialing'",
                (campaign_id,),
            )
            await conn.execute(
                "UPDATE contacts SET state = 'cancelled', state_reason = 'campaign cancelled', "
                "next_attempt_at = NULL, updated_at = now() WHERE campaign_id = %s::uuid "
                "AND state IN ('pending', 'retry_scheduled', 'in_progress')",
                (campaign_id,),
            )
        return True


async def _fetch_one(conn: AsyncConnection[DictRow], query: str, params: Sequence[Any]) -> DictRow:
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    if row is None:
        raise RuntimeError("query returned no row")
    return row


async def attempt_outcome_counts(pool: Pool, campaign_ids: list[str]) -> dict[str, dict[str, int]]:
    """For each campaign, its finished attempts counted by outcome (one query)."""
    return await _counts_by(pool, "call_attempts", "outcome", campaign_ids)


async def _counts_by(
    pool: Pool, table: str, column: str, campaign_ids: list[str]
) -> dict[str, dict[str, int]]:
    # `table` and `column` are constants of this module, never user input.
    counts: dict[str, dict[str, int]] = {cid: {} for cid in campaign_ids}
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT campaign_id::text AS campaign_id, {column} AS key, count(*) AS n "
            f"FROM {table} WHERE campaign_id = ANY(%s::uuid[]) AND {column} IS NOT NULL "
            f"GROUP BY campaign_id, {column}",
            (campaign_ids,),
        )
        for row in await cur.fetchall():
            counts[row["campaign_id"]][row["key"]] = row["n"]
    return counts


async def admitted_since(pool: Pool, since: dict[str, datetime]) -> dict[str, int]:
    """For each campaign, contacts admitted (first dialled) since its own moment."""
    counts = dict.fromkeys(since, 0)
    if not since:
        return counts
    ids = list(since)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT c.campaign_id::text AS campaign_id, count(*) AS n FROM contacts c "
            "JOIN unnest(%s::uuid[], %s::timestamptz[]) AS d(id, since) "
            "ON c.campaign_id = d.id WHERE c.admitted_at >= d.since GROUP BY c.campaign_id",
            (ids, [since[i] for i in ids]),
        )
        for row in await cur.fetchall():
            counts[row["campaign_id"]] = row["n"]
    return counts


# -- what the campaign workflow's activities read and write ------------------------------


async def stored_policy(conn: Conn, campaign_id: str) -> Any | None:
    """The campaign's policy as stored, valid or not; None when there is no such campaign."""
    cur = await conn.execute("SELECT policy FROM campaigns WHERE id = %s::uuid", (campaign_id,))
    row = await cur.fetchone()
    return None if row is None else row["policy"]


async def store_policy(conn: Conn, campaign_id: str, policy: CampaignPolicy) -> None:
    """Replace the campaign's policy (and the timezone kept beside it)."""
    await conn.execute(
        "UPDATE campaigns SET policy = %s, timezone = %s, updated_at = now() WHERE id = %s::uuid",
        (Jsonb(policy.model_dump(mode="json")), policy.schedule.timezone, campaign_id),
    )


async def admitted_between(conn: Conn, campaign_id: str, start: datetime, end: datetime) -> int:
    """The campaign's contacts first dialled between `start` and `end` (both included)."""
    cur = await conn.execute(
        "SELECT count(*) AS n FROM contacts WHERE campaign_id = %s::uuid AND admitted_at >= %s "
        "AND admitted_at <= %s",
        (campaign_id, start, end),
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def outlook(conn: Conn, campaign_id: str, now: datetime) -> tuple[datetime | None, int, bool]:
    """Next due moment among waiting contacts, open contacts left, new ones waiting."""
    cur = await conn.execute(
        "SELECT min(next_attempt_at) FILTER (WHERE next_attempt_at > %s) AS wake_at, "
        "count(*) FILTER (WHERE state IN ('pending', 'retry_scheduled', 'in_progress')) "
        "  AS remaining, "
        "bool_or(state = 'pending' AND admitted_at IS NULL AND "
        "  (next_attempt_at IS NULL OR next_attempt_at <= %s)) AS waiting_new "
        "FROM contacts WHERE campaign_id = %s::uuid",
        (now, now, campaign_id),
    )
    row = await cur.fetchone()
    assert row is not None
    return row["wake_at"], int(row["remaining"]), bool(row["waiting_new"])


async def latest_contact_with_phone(conn: Conn, tenant_id: str, phone: str) -> DictRow | None:
    """The tenant's most recent contact holding `phone`: its id, name, variables and zone."""
    cur = await conn.execute(
        "SELECT id::text AS id, name, variables, recipient_timezone FROM contacts "
        "WHERE tenant_id = %s::uuid AND %s = ANY(phones) "
        "ORDER BY created_at DESC LIMIT 1",
        (tenant_id, phone),
    )
    return await cur.fetchone()
