"""The tenant's active lexicon: list it, add entries by hand, switch one off."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field

from api.auth import TenantId
from api.deps import Services
from api.limits import PageOffset
from centralita.correction import store as lexicon_store
from centralita.correction.lexicon import LexiconEntry, LexiconKind

router = APIRouter(prefix="/lexicon", tags=["lexicon"])


class LexiconRow(BaseModel):
    """One active searchable form (an entry's text, an alias, or a pair's wrong form)."""

    id: int
    kind: LexiconKind
    text: str
    wrong: str | None
    language: str
    source: str
    created_at: datetime


class LexiconPage(BaseModel):
    """One page of active rows and how many there are in all."""

    total: int
    items: list[LexiconRow]


class NewEntry(BaseModel):
    """An entry added by hand (`LexiconEntry` validates it: a pair needs its wrong form)."""

    kind: LexiconKind
    text: str = Field(min_length=1, max_length=200)
    wrong: str | None = Field(default=None, max_length=200)
    aliases: list[str] = Field(default_factory=list, max_length=20)
    language: str = "es"


@router.get("")
async def list_lexicon(
    services: Services,
    tenant: TenantId,
    kind: LexiconKind | None = None,
    language: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: PageOffset = 0,
) -> LexiconPage:
    """The tenant's active rows, oldest first."""
    async with services.pool.connection() as conn:
        total, rows = await lexicon_store.active_rows(
            conn, tenant, kind=kind, language=language, limit=limit, offset=offset
        )
    return LexiconPage(total=total, items=[LexiconRow(**r) for r in rows])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "an invalid entry (nothing is written)"}},
)
async def add_entries(
    entries: list[NewEntry], services: Services, tenant: TenantId
) -> list[LexiconRow]:
    """Add (or reactivate) entries, all or none; returns the rows they wrote."""
    try:
        valid = [
            LexiconEntry(
                kind=e.kind,
                text=" ".join(e.text.split()),
                wrong=e.wrong,
                aliases=tuple(e.aliases),
                language=e.language,
                source="manual",
            )
            for e in entries
        ]
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    await lexicon_store.upsert_entries(services.pool, tenant, valid)
    rows: list[LexiconRow] = []
    async with services.pool.connection() as conn:
        for entry in valid:
            for form in entry.forms():
                row = await lexicon_store.form_row(conn, tenant, form)
                if row is not None:
                    rows.append(LexiconRow(**row))
    return rows


@router.delete(
    "/{entry_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "no such row"}},
)
async def deactivate(entry_id: int, services: Services, tenant: TenantId) -> Response:
    """Switch a row off (kept, so approving or adding it again turns it back on)."""
    async with services.pool.connection() as conn:
        found = await lexicon_store.deactivate_row(conn, tenant, entry_id)
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"lexicon row {entry_id} not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
