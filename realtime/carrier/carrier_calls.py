"""The carrier's calls, one per idempotency key: placed, joined, hung up, remembered.

The HTTP service (`realtime/carrier/http_service.py`) is this registry's face. With a
`DialStore` the calls and the dial log are durable too (see that module's docstring for
what a restarted process does with a call it finds there).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import socket
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from centralita.kernel.calls import (
    CallOutcome,
    Dialer,
    DialRequest,
    DialResult,
    InvalidDialRequestError,
)
from realtime.carrier.dial_store import (
    INVALID_DIAL_REQUEST as INVALID_DIAL_REQUEST,  # part of this service's contract
)
from realtime.carrier.dial_store import (
    DialStore,
    DialStoreError,
    LoggedDial,
    StoredCall,
)

log = logging.getLogger(__name__)

# The same rule SimulatedCarrier applies; checked here too so a bad number is refused
# with a 422 before a call (and a dial-log entry) exists.
_E164 = re.compile(r"\+[1-9]\d{6,14}")

CARRIER_ERROR = "CarrierError"
# A long poll is held at most this long, so a client's read timeout can be set above it.
MAX_WAIT_S = 30.0
_HANG_UP_WAIT_S = 5.0
# Storing a call's end is retried at these pauses (doubling) while the store is down;
# the call reports `ringing` meanwhile, so the dialer waits instead of dialling again.
_RECORD_RETRY_S = (0.5, 10.0)
# How long a shutdown waits for calls' ends to be stored.
_CLOSE_RECORD_WAIT_S = 3.0
# Ended calls kept in memory by default. Without a store this memory is all that stops a
# late retry from ringing a key again, so it is large; with one, the store answers for
# older calls and memory only saves a read for the most recent ones.
KEEP_FINISHED = 100_000
KEEP_FINISHED_WITH_STORE = 100
# The most entries the dial log answers with.
DIAL_LOG_LIMIT = 100_000

CallState = Literal["ringing", "in_progress", "ended"]


@runtime_checkable
class RecoveringDialer(Protocol):
    """A dialer whose carrier keeps calls a dead process placed (a real carrier).

    `recover` is asked before a lost ring is rung again: the result of the call the
    carrier placed for `request` since `rang_at` (ending it if it is still up: nobody
    holds its conversation any more), or None when the carrier has no such call.
    """

    async def dial(self, request: DialRequest) -> DialResult:
        """Place the call and wait for its end."""
        ...

    async def recover(self, request: DialRequest, rang_at: datetime) -> DialResult | None:
        """The lost ring's call as the carrier knows it; None if it never placed one."""
        ...


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

    @classmethod
    def from_store(cls, logged: LoggedDial) -> DialLogEntry:
        """The entry for one ring in the durable log."""
        return cls(
            idempotency_key=logged.idempotency_key,
            to_number=logged.to_number,
            attempt_number=logged.attempt_number,
            campaign_id=logged.campaign_id,
            contact_id=logged.contact_id,
            at=logged.at,
        )


@dataclass(eq=False)
class Call:
    key: str
    placed_at: datetime
    task: asyncio.Task[DialResult] | None = None
    result: DialResult | None = None
    error: CallError | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    dial: int = 1  # which ring of its key this is (counted by the store)

    def status(self) -> CallStatus:
        return CallStatus(
            idempotency_key=self.key,
            state="ended" if self.ended.is_set() else "ringing",
            result=self.result,
            error=self.error,
        )

    @property
    def redialable(self) -> bool:
        """A call that broke on the carrier's side may be placed again under its key.

        Only once it reports ended: while its end is being stored, the store still holds
        its ring as running, and a new ring would take that over.
        """
        broke = self.error is not None and self.error.type != INVALID_DIAL_REQUEST
        return broke and self.ended.is_set()

    @classmethod
    def stored(cls, call: StoredCall, placed_at: datetime) -> Call:
        """An ended call as the store reports it; a lost one ends with a `CarrierError`."""
        error = None
        if call.error_type is not None:
            error = CallError(type=call.error_type, detail=call.error_detail or "")
        elif call.lost:
            detail = f"lost with a restarted media worker ({call.owner}, ring {call.dials})"
            error = CallError(type=CARRIER_ERROR, detail=detail)
        ended = cls(key=call.idempotency_key, placed_at=placed_at, dial=call.dials)
        ended.result, ended.error = call.result, error
        ended.ended.set()
        return ended


def instance_id() -> str:
    """An id for this carrier instance: host and pid to read, a random part to be unique."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class CarrierCalls:
    """The calls a carrier is placing or has placed, one per idempotency key.

    Args:
        carrier: places each call (the simulated carrier, later the media worker's own).
        keep_finished: how many ended calls stay in memory, oldest dropped first (and,
            without a store, dial-log entries); by default `KEEP_FINISHED`, or
            `KEEP_FINISHED_WITH_STORE` with a store.
        clock: current time.
        store: where calls and the dial log are kept durably; None keeps them in memory
            only (lost with the process).
        owner: this instance's id in the store (by default host, pid and a random part).
    """

    def __init__(
        self,
        carrier: Dialer,
        *,
        keep_finished: int | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        store: DialStore | None = None,
        owner: str | None = None,
    ) -> None:
        if keep_finished is None:
            keep_finished = KEEP_FINISHED if store is None else KEEP_FINISHED_WITH_STORE
        self._carrier = carrier
        self._keep_finished = keep_finished
        self._clock = clock
        self._store = store
        self.owner = owner or instance_id()
        self._calls: dict[str, Call] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()  # in order of ending
        # The dial log when there is no store (the store keeps it otherwise).
        self._dial_log: deque[DialLogEntry] = deque(maxlen=keep_finished)
        # Dial requests being recorded in the store, by key: a second request for the
        # key waits for the first instead of recording (and ringing) again.
        self._claims: dict[str, asyncio.Task[tuple[Call, bool]]] = {}
        self._recording: set[asyncio.Task[None]] = set()
        self._closing = False

    async def place(self, request: DialRequest) -> tuple[Call, bool]:
        """Start the call for `request` unless its key is known; True when started now.

        Raises:
            InvalidDialRequestError: the number is not E.164.
            DialStoreError: the request could not be recorded; nothing rang.
        """
        key = request.idempotency_key
        known = self._calls.get(key)
        if known is not None and not known.redialable:
            return known, False
        claiming = self._claims.get(key)
        if claiming is not None:
            call, _ = await asyncio.shield(claiming)
            return call, False
        if not _E164.fullmatch(request.to_number):
            raise InvalidDialRequestError(f"not an E.164 number: {request.to_number!r}")
        if self._store is None:
            return self._start(request, self._clock()), True
        claiming = asyncio.create_task(self._claim(self._store, request), name=f"claim-{key}")
        self._claims[key] = claiming
        claiming.add_done_callback(lambda task: self._claimed(key, task))
        # Shielded: a request that goes away mid-claim must not leave a recorded ring
        # that nobody placed.
        return await asyncio.shield(claiming)

    async def find(self, key: str) -> Call | None:
        """The call under `key`: running or ended here, or as the store knows it.

        Raises:
            DialStoreError: the store could not be read.
        """
        claiming = self._claims.get(key)
        if claiming is not None:
            with contextlib.suppress(Exception):  # its own request reports the failure
                await asyncio.shield(claiming)
        call = self._calls.get(key)
        if call is not None or self._store is None:
            return call
        stored = await self._store.get(key)
        if stored is None:
            return None
        if not stored.ended:
            # Lost: not running here, and a later dial request must ring it again.
            return Call.stored(stored, self._clock())
        return self._remember_stored(stored)

    async def wait(self, call: Call, seconds: float) -> None:
        """Return when `call` has ended or `seconds` have passed."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(call.ended.wait(), seconds)

    async def hang_up(self, key: str) -> Call:
        """End the call under `key`; remember an unknown key as hung up.

        Raises:
            DialStoreError: the call is not running here and the store could not be read.
        """
        call = await self.find(key)
        if call is None:
            return self._tombstone(key)
        if self._store is not None and self._calls.get(key) is not call:
            # Lost with a dead process: ended for good, so no later request rings it.
            now = self._clock()
            stored = await self._store.hang_up(key, result=self._cancelled_result(now), at=now)
            return self._tombstone(key) if stored is None else self._remember_stored(stored)
        if call.task is not None:
            call.task.cancel()
        # The carrier's own clean-up after a cancel takes a loop turn or two (and storing
        # the end one more); a call that ignores the cancel is reported as still ringing
        # rather than hanging the reply.
        await self.wait(call, _HANG_UP_WAIT_S)
        return call

    async def dial_log(self) -> list[DialLogEntry]:
        """The calls that rang, oldest first (the durable log when there is a store).

        Raises:
            DialStoreError: the store could not be read.
        """
        if self._store is None:
            return list(self._dial_log)
        logged = await self._store.dial_log(limit=DIAL_LOG_LIMIT)
        return [DialLogEntry.from_store(entry) for entry in logged]

    async def aclose(self) -> None:
        """Hang up every call still running (the process is going away).

        With a store, a call cut off by the shutdown is not stored as ended: like a call
        of a killed process, it is lost, and the retry of its attempt rings it again.
        """
        self._closing = True
        await asyncio.gather(*self._claims.values(), return_exceptions=True)
        running = [c.task for c in self._calls.values() if c.task is not None]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        if self._recording:
            _, late = await asyncio.wait(self._recording, timeout=_CLOSE_RECORD_WAIT_S)
            for recording in late:
                recording.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _claim(self, store: DialStore, request: DialRequest) -> tuple[Call, bool]:
        placed_at = self._clock()
        claim = await store.claim(request, owner=self.owner, at=placed_at)
        if claim.lost_owner is not None:
            log.warning(
                "call %s was lost with carrier %s (ring %d); ringing it again as ring %d",
                request.idempotency_key,
                claim.lost_owner,
                claim.call.dials - 1,
                claim.call.dials,
            )
        if not claim.ring:
            log.info("call %s already ended; reporting its stored end", request.idempotency_key)
            return self._remember_stored(claim.call), False
        recover_since = claim.lost_dialed_at if claim.lost_owner is not None else None
        return self._start(request, placed_at, dial=claim.call.dials, recover=recover_since), True

    def _claimed(self, key: str, task: asyncio.Task[tuple[Call, bool]]) -> None:
        if self._claims.get(key) is task:
            del self._claims[key]
        if not task.cancelled():
            task.exception()  # retrieved: each waiting request reports it

    def _start(
        self,
        request: DialRequest,
        placed_at: datetime,
        *,
        dial: int = 1,
        recover: datetime | None = None,
    ) -> Call:
        key = request.idempotency_key
        self._finished.pop(key, None)
        call = Call(key=key, placed_at=placed_at, dial=dial)
        # A task of the server's loop, not of the request: the call goes on when the
        # client that placed it disconnects or dies.
        call.task = asyncio.create_task(
            self._ring(call, request, recover), name=f"carrier-call-{key}"
        )
        call.task.add_done_callback(lambda task: self._finish(call, task))
        self._calls[key] = call
        return call

    async def _ring(
        self, call: Call, request: DialRequest, recover: datetime | None = None
    ) -> DialResult:
        # Logged in the same loop step in which the carrier starts ringing: a call
        # hung up before it ever started is in neither log.
        if self._store is None:
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
        if recover is not None and isinstance(self._carrier, RecoveringDialer):
            # A real carrier may have placed the lost ring's call: find it, never ring
            # the person a second time for one attempt.
            recovered = await self._carrier.recover(request, recover)
            if recovered is not None:
                log.info("call %s recovered from the carrier", request.idempotency_key)
                return recovered
        log.info("call %s placed (attempt %d)", request.idempotency_key, request.attempt_number)
        return await self._carrier.dial(request)

    def _finish(self, call: Call, task: asyncio.Task[DialResult]) -> None:
        call.task = None
        if task.cancelled() and self._closing and self._store is not None:
            detail = "the media worker shut down mid-call"
            call.error = CallError(type=CARRIER_ERROR, detail=detail)
            self._ended(call)
        elif task.cancelled():
            call.result = self._cancelled_result(call.placed_at)
        elif (exc := task.exception()) is not None:
            kind = INVALID_DIAL_REQUEST if isinstance(exc, InvalidDialRequestError) else None
            if kind is None:
                log.error("call %s broke", call.key, exc_info=exc)
            call.error = CallError(type=kind or CARRIER_ERROR, detail=str(exc))
        else:
            call.result = task.result()
        if call.ended.is_set():
            return
        if self._store is None:
            self._ended(call)
            return
        recording = asyncio.create_task(self._record_end(self._store, call))
        self._recording.add(recording)
        recording.add_done_callback(self._recording.discard)

    async def _record_end(self, store: DialStore, call: Call) -> None:
        """Store the call's end, then let it report ended (retried while the store is down).

        Until stored, a kill would leave the call unfinished in the store, and the retry
        of its attempt would ring the person again; so the status stays `ringing` (the
        dialer keeps waiting) until the end is stored.
        """
        error = (call.error.type, call.error.detail) if call.error is not None else None
        pause, longest = _RECORD_RETRY_S
        try:
            while True:
                try:
                    kept = await store.finish(
                        call.key,
                        owner=self.owner,
                        dial=call.dial,
                        result=call.result,
                        error=error,
                        at=self._clock(),
                    )
                except DialStoreError as exc:
                    log.error("call %s ended; storing its end failed, retrying: %s", call.key, exc)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, longest)
                    continue
                if not kept:
                    log.warning(
                        "call %s: ring %d was taken over; end not stored", call.key, call.dial
                    )
                return
        finally:
            # Also when cancelled by a shutdown: whoever still polls gets the end.
            self._ended(call)

    def _ended(self, call: Call) -> None:
        call.ended.set()
        if self._calls.get(call.key) is call:  # not replaced by a newer ring of its key
            self._remember_finished(call.key)

    def _remember_stored(self, stored: StoredCall) -> Call:
        call = Call.stored(stored, self._clock())
        self._calls[stored.idempotency_key] = call
        self._remember_finished(stored.idempotency_key)
        return call

    def _tombstone(self, key: str) -> Call:
        now = self._clock()
        call = Call(key=key, placed_at=now, result=self._cancelled_result(now))
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
