"""Analytics: a conversation's metrics, the latest calls, a campaign's figures, and
ending a conversation with its final metrics.

`{id}` of a conversation is a call id, or its call key: an attempt key (as `GET /calls`
lists it) or an inbound call's key. Every figure is read from the stored calls
(`centralita/analytics/` says how each is defined).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.auth import TenantId
from api.deps import Services
from api.routes.call_controls import Who, forward_control
from centralita.analytics import campaign_stats, conversation, ending, summary
from centralita.analytics.campaign_stats import CampaignStats
from centralita.analytics.conversation import ConversationMetrics
from centralita.analytics.cursor import BadCursorError, Cursor
from centralita.analytics.summary import MetricsSummary
from centralita.tenants.store.call_owners import owns_call_key

router = APIRouter(tags=["analytics"])

_NO_CALL: dict[int | str, dict[str, Any]] = {404: {"description": "no such call"}}


class ConversationEnd(BaseModel):
    """What `POST /conversations/{id}/end` did, with the final metrics once stored."""

    id: str = Field(description="The id or key the request named.")
    state: Literal["ended", "already_ended", "ending"] = Field(
        description="ended: hung up now and stored; already_ended: it was over before; "
        "ending: hung up, not stored yet (read GET /conversations/{id}/metrics later)."
    )
    metrics: ConversationMetrics | None


@router.get("/conversations/{ref}/metrics", response_model=ConversationMetrics, responses=_NO_CALL)
async def get_conversation_metrics(
    ref: str, services: Services, tenant: TenantId
) -> ConversationMetrics:
    """Turns, average latencies (STT, brain, first TTS audio, voice-to-voice), average
    sentiment, interruptions, tool calls, duration and outcome of a stored call."""
    found = await conversation.conversation_metrics(services.pool, tenant, ref)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no call stored as {ref!r}")
    return found


@router.post(
    "/conversations/{ref}/end",
    response_model=ConversationEnd,
    responses={
        **_NO_CALL,
        202: {"model": ConversationEnd, "description": "hung up; not stored yet"},
        502: {"description": "the media worker could not be reached"},
    },
)
async def end_conversation(
    ref: str,
    services: Services,
    tenant: TenantId,
    body: Annotated[Who | None, Body()] = None,
    wait_s: Annotated[
        float, Query(ge=0, le=60, description="How long to wait for the stored call.")
    ] = 10.0,
) -> ConversationEnd | JSONResponse:
    """End a call under way (as `POST /calls/{key}/end` does) and answer its final
    metrics once the media worker has stored it; a call already over just answers its
    metrics. The `call_ended` event is recorded when the call is stored, not here."""
    pool = services.pool
    stored = await conversation.conversation_metrics(pool, tenant, ref)
    if stored is not None:
        return ConversationEnd(id=ref, state="already_ended", metrics=stored)
    # Live events carry only the key: whose call it is comes from the data.
    if not await owns_call_key(pool, tenant, ref):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no call {ref!r}")
    state = await ending.call_state(pool, tenant, ref)
    if not (state.under_way or state.ending):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"no call under way or stored as {ref!r}"
        )
    hung_up = False
    if state.under_way:
        try:
            await forward_control(services, ref, {"action": "end", "by": (body or Who()).by})
            hung_up = True
        except HTTPException as exc:
            if exc.status_code != status.HTTP_404_NOT_FOUND:
                raise  # the media worker is unreachable: say so (502)
            # Not under way after all: it ended a moment ago and may be being stored.
    metrics = await ending.wait_for_metrics(pool, tenant, ref, wait_s)
    if metrics is not None:
        return ConversationEnd(
            id=ref, state="ended" if hung_up else "already_ended", metrics=metrics
        )
    if not (hung_up or state.ending):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"{ref!r} is not under way and no conversation is stored for it",
        )
    pending = ConversationEnd(id=ref, state="ending", metrics=None)
    return JSONResponse(pending.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)


@router.get(
    "/metrics/summary",
    response_model=MetricsSummary,
    responses={422: {"description": "bad limit or cursor"}},
)
async def get_metrics_summary(
    services: Services,
    tenant: TenantId,
    limit: Annotated[int, Query(ge=1, le=500, description="How many calls.")] = 50,
    cursor: Annotated[
        str | None, Query(description="`next_cursor` of the previous page (older calls).")
    ] = None,
) -> MetricsSummary:
    """The latest `limit` stored calls (newest first) with their metrics, and aggregates
    over exactly those calls (latencies and sentiment weigh every measured turn)."""
    try:
        before = Cursor.decode(cursor) if cursor else None
    except BadCursorError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    return await summary.metrics_summary(services.pool, tenant, limit=limit, before=before)


@router.get(
    "/campaigns/{campaign_id}/stats",
    response_model=CampaignStats,
    responses={404: {"description": "no such campaign"}},
)
async def get_campaign_stats(
    campaign_id: str, services: Services, tenant: TenantId
) -> CampaignStats:
    """Answer and promise rates, amounts promised by currency, average duration, cost and
    outcomes, overall, by day and by hour on the campaign's clock; calls per active
    hour; tool success and latency; turn latency; and the tenant's learning metrics."""
    found = await campaign_stats.campaign_stats(services.pool, tenant, campaign_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"campaign {campaign_id} not found")
    return found
