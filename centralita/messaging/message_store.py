"""Messages sent and the statuses reported for them, in Postgres (`whatsapp_messages`,
`whatsapp_message_statuses`, migration 0021).

A status a provider reports for the first time is stored in the message's history and
recorded as a `message_status` event in the outbox, in the same transaction
(`centralita.kernel.events.emit`), so a tenant's CRM hears of it exactly when it is
stored. A repeated report (a retried callback) changes nothing and records nothing. The
message's `status` only moves forward (`status_reports.advances`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from centralita.kernel.db import Conn
from centralita.kernel.events import call_subject, emit, event_id
from centralita.kernel.ids import is_uuid
from centralita.messaging.models import Message, MessagePage, StatusChange
from centralita.messaging.status_reports import StatusReport, advances


@dataclass(frozen=True)
class NewMessage:
    """A message the provider took, to be recorded."""

    tenant_id: str
    sender_id: str
    provider: str
    provider_message_id: str
    contact_phone: str
    body: str
    status: str
    call_key: str | None = None
    link_id: str | None = None
    link_url: str | None = None


@dataclass(frozen=True)
class Applied:
    """What a status report did: `new` (first report of that status: an event was
    recorded) and the message's status after it."""

    message_id: str
    new: bool
    status: str


_MESSAGE: Final = (
    "SELECT m.id::text AS id, m.sender_id::text AS sender_id, m.provider, "
    "m.provider_message_id, m.call_key, m.contact_phone, m.purpose, m.link_id, m.link_url, "
    "m.body, m.status, m.error_code, m.error_message, m.created_at, m.updated_at, "
    "COALESCE((SELECT jsonb_agg(jsonb_build_object('status', s.status, 'error_code', "
    "s.error_code, 'error_message', s.error_message, 'occurred_at', s.occurred_at, "
    "'received_at', s.received_at) ORDER BY s.occurred_at, s.received_at) "
    "FROM whatsapp_message_statuses s WHERE s.message_id = m.id), '[]') AS statuses "
    "FROM whatsapp_messages m"
)


async def record_sent(conn: Conn, message: NewMessage) -> str:
    """Store a message the provider took, with its first status; its id."""
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO whatsapp_messages (tenant_id, sender_id, provider, "
            "provider_message_id, call_key, contact_phone, link_id, link_url, body, status) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (provider, provider_message_id) DO UPDATE SET updated_at = now() "
            "RETURNING id::text AS id",
            (
                message.tenant_id,
                message.sender_id,
                message.provider,
                message.provider_message_id,
                message.call_key,
                message.contact_phone,
                message.link_id,
                message.link_url,
                message.body,
                message.status,
            ),
        )
        row = await cur.fetchone()
        assert row is not None
        await conn.execute(
            "INSERT INTO whatsapp_message_statuses (message_id, status, occurred_at) "
            "VALUES (%s, %s, now()) ON CONFLICT DO NOTHING",
            (row["id"], message.status),
        )
    return str(row["id"])


async def apply_report(
    conn: Conn, *, tenant_id: str, sender_id: str, report: StatusReport
) -> Applied | None:
    """Store a reported status of one of the sender's messages, and its event.

    Returns:
        What it did; None when the sender sent no message of that id (a message sent
        outside Centralita: acknowledged, not stored).
    """
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT id::text AS id, provider, provider_message_id, call_key, contact_phone, "
            "purpose, link_id, status FROM whatsapp_messages WHERE tenant_id = %s::uuid "
            "AND sender_id = %s::uuid AND provider_message_id = %s FOR UPDATE",
            (tenant_id, sender_id, report.provider_message_id),
        )
        message = await cur.fetchone()
        if message is None:
            return None
        cur = await conn.execute(
            "INSERT INTO whatsapp_message_statuses (message_id, status, error_code, "
            "error_message, occurred_at) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (
                message["id"],
                report.status,
                report.error_code,
                report.error_message,
                report.occurred_at,
            ),
        )
        if cur.rowcount == 0:
            return Applied(message["id"], new=False, status=message["status"])
        status = message["status"]
        if advances(status, report.status):
            status = report.status
            await conn.execute(
                "UPDATE whatsapp_messages SET status = %s, error_code = COALESCE(%s, "
                "error_code), error_message = COALESCE(%s, error_message), updated_at = now() "
                "WHERE id = %s",
                (status, report.error_code, report.error_message, message["id"]),
            )
        await _emit_status(conn, tenant_id, message, report, status)
    return Applied(message["id"], new=True, status=status)


async def _emit_status(
    conn: Conn, tenant_id: str, message: dict[str, Any], report: StatusReport, current: str
) -> None:
    call_key = message["call_key"]
    await emit(
        conn,
        event_id=event_id("message_status", message["id"], report.status),
        tenant_id=tenant_id,
        type="message_status",
        data={
            "message_id": message["id"],
            "channel": "whatsapp",
            "provider": message["provider"],
            "provider_message_id": message["provider_message_id"],
            "purpose": message["purpose"],
            "link_id": message["link_id"],
            "call_key": call_key,
            "phone": message["contact_phone"],
            "status": report.status,
            "current_status": current,
            "error_code": report.error_code,
            "error_message": report.error_message,
        },
        subject=call_subject(call_key) if call_key else f"message:{message['id']}",
        occurred_at=report.occurred_at,
    )


async def list_messages(
    conn: Conn, tenant_id: str, *, call_key: str | None, limit: int, offset: int
) -> MessagePage:
    """The tenant's messages (of one call when `call_key` is given), newest first."""
    where = (
        "WHERE m.tenant_id = %(tenant)s::uuid AND (%(call)s::text IS NULL OR m.call_key = %(call)s)"
    )
    params = {"tenant": tenant_id, "call": call_key, "limit": limit, "offset": offset}
    cur = await conn.execute(
        f"{_MESSAGE} {where} ORDER BY m.created_at DESC, m.id LIMIT %(limit)s OFFSET %(offset)s",
        params,
    )
    items = [_message(row) for row in await cur.fetchall()]
    cur = await conn.execute(
        f"SELECT count(*)::int AS total FROM whatsapp_messages m {where}", params
    )
    total = await cur.fetchone()
    return MessagePage(total=total["total"] if total else 0, items=items)


async def get_message(conn: Conn, tenant_id: str, message_id: str) -> Message | None:
    """One of the tenant's messages; None when it has none of that id."""
    if not is_uuid(message_id):
        return None
    cur = await conn.execute(
        f"{_MESSAGE} WHERE m.id = %s::uuid AND m.tenant_id = %s::uuid", (message_id, tenant_id)
    )
    row = await cur.fetchone()
    return _message(row) if row is not None else None


def _message(row: dict[str, Any]) -> Message:
    statuses = [StatusChange.model_validate(s) for s in row["statuses"]]
    return Message(**{**row, "statuses": statuses})
