"""Supervisor controls on a call under way: inject, mute, unmute, end, take over.

The API does not hold calls; it forwards each control to the media worker that does,
which applies it and logs it as a `control` event (who and when) on the call's live
events. With many media workers (issue 20) the control goes to every live registered
worker at once and the one holding the call answers (the others answer 404 and do
nothing); with none registered, to `effective_carrier_url`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Body, HTTPException, status
from pydantic import BaseModel, Field

from api.auth import TenantId
from api.deps import Services
from centralita.telephony.store import media_workers
from centralita.tenants.store.call_owners import owns_call_key

router = APIRouter(prefix="/calls", tags=["live"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such call under way"},
    502: {"description": "the media worker could not be reached"},
}


class Inject(BaseModel):
    """A line for the agent: said now (`say`) or added to its context (`add-message`)."""

    message: str = Field(min_length=1, max_length=2000)
    type: Literal["say", "add-message"] = "say"
    by: str = Field(default="supervisor", min_length=1, max_length=200)


class Who(BaseModel):
    """Who acts (logged with the control)."""

    by: str = Field(default="supervisor", min_length=1, max_length=200)


class ControlApplied(BaseModel):
    """The media worker applied the control."""

    call_key: str
    action: str
    status: str


class Takeover(Who):
    """A human takes the call; with their softphone's SDP offer, they join it too."""

    sdp: str | None = Field(default=None, min_length=1)
    type: Literal["offer"] = "offer"


class TakenOver(ControlApplied):
    """The agent went quiet; `sdp` is the media worker's answer when a softphone joined."""

    sdp: str | None = None
    type: Literal["answer"] | None = None


async def media_worker_urls(services: Services) -> list[str]:
    """Where calls may be held: every live registered media worker, else the configured one."""
    async with services.pool.connection() as conn:
        workers = await media_workers.list_workers(conn)
    live = [w.address.rstrip("/") for w in workers if w.alive]
    return live or [services.settings.effective_carrier_url]


async def _post(
    services: Services, call_key: str, path: str, body: dict[str, Any], ok: int
) -> dict[str, Any]:
    """POST to `/live-calls/{call_key}/{path}` of the worker holding the call; its answer."""
    # One percent-encoded path segment: a key with `/`, `..` or control characters
    # cannot address another route of the media worker (or make httpx refuse the URL).
    key = quote(call_key, safe="")
    urls = [f"{base}/live-calls/{key}/{path}" for base in await media_worker_urls(services)]
    async with httpx.AsyncClient(timeout=15.0) as client:
        replies = await asyncio.gather(
            *(client.post(url, json=body) for url in urls), return_exceptions=True
        )
    answers = [r for r in replies if isinstance(r, httpx.Response)]
    holding = [r for r in answers if r.status_code != status.HTTP_404_NOT_FOUND]
    if not holding:
        if answers:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {call_key!r} under way")
        failure = next(r for r in replies if isinstance(r, BaseException))
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY, f"media worker unreachable: {type(failure).__name__}"
        )
    response = holding[0]
    if response.status_code in (status.HTTP_409_CONFLICT, 422):
        raise HTTPException(response.status_code, _detail(response))
    if response.status_code != ok:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"media worker: {response.text[:200]}")
    answer: dict[str, Any] = response.json()
    return answer


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


async def _owned(services: Services, tenant: str, call_key: str) -> None:
    # Before anything reaches the media worker: another tenant's call is not there.
    if not await owns_call_key(services.pool, tenant, call_key):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {call_key!r} under way")


async def _forward(services: Services, call_key: str, control: dict[str, Any]) -> ControlApplied:
    answer = await _post(services, call_key, "control", control, status.HTTP_200_OK)
    return ControlApplied.model_validate(answer)


# Public for other routes that apply a control (POST /conversations/{id}/end); they
# check the call is the caller's tenant's first.
forward_control = _forward


async def join_call(services: Services, call_key: str, sdp: str, by: str) -> str:
    """A person's softphone joins the call with its SDP offer; the media worker's answer.

    The caller checks the call is its tenant's first (the human queue's answer route).

    Raises:
        HTTPException: 404 no such call under way, 409 someone has it, 422 a bad offer,
            502 no media worker answered.
    """
    answer = await _post(
        services, call_key, "join", {"sdp": sdp, "by": by}, status.HTTP_201_CREATED
    )
    return str(answer["sdp"])


@router.post("/{call_key}/inject", response_model=ControlApplied, responses=_ERRORS)
async def inject(
    call_key: str, body: Inject, services: Services, tenant: TenantId
) -> ControlApplied:
    """The agent says `message` now, or takes it as context for the rest of the call."""
    await _owned(services, tenant, call_key)
    return await _forward(
        services, call_key, {"action": body.type, "message": body.message, "by": body.by}
    )


def _simple(action: str, summary: str) -> None:
    async def handler(
        call_key: str,
        services: Services,
        tenant: TenantId,
        body: Annotated[Who | None, Body()] = None,
    ) -> ControlApplied:
        who = body or Who()
        await _owned(services, tenant, call_key)
        return await _forward(services, call_key, {"action": action, "by": who.by})

    handler.__doc__ = summary
    router.post(
        f"/{{call_key}}/{action}",
        response_model=ControlApplied,
        responses=_ERRORS,
        name=f"call_{action}",
    )(handler)


_simple("mute", "Silence the agent at once; what it says meanwhile is not played.")
_simple("unmute", "Let the agent speak again.")
_simple("end", "Hang the call up.")
_simple(
    "transfer",
    "Hand a phone call to a person through its carrier (warm or cold, as the media "
    "worker is set up); 422 for a call whose leg cannot ring one (take it over instead).",
)


@router.post(
    "/{call_key}/takeover",
    response_model=TakenOver,
    responses={**_ERRORS, 409: {"description": "someone took the call over already"}},
)
async def takeover(
    call_key: str,
    services: Services,
    tenant: TenantId,
    body: Annotated[Takeover | None, Body()] = None,
) -> TakenOver:
    """A human takes the call: the agent goes quiet and stops answering.

    With `sdp` (a softphone's offer) the person joins the call: they and the caller hear
    each other until they hang up, and then the agent has the call back. Without it,
    the agent only goes quiet (someone answers the caller by other means).
    """
    who = body or Takeover()
    await _owned(services, tenant, call_key)
    if who.sdp is None:
        applied = await _forward(services, call_key, {"action": "takeover", "by": who.by})
        return TakenOver(**applied.model_dump())
    sdp = await join_call(services, call_key, who.sdp, who.by)
    return TakenOver(call_key=call_key, action="takeover", status="applied", sdp=sdp, type="answer")
