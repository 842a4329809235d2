"""Export of calls and their results: CSV (streamed, the whole filtered set) or JSON
(keyset pages). Personal fields are masked unless `unmask=true` is asked for.

Two endpoints rather than a `format` parameter: each has its own media type and
response schema in the OpenAPI document, and `calls.csv` is a plain link to download.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import StreamingResponse

from api.auth import LinkTenantId, TenantId
from api.deps import Services
from api.routes.calls import query_bound
from centralita.analytics.cursor import BadCursorError, Cursor
from centralita.analytics.export_csv import csv_chunks
from centralita.analytics.exports import (
    Direction,
    ExportFilter,
    ExportPage,
    export_page,
    export_pages,
)
from centralita.kernel.calls import CallOutcome

router = APIRouter(prefix="/exports", tags=["exports"])

_BOUND_HELP = (
    "ISO date (a UTC day) or datetime; a datetime without offset is taken as UTC. "
    "Encode a `+` offset as %2B, or use `Z`."
)
_UNMASK_HELP = (
    "true: phone numbers, names, national ids, emails and the summary as stored. "
    "Default false: masked (initials, last digits, [kind] in the summary). Ask for it "
    "only where the reader may see personal data."
)
_ERRORS: dict[int | str, dict[str, Any]] = {422: {"description": "bad filter or cursor"}}

CampaignId = Annotated[uuid.UUID | None, Query(description="Only this campaign's calls.")]
DateFrom = Annotated[str | None, Query(description=f"Inclusive. {_BOUND_HELP}")]
DateTo = Annotated[
    str | None, Query(description=f"Inclusive (a date covers its whole day). {_BOUND_HELP}")
]
Outcome = Annotated[CallOutcome | None, Query(description="Only calls with this outcome.")]
DirectionQuery = Annotated[Direction | None, Query(description="inbound or outbound.")]
Unmask = Annotated[bool, Query(description=_UNMASK_HELP)]


def _filter(
    campaign_id: uuid.UUID | None,
    date_from: str | None,
    date_to: str | None,
    outcome: CallOutcome | None,
    direction: Direction | None,
) -> ExportFilter:
    where = ExportFilter(
        campaign_id=campaign_id,
        started_from=query_bound("date_from", date_from, end=False),
        started_before=query_bound("date_to", date_to, end=True),
        outcome=outcome,
        direction=direction,
    )
    if where.started_from and where.started_before and where.started_from >= where.started_before:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="date_from is after date_to"
        )
    return where


@router.get(
    "/calls.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "every matching call, oldest first"},
        **_ERRORS,
    },
)
async def export_calls_csv(
    services: Services,
    tenant: LinkTenantId,
    campaign_id: CampaignId = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    outcome: Outcome = None,
    direction: DirectionQuery = None,
    unmask: Unmask = False,
) -> StreamingResponse:
    """Every matching call with its results as CSV (columns as in `calls.json` items),
    oldest first, streamed a page at a time: any size, never held whole in memory.

    A plain download link cannot send headers: the key may come as `?access_token=`.
    """
    where = _filter(campaign_id, date_from, date_to, outcome, direction)
    pages = export_pages(services.pool, tenant, where, unmask=unmask)
    return StreamingResponse(
        csv_chunks(pages),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="calls.csv"'},
    )


@router.get("/calls.json", response_model=ExportPage, responses=_ERRORS)
async def export_calls_json(
    services: Services,
    tenant: TenantId,
    campaign_id: CampaignId = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    outcome: Outcome = None,
    direction: DirectionQuery = None,
    unmask: Unmask = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> ExportPage:
    """A page of matching calls with their results, oldest first; follow `next_cursor`
    (with the same filters) until it is null to read them all, each exactly once."""
    where = _filter(campaign_id, date_from, date_to, outcome, direction)
    try:
        after = Cursor.decode(cursor) if cursor else None
    except BadCursorError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    return await export_page(services.pool, tenant, where, limit=limit, after=after, unmask=unmask)
