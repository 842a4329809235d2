"""A page of the export: finished attempts and inbound calls, in (started_at, id) order.

A row is a finished call attempt (completed or error: answered or not) with the
conversation it held if any, or a stored call that has no attempt (an inbound call).
Soft-deleted calls are left out, as in the call log. Each page query is a UNION ALL of
the two kinds of row, each branch ordered on its own table's columns and limited, so
Postgres reads no more than a page from either; a cursor resumes strictly after the
last row of the previous page.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, Field

from centralita.analytics.cursor import Cursor
from centralita.analytics.store import fields
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool

Direction = Literal["inbound", "outbound"]

# Contact variables (CSV columns) that hold a national id or an email, by preference.
NATIONAL_ID_KEYS: Final = ("rut", "dni", "nie", "national_id", "documento", "cedula")
EMAIL_KEYS: Final = ("email", "correo", "mail", "e_mail")


class ExportFilter(BaseModel):
    """Which rows to export; None means any."""

    campaign_id: uuid.UUID | None = None
    started_from: datetime | None = Field(default=None, description="Inclusive.")
    started_before: datetime | None = Field(default=None, description="Exclusive.")
    outcome: CallOutcome | None = None
    direction: Direction | None = None


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


async def page_rows(
    pool: Pool,
    tenant_id: str,
    where: ExportFilter,
    *,
    limit: int,
    after: Cursor | None,
    personal_kinds: Sequence[str],
) -> list[dict[str, Any]]:
    """Up to `limit` rows after `after`, unmasked.

    Each row has the export's columns, plus `row_id` (the cursor's tie-breaker) and
    `personal`: the [kind, text] pairs of the analysis' entities of `personal_kinds`.
    """
    query = _page_query(where, after is not None)
    if query is None:
        return []
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
        "personal_kinds": list(personal_kinds),
    }
    async with pool.connection() as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchall()
