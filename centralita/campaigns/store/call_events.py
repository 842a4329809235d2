"""A call's promise or callback, as webhook events, when no live event reported it.

The media worker records `promise_registered` and `callback_scheduled` the moment an
in-call tool succeeds (`realtime/store/call_events.py`). Some arrive another way: a
carrier reports the outcome of a call held elsewhere (no conversation here, no tool),
or the post-call analysis hears a promise the flow never registered. Those producers
call these functions inside their own transaction: the event is recorded once per call
(its id is the call key's), and only when the stored call's log holds no successful
tool call that already reported it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from centralita.kernel.call_events import CallEventType
from centralita.kernel.db import Conn
from centralita.kernel.events import EventType, call_subject, emit, event_id


@dataclass(frozen=True)
class CallLinks:
    """Where a call belongs: its stored row (if stored), its campaign and contact."""

    call_key: str
    tenant_id: str
    call_id: str | None = None
    campaign_id: str | None = None
    contact_id: str | None = None

    def base(self) -> dict[str, Any]:
        """The fields every call event's data starts with."""
        return {
            "call_key": self.call_key,
            "call_id": self.call_id,
            "campaign_id": self.campaign_id,
            "contact_id": self.contact_id,
        }


async def links_of_attempt(conn: Conn, attempt_key: str) -> CallLinks | None:
    """The links of an outbound call by its attempt key (None: no such attempt)."""
    cur = await conn.execute(
        "SELECT a.tenant_id::text AS tenant_id, a.campaign_id::text AS campaign_id, "
        "a.contact_id::text AS contact_id, c.id::text AS call_id "
        "FROM call_attempts a LEFT JOIN calls c ON c.attempt_id = a.id "
        "WHERE a.attempt_key = %s",
        (attempt_key,),
    )
    row = await cur.fetchone()
    return None if row is None else CallLinks(call_key=attempt_key, **row)


async def links_of_call(conn: Conn, call_id: str, call_key: str, tenant_id: str) -> CallLinks:
    """The links of a stored call (an inbound call has no campaign or contact)."""
    cur = await conn.execute(
        "SELECT a.campaign_id::text AS campaign_id, a.contact_id::text AS contact_id "
        "FROM calls c LEFT JOIN call_attempts a ON a.id = c.attempt_id WHERE c.id = %s::uuid",
        (call_id,),
    )
    row = await cur.fetchone() or {}
    return CallLinks(
        call_key=call_key,
        tenant_id=tenant_id,
        call_id=call_id,
        campaign_id=row.get("campaign_id"),
        contact_id=row.get("contact_id"),
    )


async def tool_reported(conn: Conn, call_id: str | None, tool: str) -> bool:
    """Whether the stored call's log has a successful call of `tool` (live already told)."""
    if call_id is None:
        return False
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM call_events WHERE call_id = %s::uuid "
        "AND type = %s AND payload->>'name' = %s "
        "AND payload->'success' = 'true'::jsonb) AS reported",
        (call_id, CallEventType.TOOL_CALL.value, tool),
    )
    row = await cur.fetchone()
    return bool(row and row["reported"])


async def record_promise(
    conn: Conn,
    links: CallLinks,
    *,
    amount: Any,
    currency: str | None,
    pay_date: str | None,
    source: str,
    occurred_at: datetime | None = None,
) -> bool:
    """`promise_registered` for a promise no tool reported (False: told already)."""
    data = {"amount": amount, "currency": currency, "pay_date": pay_date, "source": source}
    return await _record_unreported(
        conn, links, "promise_registered", "register_promise", data, occurred_at
    )


async def record_callback(
    conn: Conn,
    links: CallLinks,
    *,
    callback_at: datetime,
    next_attempt_at: datetime | None,
    reason: str | None,
    source: str,
    occurred_at: datetime | None = None,
) -> bool:
    """`callback_scheduled` for a callback no tool reported (False: told already)."""
    data = {
        "callback_at": callback_at.isoformat(),
        "reason": reason,
        "next_attempt_at": next_attempt_at.isoformat() if next_attempt_at else None,
        "source": source,
    }
    return await _record_unreported(
        conn, links, "callback_scheduled", "schedule_callback", data, occurred_at
    )


async def _record_unreported(
    conn: Conn,
    links: CallLinks,
    type_: EventType,
    tool: str,
    data: dict[str, Any],
    occurred_at: datetime | None,
) -> bool:
    """Record `type_` once per call unless the in-call `tool` already reported it."""
    if await tool_reported(conn, links.call_id, tool):
        return False
    return await emit(
        conn,
        event_id=event_id(type_, links.call_key),
        tenant_id=links.tenant_id,
        type=type_,
        data=links.base() | data,
        call_id=links.call_id,
        subject=call_subject(links.call_key),
        occurred_at=occurred_at,
    )
