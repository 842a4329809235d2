"""The WebSocket that Twilio and Telnyx stream phone calls to: `/carrier/{carrier}/stream`.

The carrier connects once the call is answered; the first message that matters is
`start`. Its parameters, with the socket URL's query for Telnyx (whose Dial command
takes no stream parameters), hold a token that must be one the broker expects (see
`realtime/carrier/stream_broker.py`); otherwise the socket is closed with code 1008
(policy violation) and the reason logged, and nothing of the call is touched. An
accepted stream becomes a `MediaStreamLeg`, handed to the dialer that waits for it;
its messages go to the leg until the carrier stops the stream or the dialer is done
with the call, whichever comes first, and then the socket is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from centralita.kernel.tasks import stop_tasks
from realtime.carrier.stream_broker import ExpectedStream, StreamBroker, StreamRefusedError
from realtime.legs.media_stream import MediaStreamLeg
from realtime.legs.stream_messages import (
    Dialect,
    StreamMessageError,
    StreamStart,
    StreamStop,
    parse,
    with_url_parameters,
)

log = logging.getLogger(__name__)

# How long a carrier may take between opening the socket and sending `start`.
START_TIMEOUT_S = 10.0
# Messages before `start` that we skip (`connected`); more is not a carrier.
MAX_MESSAGES_BEFORE_START = 5


def media_stream_router(broker: StreamBroker) -> APIRouter:
    """The carriers' media stream WebSocket route."""
    router = APIRouter()

    @router.websocket("/carrier/{carrier}/stream")
    async def stream(websocket: WebSocket, carrier: str) -> None:
        await websocket.accept()
        if carrier not in Dialect.__members__.values():
            log.warning("media stream on /carrier/%s refused: no such carrier", carrier[:40])
            await _close(websocket, status.WS_1008_POLICY_VIOLATION, "no such carrier")
            return
        try:
            dialect = Dialect(carrier)
            start = await asyncio.wait_for(_read_start(websocket, dialect), START_TIMEOUT_S)
            start = with_url_parameters(start, dialect, websocket.query_params)
            expected = broker.claim(start, dialect)
        except (ValueError, StreamRefusedError, TimeoutError) as exc:
            reason = "no start in time" if isinstance(exc, TimeoutError) else str(exc)
            log.warning("media stream on /carrier/%s refused: %s", carrier, reason)
            await _close(websocket, status.WS_1008_POLICY_VIOLATION, reason)
            return
        except WebSocketDisconnect:
            return
        leg = MediaStreamLeg(start, dialect, websocket.send_text)
        expected.leg.set_result(leg)
        await _carry(websocket, leg, expected)

    return router


async def _read_start(websocket: WebSocket, dialect: Dialect) -> StreamStart:
    for _ in range(MAX_MESSAGES_BEFORE_START):
        event = parse(await websocket.receive_text(), dialect)
        if isinstance(event, StreamStart):
            return event
        if event is not None:
            raise StreamMessageError(f"{type(event).__name__} before the stream's start")
    raise StreamMessageError("no start among the first messages")


async def _carry(websocket: WebSocket, leg: MediaStreamLeg, expected: ExpectedStream) -> None:
    """Messages to the leg until the stream stops or the call is over; then close."""
    reader = asyncio.create_task(_read(websocket, leg), name=f"read-{leg.start.stream_id}")
    finished = asyncio.create_task(expected.finished.wait())
    try:
        await asyncio.wait((reader, finished), return_when=asyncio.FIRST_COMPLETED)
    finally:
        leg.stream_ended()
        await stop_tasks((reader, finished), timeout_s=1.0, what="media stream")
        await _close(websocket, status.WS_1000_NORMAL_CLOSURE, "call ended")


async def _read(websocket: WebSocket, leg: MediaStreamLeg) -> None:
    dialect = leg.dialect
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            try:
                event = parse(await websocket.receive_text(), dialect)
            except StreamMessageError as exc:
                leg.bad_message(str(exc))
                continue
            if event is not None:
                leg.receive(event)
            if isinstance(event, StreamStop):
                return


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):  # already closed by the carrier
        await websocket.close(code=code, reason=reason[:120])
