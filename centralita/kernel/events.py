"""Domain events: what happened, recorded once, in the outbox webhooks deliver from.

Every event a tenant can subscribe to is written with `emit`, in the same transaction as
the change it reports, so an event is recorded exactly when its change is. The row's id
is stable (derived with `event_id` from what identifies the occurrence), so a retried
producer records nothing twice and a receiver deduplicates on the ``webhook-id``.
`envelope` is the body every delivery carries: ``{type, timestamp, data}``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

from psycopg.types.json import Jsonb

from centralita.kernel.db import Conn
from centralita.kernel.tracing_links import with_trace_context, without_trace_context

EventType = Literal[
    "call_started",
    "call_ended",
    "call_analyzed",
    "turn_completed",
    "interruption",
    "transfer_requested",
    "callback_scheduled",
    "promise_registered",
    "payment_link_requested",
    "message_status",
    "sentiment_alert",
    "opt_out",
    "error",
    "campaign_started",
    "campaign_completed",
]
EVENT_TYPES: Final[tuple[str, ...]] = get_args(EventType)
NOTIFY_CHANNEL: Final = "domain_events"


def event_id(*parts: object) -> str:
    """A stable id for one occurrence: the same parts always give the same id.

    >>> event_id("call_ended", "attempt-123") == event_id("call_ended", "attempt-123")
    True
    """
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return f"evt_{digest[:32]}"


def call_subject(call_key: str) -> str:
    """The ordering key of a call's events."""
    return f"call:{call_key}"


def campaign_subject(campaign_id: str) -> str:
    """The ordering key of a campaign's events."""
    return f"campaign:{campaign_id}"


async def emit(
    conn: Conn,
    *,
    event_id: str,
    tenant_id: str,
    type: EventType,
    data: dict[str, Any],
    call_id: str | None = None,
    campaign_id: str | None = None,
    subject: str | None = None,
    occurred_at: datetime | None = None,
) -> bool:
    """Record one event (once: False when ``event_id`` was already recorded).

    Call it inside the transaction that makes the change: the event commits with it.

    Raises:
        ValueError: an unknown event type.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}; known: {', '.join(EVENT_TYPES)}")
    cur = await conn.execute(
        "INSERT INTO domain_events "
        "(id, tenant_id, type, call_id, campaign_id, subject, payload, occurred_at) "
        "VALUES (%s, %s::uuid, %s, %s::uuid, %s::uuid, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
        (
            event_id,
            tenant_id,
            type,
            call_id,
            campaign_id,
            subject,
            # Under tracing, the producer's span travels with the row for the webhook
            # attempts to link to (`centralita.kernel.tracing_links`); `envelope` drops it.
            Jsonb(with_trace_context(data)),
            occurred_at or datetime.now(UTC),
        ),
    )
    if cur.rowcount > 0:
        await conn.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, type))
        return True
    return False


def envelope(type: str, occurred_at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The body of a delivery: ``{type, timestamp, data}`` (timestamp ISO 8601, UTC)."""
    return {
        "type": type,
        "timestamp": occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": without_trace_context(data),
    }
