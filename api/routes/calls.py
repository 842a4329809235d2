"""The call log (every attempt of every campaign, filterable and paginated) and the
stored conversations: one call with its turns and events, by id or by attempt."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel

from api.auth import TenantId
from api.deps import Services
from api.limits import PageOffset
from api.live_stream import live_calls
from centralita.calls.store import details as call_details
from centralita.calls.store.details import CallDetail
from centralita.campaigns.store import history
from centralita.campaigns.store.history import AttemptStatus, CallFilter, CallRow
from centralita.kernel.calls import CallOutcome

router = APIRouter(prefix="/calls", tags=["calls"])


class LiveCall(BaseModel):
    """A call in progress: its key (`GET /calls/{key}/events`), start, language."""

    call_key: str
    started_at: datetime
    started: dict[str, Any]


_BOUND_HELP = (
    "ISO date (a UTC day) or datetime; a datetime without offset is taken as UTC. "
    "Encode a `+` offset as %2B, or use `Z`."
)


@router.get(
    "",
    response_model=list[CallRow] | list[LiveCall],
    responses={422: {"description": "bad filter"}},
)
async def list_calls(
    services: Services,
    tenant: TenantId,
    live: Annotated[
        bool, Query(description="Calls in progress instead of the attempt log")
    ] = False,
    campaign_id: uuid.UUID | None = None,
    contact_id: uuid.UUID | None = None,
    outcome: CallOutcome | None = None,
    status_: Annotated[AttemptStatus | None, Query(alias="status")] = None,
    date_from: Annotated[str | None, Query(description=f"Inclusive. {_BOUND_HELP}")] = None,
    date_to: Annotated[
        str | None, Query(description=f"Inclusive (a date covers its whole day). {_BOUND_HELP}")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: PageOffset = 0,
) -> list[CallRow] | list[LiveCall]:
    """Call attempts, newest first, filtered on any combination of the parameters;
    with `live=true`, the calls in progress now (inbound ones included), newest first."""
    if live:
        rows = await live_calls(services.pool, tenant, limit=limit, offset=offset)
        return [LiveCall(**row) for row in rows]
    where = CallFilter(
        campaign_id=campaign_id,
        contact_id=contact_id,
        outcome=outcome,
        status=status_,
        started_from=query_bound("date_from", date_from, end=False),
        started_before=query_bound("date_to", date_to, end=True),
    )
    if where.started_from and where.started_before and where.started_from >= where.started_before:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="date_from is after date_to"
        )
    return await history.list_calls(services.pool, tenant, where, limit=limit, offset=offset)


@router.get(
    "/by-attempt/{attempt_key}",
    response_model=CallDetail,
    responses={404: {"description": "no such attempt, or it held no conversation"}},
)
async def get_call_by_attempt(attempt_key: str, services: Services, tenant: TenantId) -> CallDetail:
    """The conversation an attempt held (`attempt_key` as listed by `GET /calls`).

    Only answered calls the agent talked in are stored; other attempts answer 404.
    """
    found = await call_details.call_detail_by_attempt(services.pool, tenant, attempt_key)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"no call stored for attempt {attempt_key}"
        )
    return found


@router.get(
    "/{call_id}",
    response_model=CallDetail,
    responses={404: {"description": "no such call"}, 422: {"description": "not a UUID"}},
)
async def get_call(call_id: uuid.UUID, services: Services, tenant: TenantId) -> CallDetail:
    """A stored conversation: its outcome, usage and cost, its turns with their latencies
    (milliseconds, in spoken order) and its events (in sequence order)."""
    found = await call_details.call_detail(services.pool, tenant, call_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"call {call_id} not found")
    return found


def parse_bound(value: str, *, end: bool) -> datetime:
    """A `date_from`/`date_to` value as an instant to compare `started_at` with.

    Args:
        value: an ISO date or datetime.
        end: the upper bound, made exclusive: a date becomes the next day's midnight
            (so the date itself is included); a datetime becomes one microsecond later.

    Raises:
        ValueError: neither an ISO date nor an ISO datetime.
    """
    value = value.strip()
    if len(value) == len("2025-01-31"):
        day = date.fromisoformat(value)
        start = datetime.combine(day, time(0), UTC)
        return start + timedelta(days=1) if end else start
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant + timedelta(microseconds=1) if end else instant


def query_bound(name: str, value: str | None, *, end: bool) -> datetime | None:
    """The query parameter `name` read by `parse_bound`; 422 naming it when unreadable."""
    if value is None:
        return None
    try:
        return parse_bound(value, end=end)
    except ValueError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"{name}: {value!r} is not an ISO date or datetime",
        ) from exc
