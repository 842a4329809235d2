"""A campaign's start and end as webhook events, recorded with the status that says so.

`set_campaign_status` calls `record_status_event` in the transaction that writes the
status. A campaign starts once and completes once: the ids are the campaign's, so a
retried status write, or a resume after a pause (running again), records nothing new.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from centralita.campaigns.messages import CampaignStatus
from centralita.kernel.db import Conn
from centralita.kernel.events import EventType, campaign_subject, emit, event_id


async def record_status_event(
    conn: Conn,
    campaign: dict[str, Any],
    status: CampaignStatus,
) -> bool:
    """`campaign_started` (running) or `campaign_completed` (completed); else nothing.

    Args:
        conn: inside the status write's transaction.
        campaign: the updated row: id, tenant_id, name, started_at, completed_at.
        status: the status just written.

    Returns:
        Whether an event was recorded now (False: none for this status, or told already).
    """
    type_: EventType
    if status is CampaignStatus.RUNNING:
        type_, at = "campaign_started", campaign["started_at"]
        data = _base(campaign) | {"contacts": await _contact_count(conn, campaign["id"])}
    elif status is CampaignStatus.COMPLETED:
        type_, at = "campaign_completed", campaign["completed_at"]
        data = _base(campaign) | await _totals(conn, campaign["id"])
    else:
        return False
    return await emit(
        conn,
        event_id=event_id(type_, campaign["id"]),
        tenant_id=campaign["tenant_id"],
        type=type_,
        data=data,
        campaign_id=campaign["id"],
        subject=campaign_subject(campaign["id"]),
        occurred_at=at,
    )


def _base(campaign: dict[str, Any]) -> dict[str, Any]:
    return {
        "campaign_id": campaign["id"],
        "name": campaign["name"],
        "started_at": _iso(campaign["started_at"]),
        "completed_at": _iso(campaign["completed_at"]),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def _contact_count(conn: Conn, campaign_id: str) -> int:
    cur = await conn.execute(
        "SELECT count(*) AS n FROM contacts WHERE campaign_id = %s::uuid", (campaign_id,)
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def _totals(conn: Conn, campaign_id: str) -> dict[str, Any]:
    """How the campaign ended: contacts by final state, attempts, and their outcomes."""
    cur = await conn.execute(
        "SELECT state, count(*) AS n FROM contacts WHERE campaign_id = %s::uuid GROUP BY state",
        (campaign_id,),
    )
    states = {r["state"]: int(r["n"]) for r in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT outcome, count(*) AS n FROM call_attempts WHERE campaign_id = %s::uuid "
        "AND status <> 'skipped' GROUP BY outcome",
        (campaign_id,),
    )
    outcomes = {r["outcome"] or "unknown": int(r["n"]) for r in await cur.fetchall()}
    return {
        "contacts": sum(states.values()),
        "contacts_by_state": dict(sorted(states.items())),
        "attempts": sum(outcomes.values()),
        "outcomes": dict(sorted(outcomes.items())),
    }
