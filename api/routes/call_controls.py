"""Supervisor controls on a call under way: inject, mute, unmute, end, take over.

The API does not hold calls; it forwards each control to the media worker that does
(`effective_carrier_url`, the media worker's address), which applies it and logs it as
a `control` event (who and when) on the call's live events.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Body, HTTPException, status
from pydantic import BaseModel, Field

from api.deps import Services

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


async def _forward(services: Services, call_key: str, control: dict[str, Any]) -> ControlApplied:
    url = f"{services.settings.effective_carrier_url}/live-calls/{call_key}/control"
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.post(url, json=control)
    except httpx.HTTPError as exc:
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY, f"media worker unreachable: {type(exc).__name__}"
        ) from exc
    if response.status_code == status.HTTP_404_NOT_FOUND:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {call_key!r} under way")
    if response.status_code != status.HTTP_200_OK:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"media worker: {response.text[:200]}")
    return ControlApplied.model_validate(response.json())


@router.post("/{call_key}/inject", response_model=ControlApplied, responses=_ERRORS)
async def inject(call_key: str, body: Inject, services: Services) -> ControlApplied:
    """The agent says `message` now, or takes it as context for the rest of the call."""
    return await _forward(
        services, call_key, {"action": body.type, "message": body.message, "by": body.by}
    )


def _simple(action: str, summary: str) -> None:
    async def handler(
        call_key: str, services: Services, body: Annotated[Who | None, Body()] = None
    ) -> ControlApplied:
        who = body or Who()
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
_simple("takeover", "A human takes the call: the agent goes quiet and stops answering.")
