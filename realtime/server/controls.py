"""The media worker's side of call controls: `POST /live-calls/{key}/control` and `/join`.

The API forwards a supervisor's control here (`api/routes/call_controls.py`); the
call's session applies it (`CallSession.control`) and logs it as an event. `/join`
answers a supervisor softphone's SDP offer: the person joins the call and takes it over
(`realtime/legs/human.py`).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from centralita.kernel.call_events import ControlAction
from realtime.conversation_line import (
    CallNotLiveError,
    ConversationLine,
    HumanAlreadyJoinedError,
)
from realtime.legs.webrtc import SessionDescription


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


class JoinOffer(BaseModel):
    """A person's softphone joining a call: its SDP offer, and who they are."""

    sdp: str = Field(min_length=1)
    type: Literal["offer"] = "offer"
    by: str = Field(default="supervisor", min_length=1, max_length=200)


class JoinAnswer(BaseModel):
    """The media worker's SDP answer: the person is on the call, the agent quiet."""

    call_key: str
    sdp: str
    type: Literal["answer"] = "answer"


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

    @router.post(
        "/live-calls/{call_key}/join",
        response_model=JoinAnswer,
        status_code=status.HTTP_201_CREATED,
        responses={
            404: {"description": "no such call under way"},
            409: {"description": "someone has taken the call over already"},
            422: {"description": "unusable SDP offer"},
        },
    )
    async def join(call_key: str, body: JoinOffer) -> JoinAnswer:
        """A person's softphone joins the call and takes it over from the agent."""
        offer = SessionDescription(sdp=body.sdp, type="offer")
        try:
            answer = await line.join_human(call_key, offer, by=body.by)
        except CallNotLiveError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
        except HumanAlreadyJoinedError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
        return JoinAnswer(call_key=call_key, sdp=answer.sdp)

    return router
