"""Read-only history for the API: a contact with every attempt and event, the call log.

Ids arrive from URLs, so each is parsed as a UUID here: a malformed id is simply "not
found", and the queries compare native uuid columns, which keeps their indexes usable.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Conn, Pool


class AttemptStatus(StrEnum):
    """Stored status of an attempt (the CHECK constraint of migration 0002)."""

    DIALING = "dialing"
    COMPLETED = "completed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    ERROR = "error"


class CallRow(BaseModel):
    """One call attempt as stored, dialled or not (skipped ones carry `skip_reason`)."""

    id: str
    attempt_key: str
    campaign_id: str
    contact_id: str
    attempt_number: int
    phone: str
    agent: str | None
    status: str
    outcome: str | None
    disconnection_reason: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    cost: float
    extracted: dict[str, Any]
    transcript: str | None
    skip_reason: str | None


class ContactEventRow(BaseModel):
    """One state change of a contact, with why."""

    at: datetime
    state: str
    reason: str
    attempt_key: str | None
    details: dict[str, Any]


class ContactDetail(BaseModel):
    """Everything the store holds about a contact."""

    id: str
    campaign_id: str
    position: int
    external_id: str | None
    name: str
    phones: list[str]
    phone_index: int
    timezone: str | None
    recipient_timezone: str | None
    segment: str | None
    variables: dict[str, Any]
    state: str
    state_reason: str | None
    outcome: str | None
    attempts_count: int
    last_phone_tried: str | None
    next_attempt_at: datetime | None
    callback_at: datetime | None
    admitted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ContactHistory(ContactDetail):
    """A contact with its full attempt history and its state changes, both oldest first."""

    attempts: list[CallRow]
    events: list[ContactEventRow]


class CallFilter(BaseModel):
    """Which attempts `list_calls` returns; None means "any"."""

    campaign_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    outcome: CallOutcome | None = None
    status: AttemptStatus | None = None
    started_from: datetime | None = None
    """Inclusive lower bound on `started_at`."""
    started_before: datetime | None = None
    """Exclusive upper bound on `started_at`."""


_CALL_COLUMNS = (
    "id::text AS id, attempt_key, campaign_id::text AS campaign_id, "
    "contact_id::text AS contact_id, attempt_number, phone, agent, status, outcome, "
    "disconnection_reason, started_at, answered_at, ended_at, duration_s, "
    "cost::float8 AS cost, extracted, transcript, skip_reason"
)
_CONTACT_COLUMNS = (
    "id::text AS id, campaign_id::text AS campaign_id, position, external_id, name, phones, "
    "phone_index, timezone, recipient_timezone, segment, variables, state, state_reason, "
    "outcome, attempts_count, last_phone_tried, next_attempt_at, callback_at, admitted_at, "
    "created_at, updated_at"
)


def parse_uuid(value: str) -> uuid.UUID | None:
    """`value` as a UUID, or None when it is not one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def contact_history(pool: Pool, tenant_id: str, contact_id: str) -> ContactHistory | None:
    """The contact with its attempts and events, or None if the tenant has no such contact.

    The three reads share one REPEATABLE READ snapshot, so `attempts_count` and the
    state agree with the attempts and events listed even while the campaign runs.
    """
    key = parse_uuid(contact_id)
    if key is None:
        return None
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        contact = await get_contact(conn, tenant_id, key)
        if contact is None:
            return None
        return ContactHistory(
            **contact.model_dump(),
            attempts=await contact_attempts(conn, key),
            events=await contact_events(conn, key),
        )


async def get_contact(conn: Conn, tenant_id: str, contact_id: uuid.UUID) -> ContactDetail | None:
    """One contact of the tenant, or None."""
    cur = await conn.execute(
        f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE id = %s AND tenant_id = %s",
        (contact_id, tenant_id),
    )
    row = await cur.fetchone()
    return None if row is None else ContactDetail.model_validate(row)


async def contact_attempts(conn: Conn, contact_id: uuid.UUID) -> list[CallRow]:
    """Every attempt of a contact, skipped and cancelled ones included, oldest first."""
    cur = await conn.execute(
        f"SELECT {_CALL_COLUMNS} FROM call_attempts WHERE contact_id = %s "
        "ORDER BY attempt_number, started_at",
        (contact_id,),
    )
    return [CallRow.model_validate(r) for r in await cur.fetchall()]


async def contact_events(conn: Conn, contact_id: uuid.UUID) -> list[ContactEventRow]:
    """A contact's state changes in the order they happened (write order breaks ties)."""
    cur = await conn.execute(
        "SELECT at, state, reason, attempt_key, details FROM contact_events "
        "WHERE contact_id = %s ORDER BY at, id",
        (contact_id,),
    )
    return [ContactEventRow.model_validate(r) for r in await cur.fetchall()]


async def list_calls(
    pool: Pool, tenant_id: str, where: CallFilter, *, limit: int, offset: int
) -> list[CallRow]:
    """Attempts matching `where`, newest first.

    Ties on `started_at` are broken by id so that pages never overlap or skip a row.
    """
    clauses, params = _call_conditions(tenant_id, where)
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_CALL_COLUMNS} FROM call_attempts WHERE {' AND '.join(clauses)} "
            "ORDER BY started_at DESC, id DESC LIMIT %s OFFSET %s",
            (*params, limit, offset),
        )
        return [CallRow.model_validate(r) for r in await cur.fetchall()]


def _call_conditions(tenant_id: str, where: CallFilter) -> tuple[list[str], list[Any]]:
    # Column names are constants chosen here; every value is a bound parameter.
    # An attempt whose call was soft-deleted leaves the log with it (DELETE /calls/{id}).
    clauses: list[str] = [
        "tenant_id = %s",
        "NOT EXISTS (SELECT 1 FROM calls c WHERE c.attempt_id = call_attempts.id "
        "AND c.deleted_at IS NOT NULL)",
    ]
    params: list[Any] = [tenant_id]
    equal: list[tuple[str, Any]] = [
        ("campaign_id", where.campaign_id),
        ("contact_id", where.contact_id),
        ("outcome", where.outcome.value if where.outcome else None),
        ("status", where.status.value if where.status else None),
    ]
    for column, value in equal:
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    if where.started_from is not None:
        clauses.append("started_at >= %s")
        params.append(where.started_from)
    if where.started_before is not None:
        clauses.append("started_at < %s")
        params.append(where.started_before)
    return clauses, params
