"""The carrier as an HTTP service, so calls and their dial log outlive the orchestrator.

The orchestrator worker may be killed while calls ring. The calls therefore run here, in
the media worker's process, keyed by idempotency key: a retried dial activity posts the
same key and joins the call already placed instead of ringing the person again.

Contract (all bodies JSON):

- ``POST /carrier/calls`` with a `DialRequest`: 202 and the call's status when it is
  placed now, 200 and the existing call's status when the key is known; 422
  ``{"detail", "type": "InvalidDialRequest"}`` when the number is not E.164.
- ``GET /carrier/calls/{key}?wait=S``: the call's status, 404 when unknown; with
  ``wait`` the reply is held up to S seconds until the call ends (a long poll).
- ``DELETE /carrier/calls/{key}``: hang up; idempotent. An unknown key is remembered as
  hung up, so a POST that arrives after its own DELETE never rings.
- ``GET /carrier/dial-log``: the calls that rang, in dial order.

A status is ``{"idempotency_key", "state", "result", "error"}``: `state` is ``ringing``
while the call runs and ``ended`` with either a `DialResult` or an error. (``in_progress``,
answered and talking, is part of the contract for the media worker; the simulated carrier
does not report the moment of answer, so its calls go from ringing to ended.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from realtime.carrier.dialer import Dialer, InvalidDialRequestError
from workflows.models import CallOutcome, DialRequest, DialResult

log = logging.getLogger(__name__)

# The same rule SimulatedCarrier applies; checked here too so a bad number is refused
# with a 422 before a call (and a dial-log entry) exists.
_E164 = re.compile(r"\+[1-9]\d{6,14}")

INVALID_DIAL_REQUEST = "InvalidDialRequest"
CARRIER_ERROR = "CarrierError"
# A long poll is held at most this long, so a client's read timeout can be set above it.
MAX_WAIT_S = 30.0
_HANG_UP_WAIT_S = 5.0

CallState = Literal["ringing", "in_progress", "ended"]


class CallError(BaseModel):
    """Why a call ended without a result."""

    type: str
    detail: str


class CallStatus(BaseModel):
    """A call as the carrier sees it."""

    idempotency_key: str
    state: CallState
    result: DialResult | None = None
    error: CallError | None = None


class DialLogEntry(BaseModel):
    """One call that rang: what a test compares against the stored attempts."""

    idempotency_key: str
    to_number: str
    attempt_number: int
    campaign_id: str
    contact_id: str
    at: datetime


@dataclass(eq=False)
class _Call:
    key: str
    placed_at: datetime
    task: asyncio.Task[DialResult] | None = None
    result: DialResult | None = None
    error: CallError | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    def status(self) -> CallStatus:
        return CallStatus(
            idempotency_key=self.key,
            state="ended" if self.ended.is_set() else "ringing",
            result=self.result,
            error=self.error,
        )

    @property
    def redialable(self) -> bool:
        """A call that broke on the carrier's side may be placed again under its key."""
        return self.error is not None and self.error.type != INVALID_DIAL_REQUEST


class CarrierCalls:
    """The calls a carrier is placing or has placed, one per idempotency key.

    Args:
        carrier: places each call (the simulated carrier, later the media worker's own).
        keep_finished: how many ended calls (and dial-log entries) stay in memory.
        clock: current time.
    """

    def __init__(
        self,
        carrier: Dialer,
        *,
        keep_finished: int = 100_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._carrier = carrier
        self._keep_finished = keep_finished
        self._clock = clock
        self._calls: dict[str, _Call] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()  # in order of ending
        self._dial_log: deque[DialLogEntry] = deque(maxlen=keep_finished)

    def place(self, request: DialRequest) -> tuple[_Call, bool]:
        """Start the call for `request` unless its key is known; True when started now.

        Raises:
            InvalidDialRequestError: the number is not E.164.
        """
        key = request.idempotency_key
        known = self._calls.get(key)
        if known is not None and not known.redialable:
            return known, False
        if not _E164.fullmatch(request.to_number):
            raise InvalidDialRequestError(f"not an E.164 number: {request.to_number!r}")
        self._finished.pop(key, None)
        call = _Call(key=key, placed_at=self._clock())
        # A task of the server's loop, not of the request: the call goes on when the
        # client that placed it disconnects or dies.
        call.task = asyncio.create_task(self._ring(call, request), name=f"carrier-call-{key}")
        call.task.add_done_callback(lambda task: self._finish(call, task))
        self._calls[key] = call
        return call, True

    def get(self, key: str) -> _Call | None:
        """The call under `key`, if known."""
        return self._calls.get(key)

    async def wait(self, call: _Call, seconds: float) -> None:
        """Return when `call` has ended or `seconds` have passed."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(call.ended.wait(), seconds)

    async def hang_up(self, key: str) -> _Call:
        """End the call under `key`; remember an unknown key as hung up."""
        call = self._calls.get(key)
        if call is None:
            return self._tombstone(key)
        if call.task is not None:
            call.task.cancel()
            # The carrier's own clean-up after a cancel takes a loop turn or two; one that
            # ignores the cancel is reported as still ringing rather than hanging the reply.
            await self.wait(call, _HANG_UP_WAIT_S)
        return call

    def dial_log(self) -> list[DialLogEntry]:
        """The calls that rang, oldest first."""
        return list(self._dial_log)

    async def aclose(self) -> None:
        """Hang up every call still running (the process is going away)."""
        running = [c.task for c in self._calls.values() if c.task is not None]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _ring(self, call: _Call, request: DialRequest) -> DialResult:
        # Logged in the same loop step in which the carrier starts ringing: a call
        # hung up before it ever started is in neither log.
        self._dial_log.append(
            DialLogEntry(
                idempotency_key=request.idempotency_key,
                to_number=request.to_number,
                attempt_number=request.attempt_number,
                campaign_id=request.campaign_id,
                contact_id=request.contact_id,
                at=call.placed_at,
            )
        )
        log.info("call %s placed (attempt %d)", request.idempotency_key, request.attempt_number)
        return await self._carrier.dial(request)

    def _finish(self, call: _Call, task: asyncio.Task[DialResult]) -> None:
        if task.cancelled():
            call.result = self._cancelled_result(call.placed_at)
        elif (exc := task.exception()) is not None:
            kind = INVALID_DIAL_REQUEST if isinstance(exc, InvalidDialRequestError) else None
            if kind is None:
                log.error("call %s broke", call.key, exc_info=exc)
            call.error = CallError(type=kind or CARRIER_ERROR, detail=str(exc))
        else:
            call.result = task.result()
        call.task = None
        call.ended.set()
        self._remember_finished(call.key)

    def _tombstone(self, key: str) -> _Call:
        now = self._clock()
        call = _Call(key=key, placed_at=now, result=self._cancelled_result(now))
        call.ended.set()
        self._calls[key] = call
        self._remember_finished(key)
        return call

    def _remember_finished(self, key: str) -> None:
        self._finished[key] = None
        while len(self._finished) > self._keep_finished:
            old, _ = self._finished.popitem(last=False)
            del self._calls[old]

    def _cancelled_result(self, placed_at: datetime) -> DialResult:
        ended = max(self._clock(), placed_at + timedelta(microseconds=1))
        return DialResult(
            outcome=CallOutcome.FAILED,
            disconnection_reason="cancelled",
            started_at=placed_at,
            ended_at=ended,
            duration_s=0.0,
        )


def carrier_router(carrier: Dialer, *, keep_finished: int = 100_000) -> APIRouter:
    """The `/carrier` routes over `carrier` (a `SimulatedCarrier` in dev and tests).

    Args:
        carrier: places the calls.
        keep_finished: how many ended calls stay queryable (and in the dial log).

    Returns:
        A router to include in the media app; its lifespan hangs up calls still running
        when the app shuts down.
    """
    calls = CarrierCalls(carrier, keep_finished=keep_finished)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await calls.aclose()

    router = APIRouter(prefix="/carrier", tags=["carrier"], lifespan=lifespan)

    @router.post(
        "/calls",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=CallStatus,
        responses={200: {"model": CallStatus}, 422: {"description": "Invalid dial request"}},
    )
    async def place_call(request: DialRequest, response: Response) -> CallStatus | JSONResponse:
        """Place a call, or report the one already placed under its key."""
        try:
            call, placed = calls.place(request)
        except InvalidDialRequestError as exc:
            return JSONResponse(
                status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                content={"detail": str(exc), "type": INVALID_DIAL_REQUEST},
            )
        if not placed:
            response.status_code = status.HTTP_200_OK
        return call.status()

    @router.get("/calls/{key:path}", responses={404: {"description": "Unknown call"}})
    async def get_call(
        key: str, wait: Annotated[float, Query(ge=0, le=MAX_WAIT_S)] = 0.0
    ) -> CallStatus:
        """A call's status; with `wait`, held until it ends or `wait` seconds pass."""
        call = _known(calls, key)
        await calls.wait(call, wait)
        return call.status()

    @router.delete("/calls/{key:path}")
    async def hang_up(key: str) -> CallStatus:
        """Hang up (idempotent); the call ends `failed` / `cancelled` if still running."""
        return (await calls.hang_up(key)).status()

    @router.get("/dial-log")
    async def dial_log() -> list[DialLogEntry]:
        """The calls that rang, in dial order."""
        return calls.dial_log()

    return router


def _known(calls: CarrierCalls, key: str) -> _Call:
    call = calls.get(key)
    if call is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {key!r}")
    return call
