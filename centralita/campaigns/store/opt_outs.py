"""Opt-outs: a number that must never be called again, in any campaign of the tenant."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from centralita.campaigns.store.contact_state import finish
from centralita.kernel.calls import ContactState
from centralita.kernel.db import Conn
from centralita.kernel.events import call_subject, emit, event_id


class OptOutRow(BaseModel):
    """An opted-out number."""

    phone: str
    reason: str | None
    source: str
    created_at: datetime


async def add(
    conn: Conn,
    tenant_id: str,
    phone: str,
    *,
    reason: str | None,
    source: str,
    at: datetime,
    call_key: str | None = None,
) -> list[str]:
    """Record the opt-out and stop every open contact that has no other phone left.

    Contacts that still have other phones keep them: the dispatcher and the dial-time
    check skip the opted-out number. A new opt-out also records the `opt_out` webhook
    event (in the caller's transaction; `call_key` names the call it was asked in).
    Returns the ids of campaigns whose contacts have this number, so their running
    workflows can be told at once.
    """
    cur = await conn.execute(
        "INSERT INTO opt_outs (tenant_id, phone, reason, source, created_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, phone) DO NOTHING",
        (tenant_id, phone, reason, source, at),
    )
    inserted = cur.rowcount == 1
    cur = await conn.execute(
        "SELECT c.id::text AS id, c.campaign_id::text AS campaign_id, "
        "NOT EXISTS (SELECT 1 FROM unnest(c.phones) p WHERE NOT EXISTS "
        "  (SELECT 1 FROM opt_outs o WHERE o.tenant_id = c.tenant_id AND o.phone = p)) "
        "  AS all_out "
        "FROM contacts c WHERE c.tenant_id = %s AND c.phones @> ARRAY[%s] "
        "AND c.state IN ('pending', 'retry_scheduled', 'in_progress')",
        (tenant_id, phone),
    )
    campaigns: set[str] = set()
    for row in await cur.fetchall():
        campaigns.add(row["campaign_id"])
        if row["all_out"]:
            await finish(
                conn,
                contact_id=row["id"],
                at=at,
                state=ContactState.OPTED_OUT,
                reason=f"opted out ({source})",
                event_key=f"optout:{phone}:{row['id']}",
            )
    if inserted:  # an opt-out already on file is no news
        await emit(
            conn,
            # Lifted and asked again later is a new opt-out: its time tells them apart.
            event_id=event_id("opt_out", tenant_id, phone, at.isoformat()),
            tenant_id=tenant_id,
            type="opt_out",
            data={
                "phone": phone,
                "reason": reason,
                "source": source,
                "call_key": call_key,
                "opted_out_at": at.isoformat(),
                "campaigns_affected": sorted(campaigns),
            },
            subject=call_subject(call_key) if call_key else None,
            occurred_at=at,
        )
    return sorted(campaigns)


async def remove(conn: Conn, tenant_id: str, phone: str) -> bool:
    """Lift an opt-out (contacts already stopped stay stopped). False if there was none."""
    cur = await conn.execute(
        "DELETE FROM opt_outs WHERE tenant_id = %s AND phone = %s", (tenant_id, phone)
    )
    return cur.rowcount == 1


async def list_all(conn: Conn, tenant_id: str, *, limit: int, offset: int) -> list[OptOutRow]:
    """The tenant's opt-outs, newest first."""
    cur = await conn.execute(
        "SELECT phone, reason, source, created_at FROM opt_outs WHERE tenant_id = %s "
        "ORDER BY created_at DESC, phone LIMIT %s OFFSET %s",
        (tenant_id, limit, offset),
    )
    return [OptOutRow.model_validate(r) for r in await cur.fetchall()]


async def get(conn: Conn, tenant_id: str, phone: str) -> OptOutRow | None:
    """The tenant's opt-out of `phone`, or None."""
    cur = await conn.execute(
        "SELECT phone, reason, source, created_at FROM opt_outs "
        "WHERE tenant_id = %s AND phone = %s",
        (tenant_id, phone),
    )
    row = await cur.fetchone()
    return None if row is None else OptOutRow.model_validate(row)


async def open_campaigns_calling(conn: Conn, tenant_id: str, phone: str) -> list[str]:
    """Ids of the tenant's unfinished campaigns with a contact that has `phone`."""
    cur = await conn.execute(
        # Not filtered on the contacts' state: the opt-out itself may have just made
        # them final, and their call may still be ringing.
        "SELECT DISTINCT c.campaign_id::text AS id FROM contacts c "
        "JOIN campaigns k ON k.id = c.campaign_id WHERE c.phones @> ARRAY[%s] "
        "AND k.tenant_id = %s AND k.status IN ('created', 'running', 'paused')",
        (phone, tenant_id),
    )
    return [r["id"] for r in await cur.fetchall()]
