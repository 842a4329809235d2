"""Calls and their results for export, read in keyset pages, personal fields masked.

A row is a finished call attempt (completed or error: answered or not, so no-answers
are in the export too) with the conversation it held if any, or a stored call that has
no attempt (an inbound call). Rows come in (started_at, id) order, read one page at a
time: a long export never holds more than a page, and a cursor resumes after the last
row of the previous page without offsets (rows added meanwhile are neither skipped nor
repeated). Soft-deleted calls are left out, as in the call log.

Each page query is a UNION ALL of the two kinds of row, each branch ordered on its own
table's columns and limited, so Postgres reads no more than a page from either.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, Field

from centralita.analytics import fields
from centralita.analytics.cursor import Cursor
from centralita.analytics.masking import (
    mask_email,
    mask_identifier,
    mask_name,
    mask_national_id,
    mask_phone,
    mask_text,
)
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool

Direction = Literal["inbound", "outbound"]

# Contact variables (CSV columns) that hold a national id or an email, by preference.
NATIONAL_ID_KEYS: Final = ("rut", "dni", "nie", "national_id", "documento", "cedula")
EMAIL_KEYS: Final = ("email", "correo", "mail", "e_mail")
# Entity kinds of the post-call analysis that are personal, and how summaries name them.
_PERSONAL_ENTITIES: Final = {
    "rut": "id",
    "dni": "id",
    "nie": "id",
    "phone": "phone",
    "email": "email",
}


class ExportFilter(BaseModel):
    """Which rows to export; None means any."""

    campaign_id: uuid.UUID | None = None
    started_from: datetime | None = Field(default=None, description="Inclusive.")
    started_before: datetime | None = Field(default=None, description="Exclusive.")
    outcome: CallOutcome | None = None
    direction: Direction | None = None


class ExportRow(BaseModel):
    """One call with its results. Personal fields are masked unless asked otherwise."""

    call_id: str | None = Field(description="The stored conversation; null: none was held.")
    attempt_id: str | None
    attempt_key: str | None
    campaign_id: str | None
    contact_id: str | None
    contact_external_id: str | None
    contact_name: str | None
    phone: str | None = Field(description="The other party's number.")
    national_id: str | None = Field(description="From the contact's variables (rut, dni...).")
    email: str | None = Field(description="From the contact's variables (email, correo...).")
    direction: Direction
    status: str = Field(description="Attempt status, or an inbound call's status.")
    outcome: str | None
    answered: bool
    disconnection_reason: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    cost: float
    promised_amount: float | None
    promised_currency: str | None
    promised_date: date | None
    intent: str | None
    sentiment_trend: str | None
    avg_sentiment: float | None
    turns: int
    summary: str | None


class ExportPage(BaseModel):
    """A page of rows and the cursor of the next one."""

    items: list[ExportRow]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done.")


_COLUMNS = f"""
    coalesce(a.id, c.id) AS row_id, coalesce(a.started_at, c.started_at) AS started_at,
    c.id::text AS call_id, a.id::text AS attempt_id, a.attempt_key,
    a.campaign_id::text AS campaign_id, a.contact_id::text AS contact_id,
    ct.external_id AS contact_external_id, ct.name AS contact_name,
    coalesce(a.phone, CASE WHEN c.direction = 'inbound' THEN c.from_number
                           ELSE c.to_number END) AS phone,
    (SELECT v.value FROM jsonb_each_text(ct.variables) v
     WHERE lower(v.key) = ANY(%(id_keys)s::text[])
     ORDER BY array_position(%(id_keys)s::text[], lower(v.key)) LIMIT 1) AS national_id,
    (SELECT v.value FROM jsonb_each_text(ct.variables) v
     WHERE lower(v.key) = ANY(%(email_keys)s::text[])
     ORDER BY array_position(%(email_keys)s::text[], lower(v.key)) LIMIT 1) AS email,
    coalesce(c.direction, 'outbound') AS direction, coalesce(a.status, c.status) AS status,
    {fields.OUTCOME} AS outcome, {fields.ANSWERED} AS answered,
    coalesce(a.disconnection_reason, c.disconnection_reason) AS disconnection_reason,
    coalesce(a.answered_at, c.answered_at) AS answered_at,
    coalesce(a.ended_at, c.ended_at) AS ended_at,
    coalesce(a.duration_s, c.duration_s) AS duration_s,
    coalesce(a.cost, c.cost)::float8 AS cost,
    {fields.PROMISED_AMOUNT}::float8 AS promised_amount,
    {fields.PROMISED_CURRENCY} AS promised_currency,
    {fields.PROMISED_DATE} AS promised_date,
    an.intent, an.sentiment_trend, an.summary,
    coalesce(t.turns, 0) AS turns, t.avg_sentiment,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(e->>'kind', e->>'text')), '[]'::jsonb)
     FROM jsonb_array_elements(coalesce(an.analysis->'entities', '[]'::jsonb)) e
     WHERE e->>'kind' = ANY(%(personal_kinds)s::text[])) AS personal
"""
_JOINS = """
    LEFT JOIN contacts ct ON ct.id = a.contact_id
    LEFT JOIN call_analyses an ON an.call_id = c.id
    LEFT JOIN LATERAL (
        SELECT count(*) AS turns, avg(sentiment)::float8 AS avg_sentiment
        FROM call_turns WHERE call_id = c.id
    ) t ON c.id IS NOT NULL
"""


def _branch(kind: Literal["attempts", "calls"], where: ExportFilter, after: bool) -> str | None:
    """One side of the page query, or None when the filter rules that side out."""
    if kind == "attempts":
        if where.direction == "inbound":
            return None
        table, source = "a", "call_attempts a LEFT JOIN calls c ON c.attempt_id = a.id"
        clauses = ["a.tenant_id = %(tenant)s", "a.status IN ('completed', 'error')"]
        if where.campaign_id is not None:
            clauses.append("a.campaign_id = %(campaign)s")
    else:
        if where.campaign_id is not None:
            return None  # only attempts belong to campaigns
        table, source = "c", "calls c LEFT JOIN call_attempts a ON a.id = c.attempt_id"
        clauses = ["c.tenant_id = %(tenant)s", "c.attempt_id IS NULL"]
    clauses.append("c.deleted_at IS NULL")
    if where.direction is not None:
        clauses.append("coalesce(c.direction, 'outbound') = %(direction)s")
    if where.outcome is not None:
        clauses.append(f"{fields.OUTCOME} = %(outcome)s")
    if where.started_from is not None:
        clauses.append(f"{table}.started_at >= %(started_from)s")
    if where.started_before is not None:
        clauses.append(f"{table}.started_at < %(started_before)s")
    if after:
        clauses.append(f"({table}.started_at, {table}.id) > (%(after_at)s, %(after_id)s)")
    return (
        f"(SELECT {_COLUMNS} FROM {source} {_JOINS} WHERE {' AND '.join(clauses)} "
        f"ORDER BY {table}.started_at, {table}.id LIMIT %(limit)s)"
    )


def _page_query(where: ExportFilter, after: bool) -> str | None:
    kinds: tuple[Literal["attempts", "calls"], ...] = ("attempts", "calls")
    branches = [b for k in kinds if (b := _branch(k, where, after)) is not None]
    if not branches:
        return None
    return (
        f"SELECT * FROM ({' UNION ALL '.join(branches)}) u "
        "ORDER BY started_at, row_id LIMIT %(limit)s"
    )


async def export_page(
    pool: Pool,
    tenant_id: str,
    where: ExportFilter,
    *,
    limit: int,
    after: Cursor | None = None,
    unmask: bool = False,
) -> ExportPage:
    """Up to `limit` rows after `after`, and the cursor of the next page (None: last)."""
    query = _page_query(where, after is not None)
    if query is None:
        return ExportPage(items=[], next_cursor=None)
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "campaign": where.campaign_id,
        "direction": where.direction,
        "outcome": where.outcome.value if where.outcome else None,
        "started_from": where.started_from,
        "started_before": where.started_before,
        "after_at": after.started_at if after else None,
        "after_id": after.id if after else None,
        "limit": limit,
        "id_keys": list(NATIONAL_ID_KEYS),
        "email_keys": list(EMAIL_KEYS),
        "personal_kinds": list(_PERSONAL_ENTITIES),
    }
    async with pool.connection() as conn:
        cur = await conn.execute(query, params)
        rows = await cur.fetchall()
    items = [_row(r, unmask) for r in rows]
    last = rows[-1] if len(rows) == limit else None
    next_cursor = Cursor(last["started_at"], last["row_id"]).encode() if last else None
    return ExportPage(items=items, next_cursor=next_cursor)


async def export_pages(
    pool: Pool, tenant_id: str, where: ExportFilter, *, unmask: bool = False, page_size: int = 500
) -> AsyncIterator[list[ExportRow]]:
    """Every matching row, a page at a time (each page its own short query)."""
    after: Cursor | None = None
    while True:
        page = await export_page(
            pool, tenant_id, where, limit=page_size, after=after, unmask=unmask
        )
        if page.items:
            yield page.items
        if page.next_cursor is None:
            return
        after = Cursor.decode(page.next_cursor)


def _row(row: dict[str, Any], unmask: bool) -> ExportRow:
    fields_ = {k: v for k, v in row.items() if k not in ("row_id", "personal")}
    fields_["promised_date"] = _iso_date(row["promised_date"])
    if not unmask:
        fields_.update(_masked(row))
    return ExportRow.model_validate(fields_)


# Personal values of the row itself that may be quoted in its summary.
_KNOWN_FIELDS: Final = (
    ("name", "contact_name"),
    ("phone", "phone"),
    ("id", "national_id"),
    ("email", "email"),
)


def _masked(row: dict[str, Any]) -> dict[str, Any]:
    """The personal fields of `row`, masked (free text by what is known to be personal)."""
    known = [(_PERSONAL_ENTITIES[kind], text) for kind, text in row["personal"] if text]
    for kind, key in _KNOWN_FIELDS:
        if row[key]:
            known.append((kind, row[key]))
    return {
        "contact_name": mask_name(row["contact_name"]) if row["contact_name"] else None,
        "phone": mask_phone(row["phone"]) if row["phone"] else None,
        "national_id": mask_national_id(row["national_id"]) if row["national_id"] else None,
        "email": mask_email(row["email"]) if row["email"] else None,
        "contact_external_id": (
            mask_identifier(row["contact_external_id"]) if row["contact_external_id"] else None
        ),
        "summary": mask_text(row["summary"], known) if row["summary"] else None,
    }


def _iso_date(value: str | None) -> date | None:
    # Extracted by the analysis or the agent's tool; a malformed one is no date.
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
