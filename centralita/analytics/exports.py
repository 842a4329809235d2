"""Calls and their results for export, read in keyset pages, personal fields masked.

A row is a finished call attempt (completed or error: answered or not, so no-answers
are in the export too) with the conversation it held if any, or a stored call that has
no attempt (an inbound call). Rows come in (started_at, id) order, read one page at a
time: a long export never holds more than a page, and a cursor resumes after the last
row of the previous page without offsets (rows added meanwhile are neither skipped nor
repeated). Soft-deleted calls are left out, as in the call log. The page query, and the
filter it takes (`ExportFilter`), are `store/exports.py`; masking is done here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any, Final

from pydantic import BaseModel, Field

from centralita.analytics.cursor import Cursor
from centralita.analytics.masking import (
    mask_email,
    mask_identifier,
    mask_name,
    mask_national_id,
    mask_phone,
    mask_text,
)
from centralita.analytics.store import exports as store
from centralita.analytics.store.exports import Direction, ExportFilter
from centralita.kernel.db import Pool

__all__ = [
    "Direction",
    "ExportFilter",
    "ExportPage",
    "ExportRow",
    "export_page",
    "export_pages",
]

# Entity kinds of the post-call analysis that are personal, and how summaries name them.
_PERSONAL_ENTITIES: Final = {
    "rut": "id",
    "dni": "id",
    "nie": "id",
    "phone": "phone",
    "email": "email",
}


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
    rows = await store.page_rows(
        pool, tenant_id, where, limit=limit, after=after, personal_kinds=list(_PERSONAL_ENTITIES)
    )
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
