"""Contact state transitions, each written with an event that explains it.

Every function takes an open connection so callers group a transition with the
writes it belongs to in one transaction. Events carry a natural key: a retried
activity writes the same event once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from centralita.kernel.calls import CallOutcome, ContactState
from centralita.kernel.db import Conn
from centralita.kernel.privacy import mask_phone


async def record_event(
    conn: Conn,
    *,
    event_key: str,
    contact_id: str,
    at: datetime,
    state: ContactState,
    reason: str,
    attempt_key: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append a contact event (once per `event_key`)."""
    await conn.execute(
        "INSERT INTO contact_events (event_key, contact_id, campaign_id, at, state, reason, "
        "attempt_key, details) SELECT %s, id, campaign_id, %s, %s, %s, %s, %s FROM contacts "
        "WHERE id = %s::uuid ON CONFLICT (event_key) DO NOTHING",
        (event_key, at, state.value, reason, attempt_key, Jsonb(details or {}), contact_id),
    )


async def reschedule(
    conn: Conn,
    *,
    contact_id: str,
    at: datetime,
    not_before: datetime,
    reason: str,
    event_key: str,
    phone_index: int | None = None,
    callback_at: datetime | None = None,
    outcome: CallOutcome | None = None,
) -> None:
    """Set the contact to be called again no earlier than `not_before`."""
    await conn.execute(
        "UPDATE contacts SET state = 'retry_scheduled', next_attempt_at = %s, state_reason = %s, "
        "phone_index = coalesce(%s, phone_index), callback_at = %s, "
        "outcome = coalesce(%s, outcome), updated_at = now() WHERE id = %s::uuid",
        (
            not_before,
            reason,
            phone_index,
            callback_at,
            outcome.value if outcome else None,
            contact_id,
        ),
    )
    await record_event(
        conn,
        event_key=event_key,
        contact_id=contact_id,
        at=at,
        state=ContactState.RETRY_SCHEDULED,
        reason=reason,
        details={"not_before": not_before.isoformat()},
    )


async def finish(
    conn: Conn,
    *,
    contact_id: str,
    at: datetime,
    state: ContactState,
    reason: str,
    event_key: str,
    outcome: CallOutcome | None = None,
    attempt_key: str | None = None,
) -> None:
    """Put the contact in a final state: nobody calls it again in this campaign."""
    await conn.execute(
        "UPDATE contacts SET state = %s, state_reason = %s, next_attempt_at = NULL, "
        "outcome = coalesce(%s, outcome), updated_at = now() WHERE id = %s::uuid",
        (state.value, reason, outcome.value if outcome else None, contact_id),
    )
    await record_event(
        conn,
        event_key=event_key,
        contact_id=contact_id,
        at=at,
        state=state,
        reason=reason,
        attempt_key=attempt_key,
    )


async def mark_dialing(
    conn: Conn, *, contact_id: str, at: datetime, phone: str, attempt_key: str
) -> None:
    """The contact is on the phone now."""
    await conn.execute(
        "UPDATE contacts SET state = 'in_progress', last_phone_tried = %s, next_attempt_at = NULL, "
        "state_reason = 'dialing', attempts_count = (SELECT count(*) FROM call_attempts a "
        "WHERE a.contact_id = contacts.id AND a.status <> 'skipped'), updated_at = now() "
        "WHERE id = %s::uuid",
        (phone, contact_id),
    )
    await record_event(
        conn,
        event_key=f"{attempt_key}:dialing",
        contact_id=contact_id,
        at=at,
        state=ContactState.IN_PROGRESS,
        reason=f"attempt to {mask_phone(phone)}",
        attempt_key=attempt_key,
    )


async def admit(conn: Conn, *, contact_id: str, at: datetime) -> None:
    """The contact is dialled for the first time: it counts against `at`'s daily quota."""
    await conn.execute("UPDATE contacts SET admitted_at = %s WHERE id = %s::uuid", (at, contact_id))


async def set_phone_index(conn: Conn, *, contact_id: str, phone_index: int) -> None:
    """Which of the contact's phones is tried next."""
    await conn.execute(
        "UPDATE contacts SET phone_index = %s WHERE id = %s::uuid", (phone_index, contact_id)
    )
