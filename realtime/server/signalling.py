"""WebRTC signalling over HTTP: SDP offers and answers, both directions.

Inbound (a softphone calls an agent's number):

- ``POST /calls/inbound`` ``{to_number, from_number, sdp, type: "offer"}``: 201 with
  ``{call_id, sdp, type: "answer"}``; the conversation starts once ICE connects. 404
  ``UnknownNumber`` when no agent answers the number, 409 ``AgentUnavailable`` when the
  agent cannot hold the call (missing variables), 422 ``InvalidOffer`` for an unusable SDP.
- ``GET /calls/{call_id}``: ``{call_id, direction, state, result}``; ``DELETE`` hangs up.

Outbound (the dial activity calls a number a softphone holds):

- ``GET /softphones/{number}/calls/next?wait=S``: a long poll; 200 with
  ``{call_id, from_number, to_number, sdp, type: "offer"}`` when a call comes, 204 when
  none did within S seconds. Polling is what registers the number.
- ``POST /calls/{call_id}/answer`` ``{sdp, type: "answer"}``: 204; 404 when no call
  rings under that id (never offered, answered already, or the ring timed out).
- ``POST /calls/{call_id}/reject`` ``{reason: "busy" | "declined"}``: 204.

Errors are ``{"detail", "type"}``. Either side ends a call by closing its peer connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from centralita.kernel.calls import DialResult
from realtime.conversation_line import ConversationLine, InboundRefusedError
from realtime.legs.agent import AgentLeg
from realtime.legs.webrtc import SessionDescription
from realtime.server.controls import control_router
from realtime.server.inbound import InboundDirectory, UnknownNumberError
from realtime.softphone.exchange import RejectReason, SoftphoneExchange, UnknownCallError

log = logging.getLogger(__name__)

MAX_POLL_S = 30.0
E164 = r"^\+[1-9]\d{6,14}$"
_KEEP_ENDED = 1_000


class InboundOffer(BaseModel):
    """A softphone calling an agent's number."""

    to_number: str = Field(pattern=E164)
    from_number: str = Field(min_length=1, max_length=32)
    sdp: str
    type: Literal["offer"] = "offer"


class CallAnswer(BaseModel):
    """The agent picked up: its SDP answer."""

    call_id: str
    sdp: str
    type: Literal["answer"] = "answer"


class IncomingCall(BaseModel):
    """A call offered to a softphone."""

    call_id: str
    from_number: str
    to_number: str
    sdp: str
    type: Literal["offer"] = "offer"


class Rejection(BaseModel):
    """Why a softphone refuses a call."""

    reason: RejectReason = "declined"


class SignalledCall(BaseModel):
    """An inbound call's state."""

    call_id: str
    direction: Literal["inbound"] = "inbound"
    state: Literal["in_progress", "ended"]
    result: DialResult | None = None
    error: str | None = None


@dataclass(eq=False)
class _Inbound:
    leg: AgentLeg
    task: asyncio.Task[DialResult]

    def status(self, call_id: str) -> SignalledCall:
        if not self.task.done():
            return SignalledCall(call_id=call_id, state="in_progress")
        if self.task.cancelled():
            return SignalledCall(call_id=call_id, state="ended", error="hung up at shutdown")
        exc = self.task.exception()
        if exc is not None:
            return SignalledCall(call_id=call_id, state="ended", error=str(exc) or repr(exc))
        return SignalledCall(call_id=call_id, state="ended", result=self.task.result())


class InboundCalls:
    """Inbound calls of this process: running ones, and what the last ended ones came to.

    An ended call keeps only its status (its result): not its leg, whose session holds
    the whole conversation, so a long-running worker does not grow with every call.
    """

    def __init__(self) -> None:
        self._running: dict[str, _Inbound] = {}
        self._ended: OrderedDict[str, SignalledCall] = OrderedDict()

    def add(self, call_id: str, leg: AgentLeg, task: asyncio.Task[DialResult]) -> None:
        call = _Inbound(leg, task)
        self._running[call_id] = call
        task.add_done_callback(lambda _: self._end(call_id, call))

    def status(self, call_id: str) -> SignalledCall | None:
        """The call's state, and its result once it ended (None: no such call)."""
        running = self._running.get(call_id)
        return running.status(call_id) if running is not None else self._ended.get(call_id)

    async def hang_up(self, call_id: str) -> SignalledCall | None:
        """Hang the call up; its status once its result is stored (None: no such call)."""
        call = self._running.get(call_id)
        if call is None:
            return self._ended.get(call_id)
        call.leg.hang_up("hangup_requested")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(call.task), 10)
        return call.status(call_id)

    def _end(self, call_id: str, call: _Inbound) -> None:
        if self._running.get(call_id) is call:
            del self._running[call_id]
        self._ended[call_id] = call.status(call_id)
        self._ended.move_to_end(call_id)
        while len(self._ended) > _KEEP_ENDED:
            self._ended.popitem(last=False)

    async def aclose(self) -> None:
        calls = list(self._running.values())
        for call in calls:
            call.leg.hang_up("shutdown")
        await asyncio.gather(*(c.task for c in calls), return_exceptions=True)


def _error(code: int, kind: str, detail: str) -> JSONResponse:
    return JSONResponse(status_code=code, content={"detail": detail, "type": kind})


def signalling_router(
    line: ConversationLine, exchange: SoftphoneExchange, directory: InboundDirectory
) -> APIRouter:
    """The signalling routes over one conversation line (see the module's contract)."""
    inbound = InboundCalls()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await inbound.aclose()

    router = APIRouter(tags=["signalling"], lifespan=lifespan)
    router.include_router(control_router(line))

    @router.post("/calls/inbound", status_code=status.HTTP_201_CREATED, response_model=CallAnswer)
    async def call_agent(offer: InboundOffer) -> CallAnswer | JSONResponse:
        """A softphone calls an agent's number: the agent's SDP answer."""
        try:
            request = await directory.request_for(offer.to_number, offer.from_number)
            answer, leg, task = await line.answer_inbound(
                request,
                SessionDescription(sdp=offer.sdp, type="offer"),
                from_number=offer.from_number,
            )
        except UnknownNumberError as exc:
            return _error(status.HTTP_404_NOT_FOUND, "UnknownNumber", str(exc))
        except InboundRefusedError as exc:
            return _error(status.HTTP_409_CONFLICT, "AgentUnavailable", str(exc))
        except ValueError as exc:
            return _error(422, "InvalidOffer", f"unusable SDP offer: {exc}")
        inbound.add(request.idempotency_key, leg, task)
        log.info("inbound call %s to %s answered", request.idempotency_key, offer.to_number)
        return CallAnswer(call_id=request.idempotency_key, sdp=answer.sdp)

    @router.get("/calls/{call_id}", response_model=SignalledCall, responses={404: {}})
    async def call_status(call_id: str) -> SignalledCall | JSONResponse:
        """An inbound call's state, and its result once it ended."""
        call = inbound.status(call_id)
        if call is None:
            return _error(status.HTTP_404_NOT_FOUND, "UnknownCall", f"no call {call_id!r}")
        return call

    @router.delete("/calls/{call_id}", response_model=SignalledCall, responses={404: {}})
    async def hang_up(call_id: str) -> SignalledCall | JSONResponse:
        """Hang up an inbound call; its result is returned once stored."""
        call = await inbound.hang_up(call_id)
        if call is None:
            return _error(status.HTTP_404_NOT_FOUND, "UnknownCall", f"no call {call_id!r}")
        return call

    @router.get(
        "/softphones/{number}/calls/next",
        response_model=IncomingCall,
        responses={204: {"description": "no call within the wait"}},
    )
    async def next_call(
        number: Annotated[str, Path(pattern=E164)],
        wait: Annotated[float, Query(ge=0, le=MAX_POLL_S)] = 20.0,
    ) -> IncomingCall | Response:
        """Hold `number` and wait for its next call (a long poll)."""
        call = await exchange.next_call(number, wait)
        if call is None:
            return Response(status_code=status.HTTP_204_NO_CONTENT)
        return IncomingCall(
            call_id=call.call_id,
            from_number=call.from_number,
            to_number=call.to_number,
            sdp=call.offer.sdp,
        )

    @router.post("/calls/{call_id}/answer", status_code=204, responses={404: {}})
    async def answer_call(call_id: str, answer: SessionDescription) -> Response:
        """Pick up a ringing call with the softphone's SDP answer."""
        if answer.type != "answer":
            return _error(422, "InvalidAnswer", "expected an SDP answer")
        try:
            exchange.answer(call_id, answer)
        except UnknownCallError as exc:
            return _error(status.HTTP_404_NOT_FOUND, "UnknownCall", str(exc))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post("/calls/{call_id}/reject", status_code=204, responses={404: {}})
    async def reject_call(call_id: str, rejection: Rejection) -> Response:
        """Refuse a ringing call (busy, declined)."""
        try:
            exchange.reject(call_id, rejection.reason)
        except UnknownCallError as exc:
            return _error(status.HTTP_404_NOT_FOUND, "UnknownCall", str(exc))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
