"""The media worker's side of call controls: `POST /live-calls/{key}/control`.

The API forwards a supervisor's control here (`api/routes/call_controls.py`); the
call's session applies it (`CallSession.control`) and logs it as an event.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from realtime.call_session import ControlAction
from realtime.conversation_line import ConversationLine


class Control(BaseModel):
    """One control: what, by whom, and the message of `say` / `add-message`."""

    action: ControlAction
    by: str = Field(default="supervisor", min_length=1, max_length=200)
    message: str | None = Field(default=None, max_length=2000)


class ControlApplied(BaseModel):
    """The control was applied to the call under way."""

    call_key: str
    action: ControlAction
    status: Literal["applied"] = "applied"


def control_router(line: ConversationLine) -> APIRouter:
    """Routes that reach the calls under way on `line`."""
    router = APIRouter(tags=["controls"])

    @router.post(
        "/live-calls/{call_key}/control",
        response_model=ControlApplied,
        responses={404: {"description": "no such call under way"}, 422: {"description": "bad"}},
    )
    async def control(call_key: str, body: Control) -> ControlApplied:
        session = line.live_session(call_key)
        if session is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {call_key!r} under way")
        try:
            session.control(body.action, by=body.by, message=body.message)
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
        return ControlApplied(call_key=call_key, action=body.action)

    return router
