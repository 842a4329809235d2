"""Callbacks people owe callers: listed for operators, reported done, or cancelled.

Each is stored by the media worker when nobody answered a handed-off call in time (or
the agent's policy asked for a person's callback), and waited for durably by
`HumanCallbackWorkflow` (id `human-callback-{id}`, visible in the Temporal UI). Settling
one here updates the table and signals its workflow, which then ends.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from temporalio.service import RPCError

from api.auth import TenantId
from api.deps import Services
from api.limits import PageOffset
from api.services import TemporalUnavailableError
from centralita.handoff import callbacks_store, operators_store
from centralita.handoff.callback_messages import CallbackSettled
from centralita.handoff.models import CallbackState, Disposition, HumanCallback
from workflows.human_callback import HumanCallbackWorkflow

log = logging.getLogger(__name__)
router = APIRouter(prefix="/human-callbacks", tags=["human queue"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such callback of this tenant"},
    409: {"description": "the callback is already done or cancelled"},
}


class CallbackDone(BaseModel):
    """Who made the call, and how it went."""

    operator_id: str = Field(min_length=1, max_length=64)
    disposition: Disposition
    notes: str | None = Field(default=None, max_length=2000)


@router.get("", response_model=list[HumanCallback])
async def list_callbacks(
    services: Services,
    tenant: TenantId,
    offset: PageOffset = 0,
    state: Annotated[list[CallbackState] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[HumanCallback]:
    """The tenant's callbacks, soonest due first (`state` filters, repeatable)."""
    async with services.pool.connection() as conn:
        found = await callbacks_store.list_callbacks(
            conn, tenant, states=state, limit=limit, offset=offset
        )
    return found


@router.post("/{callback_id}/done", response_model=HumanCallback, responses=_ERRORS)
async def callback_done(
    callback_id: str, body: CallbackDone, services: Services, tenant: TenantId
) -> HumanCallback:
    """An operator made the call: its disposition is stored and its workflow ends."""
    async with services.pool.connection() as conn:
        operator = await operators_store.get(conn, tenant, body.operator_id)
        if operator is None:
            # Names the field, not its value: the tenant walk reads any id in an answer
            # to another tenant as a leak, even one the caller sent.
            raise HTTPException(status.HTTP_404_NOT_FOUND, "operator_id: no such operator")
    settled = await _settle(
        services,
        tenant,
        callback_id,
        CallbackSettled(state="done", by=operator.name),
        operator_id=body.operator_id,
        disposition=body.disposition,
        notes=body.notes,
    )
    return settled


@router.post("/{callback_id}/cancel", response_model=HumanCallback, responses=_ERRORS)
async def cancel_callback(callback_id: str, services: Services, tenant: TenantId) -> HumanCallback:
    """Nobody needs to call back (the person called in, or paid): it is cancelled."""
    settled = await _settle(services, tenant, callback_id, CallbackSettled(state="cancelled"))
    return settled


async def _settle(
    services: Services,
    tenant: str,
    callback_id: str,
    settled: CallbackSettled,
    *,
    operator_id: str | None = None,
    disposition: str | None = None,
    notes: str | None = None,
) -> HumanCallback:
    async with services.pool.connection() as conn:
        done = await callbacks_store.settle(
            conn,
            tenant,
            callback_id,
            state="done" if settled.state == "done" else "cancelled",
            operator_id=operator_id,
            disposition=disposition,
            notes=notes,
        )
        if done is None:
            existing = await callbacks_store.get(conn, callback_id, tenant)
    if done is None:
        if existing is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no callback {callback_id!r}")
        raise HTTPException(status.HTTP_409_CONFLICT, f"the callback is {existing.state} already")
    await _signal(services, done, settled)
    return done


async def _signal(services: Services, callback: HumanCallback, settled: CallbackSettled) -> None:
    """Tell the callback's workflow (the table is the truth: a workflow that cannot be
    told finds the callback settled at its time, and ends)."""
    try:
        client = await services.temporal.get()
        handle = client.get_workflow_handle_for(HumanCallbackWorkflow.run, callback.workflow_id)
        await handle.signal(HumanCallbackWorkflow.settle, settled)
    except (RPCError, TemporalUnavailableError) as exc:
        log.warning("callback %s: its workflow was not told (%s)", callback.id, exc)
