"""Live calls: a call's events as they happen (server-sent events), resumable."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, status
from fastapi.responses import StreamingResponse

from api.auth import LinkTenantId
from api.deps import Services
from api.live_stream import stream_call_events
from centralita.tenants.store.call_owners import owns_call_key

router = APIRouter(prefix="/calls", tags=["live"])


@router.get(
    "/{call_key}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "the call's events"},
        404: {"description": "another tenant's call"},
    },
)
async def call_events(
    call_key: str,
    services: Services,
    tenant: LinkTenantId,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    after: Annotated[int | None, Query(ge=0, description="Resume after this event id")] = None,
) -> StreamingResponse:
    """Server-sent events of a call: transcripts, sentiment, tool calls, interruptions,
    transfer, callback, errors, call_started/ended; each with its id. A client that
    reconnects with `Last-Event-ID` (or `?after=`) gets every event after that one,
    none lost and none twice. The stream ends after `call_ended`; for a call that has
    not started yet it waits for it.

    EventSource cannot send headers: the key may come as `?access_token=` here.
    """
    if not await owns_call_key(services.pool, tenant, call_key):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no call {call_key!r}")
    resume = after if after is not None else _event_id(last_event_id)
    frames = stream_call_events(services.pool, services.live, call_key, resume)
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _event_id(header: str | None) -> int:
    """A Last-Event-ID as a row id; anything else starts from the beginning."""
    try:
        return max(0, int(header or 0))
    except ValueError:
        return 0
