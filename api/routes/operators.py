"""The human queue's people: operators sign in, go available, are rung, answer, wrap up.

A call joins the queue when its agent's handoff policy says so (the media worker:
`realtime/session/handoff_desk.py`). An operator's page (`/operator`) follows
`GET /operators/{id}/events`, a server-sent snapshot of the tenant's queue sent again
at every change (Postgres NOTIFY `handoffs`, one LISTEN per API process), and rings
while it is available and a call waits in one of its queues. Answering claims the next
call in order (priority, then the longest wait) in one UPDATE, so two operators never
get the same call (and one operator, `busy` until they wrap up, never two), and joins
it with the operator's SDP offer (the supervisor takeover's path:
`realtime/legs/human.py`), for WebRTC, phone-stream and SIP calls alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field, StringConstraints

from api.auth import LinkTenantId, TenantId
from api.deps import Services
from api.limits import PageOffset
from api.routes.call_controls import join_call
from centralita.handoff import operators_store, queue_store
from centralita.handoff.models import Disposition, Handoff, HandoffState, Operator
from centralita.kernel.db import Pool

router = APIRouter(tags=["human queue"])

_QUEUE_NAME = r"^[a-z0-9][a-z0-9_-]{0,39}$"
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such operator (or handoff) of this tenant"}
}


class SignIn(BaseModel):
    """An operator's name (their identity within the tenant) and the queues they answer."""

    # Stripped before it is measured: a name of spaces is refused here (422), not by the
    # table's CHECK once stored (a 500).
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    queues: list[Annotated[str, Field(pattern=_QUEUE_NAME)]] = Field(
        default_factory=lambda: ["default"], min_length=1, max_length=20
    )


class StatusChange(BaseModel):
    """`available` to be rung, `offline` to stop (`busy` is set by answering)."""

    status: Literal["available", "offline", "wrap_up"]


class Answer(BaseModel):
    """The operator's softphone SDP offer."""

    sdp: str = Field(min_length=1, max_length=100_000)
    type: Literal["offer"] = "offer"


class Answered(BaseModel):
    """The call the operator now has, and the media worker's SDP answer."""

    handoff: Handoff
    sdp: str
    type: Literal["answer"] = "answer"


class WrapUp(BaseModel):
    """How the call went, in the operator's words."""

    operator_id: str = Field(min_length=1, max_length=64)
    disposition: Disposition
    notes: str | None = Field(default=None, max_length=2000)


class QueueSnapshot(BaseModel):
    """What an operator's page shows: themselves, the queue in order, their call."""

    operator: Operator
    waiting: list[Handoff]
    current: Handoff | None


async def _operator(pool: Pool, tenant: str, operator_id: str) -> Operator:
    async with pool.connection() as conn:
        operator = await operators_store.get(conn, tenant, operator_id)
    if operator is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no operator {operator_id!r}")
    return operator


@router.get("/operator", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    """The operator page (it asks for a key and sends it itself)."""
    html = resources.files("api").joinpath("static/operator.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@router.post("/operators/sign-in", response_model=Operator)
async def sign_in(body: SignIn, services: Services, tenant: TenantId) -> Operator:
    """The tenant's operator of this name (created the first time), with its queues."""
    async with services.pool.connection() as conn:
        return await operators_store.sign_in(conn, tenant, body.name, body.queues)


@router.get("/operators", response_model=list[Operator])
async def list_operators(
    services: Services,
    tenant: TenantId,
    offset: PageOffset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Operator]:
    """The tenant's operators and their status, by name."""
    async with services.pool.connection() as conn:
        return await operators_store.list_operators(conn, tenant, limit=limit, offset=offset)


@router.put("/operators/{operator_id}/status", response_model=Operator, responses=_NOT_FOUND)
async def set_status(
    operator_id: str, body: StatusChange, services: Services, tenant: TenantId
) -> Operator:
    """Go available (the page rings for waiting calls), offline, or stay in wrap-up."""
    async with services.pool.connection() as conn:
        operator = await operators_store.set_status(conn, tenant, operator_id, body.status)
    if operator is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no operator {operator_id!r}")
    return operator


async def snapshot(pool: Pool, tenant: str, operator_id: str) -> QueueSnapshot:
    """The operator, the waiting calls of their queues in answer order, and their call."""
    async with pool.connection() as conn:
        operator = await operators_store.get(conn, tenant, operator_id)
        if operator is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no operator {operator_id!r}")
        waiting = await queue_store.waiting(conn, tenant)
        mine = await queue_store.recent(
            conn, tenant, operator_id=operator_id, states=["answered", "connected"], limit=1
        )
    return QueueSnapshot(
        operator=operator,
        waiting=[h for h in waiting if h.queue in operator.queues],
        current=mine[0] if mine else None,
    )


async def _snapshots(services: Services, tenant: str, operator_id: str) -> AsyncIterator[str]:
    """SSE frames: a `queue` snapshot now and after every change of the tenant's queue.

    While it streams the operator is seen (`api/operator_presence.py`); once it closes
    (the page is gone), an operator left available goes offline after a grace."""
    presence = services.presence
    await presence.seen(tenant, operator_id)
    try:
        with services.handoffs.watch(tenant) as woken:
            await services.handoffs.ready()
            while True:
                woken.clear()  # a change from here on wakes the wait below
                body = (await snapshot(services.pool, tenant, operator_id)).model_dump_json()
                yield f"event: queue\ndata: {body}\n\n"
                try:
                    await asyncio.wait_for(woken.wait(), presence.keepalive_s)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    await presence.seen(tenant, operator_id)
    finally:
        presence.gone(tenant, operator_id)


@router.get(
    "/operators/{operator_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "queue snapshots"},
        **_NOT_FOUND,
    },
)
async def operator_events(
    operator_id: str, services: Services, tenant: LinkTenantId
) -> StreamingResponse:
    """Server-sent `queue` events: the operator, the waiting calls of their queues (who,
    why, how long), and the call they have; sent at once and after every change.

    EventSource cannot send headers: the key may come as `?access_token=` here (the
    operator page sends it in the header)."""
    await _operator(services.pool, tenant, operator_id)
    return StreamingResponse(
        _snapshots(services, tenant, operator_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/operators/{operator_id}/answer",
    response_model=Answered,
    responses={
        **_NOT_FOUND,
        409: {
            "description": "no call waits, the operator has one already, or the caller "
            "left before the answer"
        },
        422: {"description": "the media worker could not use the SDP offer"},
        502: {"description": "the media worker could not be reached (the call waits again)"},
    },
)
async def answer(operator_id: str, body: Answer, services: Services, tenant: TenantId) -> Answered:
    """Take the next waiting call of the operator's queues: their softphone joins it."""
    operator = await _operator(services.pool, tenant, operator_id)
    async with services.pool.connection() as conn:
        if not await operators_store.take_call(conn, tenant, operator_id):
            raise HTTPException(
                status.HTTP_409_CONFLICT, "you have a call already: wrap it up first"
            )
        handoff = await queue_store.claim_next(conn, tenant, operator_id, operator.queues)
        if handoff is None:  # as they were: nothing was taken
            await operators_store.set_status(conn, tenant, operator_id, operator.status)
            raise HTTPException(status.HTTP_409_CONFLICT, "no call is waiting in your queues")
    try:
        sdp = await join_call(services, handoff.call_key, body.sdp, operator.name)
    except HTTPException as exc:
        await _lost(services.pool, tenant, operator_id, handoff, exc)
        raise
    return Answered(handoff=handoff, sdp=sdp)


async def _lost(
    pool: Pool, tenant: str, operator_id: str, handoff: Handoff, exc: HTTPException
) -> None:
    """The claimed call could not be joined: it is settled, the operator free again."""
    gone = exc.status_code == status.HTTP_404_NOT_FOUND
    async with pool.connection() as conn:
        if gone:  # the caller hung up between the claim and the join
            await queue_store.move(conn, handoff.id, "abandoned", leaving=["answered"])
        else:  # the call is still there: back in the queue for the next operator
            await queue_store.move(conn, handoff.id, "waiting", leaving=["answered"])
        await operators_store.set_status(conn, tenant, operator_id, "available")
    if gone:
        exc.status_code = status.HTTP_409_CONFLICT
        exc.detail = "the caller hung up before the answer"


@router.post("/handoffs/{handoff_id}/wrap-up", response_model=Handoff, responses=_NOT_FOUND)
async def wrap_up(handoff_id: str, body: WrapUp, services: Services, tenant: TenantId) -> Handoff:
    """The operator's disposition of a call they took; they are available again."""
    async with services.pool.connection() as conn:
        handoff = await queue_store.wrap_up(
            conn,
            tenant,
            handoff_id,
            body.operator_id,
            disposition=body.disposition,
            notes=body.notes,
        )
        if handoff is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"no handoff {handoff_id!r} taken by this operator"
            )
        await operators_store.set_status(conn, tenant, body.operator_id, "available")
    return handoff


@router.get("/handoffs", response_model=list[Handoff])
async def list_handoffs(
    services: Services,
    tenant: TenantId,
    offset: PageOffset = 0,
    state: Annotated[list[HandoffState] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[Handoff]:
    """The tenant's handoffs, newest first (`state` filters, repeatable)."""
    async with services.pool.connection() as conn:
        return await queue_store.recent(conn, tenant, states=state, limit=limit, offset=offset)


@router.get("/handoffs/{handoff_id}", response_model=Handoff, responses=_NOT_FOUND)
async def get_handoff(handoff_id: str, services: Services, tenant: TenantId) -> Handoff:
    """One handoff: who, why, the context the operator saw, its times and disposition."""
    async with services.pool.connection() as conn:
        handoff = await queue_store.get(conn, tenant, handoff_id)
    if handoff is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no handoff {handoff_id!r}")
    return handoff
