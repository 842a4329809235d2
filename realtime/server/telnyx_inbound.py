"""Inbound phone calls through Telnyx: `POST /carrier/telnyx/inbound`, a number's webhook.

The Call Control Application a tenant's Telnyx number belongs to sends its call events
here (its webhook URL). Each event is read only far enough to find the called number
(`payload.to`, unverified); that number's route (`centralita.telephony`, managed through
the API's `/phone-numbers`) names the tenant, its Telnyx account and the agent, and the
event is then verified with that account's Ed25519 public key (`telnyx-signature-ed25519`
over `"{telnyx-timestamp}|"` and the raw body, within five minutes): 403 otherwise, and
for an event of another Call Control Application than the account's (`connection_id`).
An event for a number nobody routes cannot be verified and changes nothing (200,
logged: Telnyx retries failed deliveries).

`call.initiated` with direction `incoming` is a caller ringing: the agent is prepared
(one that cannot take the call: the call is rejected, `USER_BUSY`), the broker expects a
stream under a fresh inbound key of the tenant (`inbound_call_key`), and the call is
answered with the Answer command, as `TelnyxDialer` dials: a bidirectional RTP stream
to our WebSocket with the one-time token and key in its URL's query, G.711 both ways,
this route as its webhook and the key as `client_state`. The conversation then runs on
the stream as an outbound call's does, stored under the number's tenant; the call's
`call.hangup` ends it, and when the agent ends it the call is hung up through the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from centralita.kernel.calls import DialRequest, DialResult
from centralita.telephony.models import TelnyxCredentials
from centralita.telephony.signatures import (
    TELNYX_SIGNATURE_HEADER,
    TELNYX_TIMESTAMP_HEADER,
    SignatureError,
    verify_telnyx,
)
from realtime.agents.setup import AgentSetup
from realtime.audio.g711 import G711Law
from realtime.carrier.stream_broker import ExpectedStream, StreamBroker
from realtime.carrier.telnyx import STREAM_PATH, client_state
from realtime.carrier.telnyx_rest import (
    DEFAULT_API_BASE,
    TelnyxAccount,
    TelnyxCalls,
    TelnyxRejectedError,
    TelnyxUnavailableError,
)
from realtime.conversation_line import ConversationLine
from realtime.legs.media_stream import MediaStreamLeg
from realtime.legs.stream_messages import Dialect
from realtime.server.phone_inbound import CallerVariables, RouteLookup, routed_call
from realtime.server.telnyx_webhooks import parse_event, refused

log = logging.getLogger(__name__)

INBOUND_PATH = "/carrier/telnyx/inbound"
# How long after answering Telnyx has to open the media stream.
STREAM_WAIT_S = 15.0


@dataclass
class _Held:
    """An inbound call this worker answered, until it is over."""

    calls: TelnyxCalls
    leg: MediaStreamLeg | None = None


def telnyx_inbound_router(
    line: ConversationLine,
    broker: StreamBroker,
    routes: RouteLookup,
    public_base: str,
    caller_variables: CallerVariables | None = None,
    *,
    api_base: str = DEFAULT_API_BASE,
    codec: G711Law = G711Law.PCMU,
) -> APIRouter:
    """The webhook that answers Telnyx calls to routed numbers with the tenant's agent.

    Args:
        api_base: Telnyx's API (a fake's, in tests).
        codec: the G.711 law of the stream both ways (as `TelnyxDialer`'s).
    """
    router = APIRouter()
    held: dict[str, _Held] = {}  # by call_control_id
    tasks: set[asyncio.Task[DialResult | None]] = set()
    base = public_base.rstrip("/")
    stream_base = base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)

    @router.post(INBOUND_PATH, include_in_schema=False)
    async def events(request: Request) -> Response:
        body = await request.body()  # the raw bytes: the signature covers exactly these
        event = parse_event(body)
        if event is None:
            return refused("not a Telnyx webhook")
        event_type, payload = event
        to = payload.get("to")
        route = await routes(to) if isinstance(to, str) and to else None
        if route is None or not isinstance(route.credentials, TelnyxCredentials):
            log.info("Telnyx %s for an unrouted number: ignored", event_type)
            return Response(status_code=200)
        credentials = route.credentials
        signature = request.headers.get(TELNYX_SIGNATURE_HEADER, "")
        timestamp = request.headers.get(TELNYX_TIMESTAMP_HEADER, "")
        if not signature or not timestamp:
            return refused("missing telnyx-signature-ed25519 or telnyx-timestamp")
        try:
            verify_telnyx(credentials.public_key, body, signature, timestamp)
        except SignatureError as exc:
            log.warning("Telnyx inbound webhook refused: %s (%s)", exc.reason, exc)
            return refused(f"invalid signature: {exc.reason}")
        if payload.get("connection_id") != credentials.connection_id:
            return refused("not this number's account")
        call_id = payload.get("call_control_id")
        if not isinstance(call_id, str) or not call_id:
            return Response(status_code=200)
        if event_type == "call.hangup":
            call = held.get(call_id)
            if call is not None and call.leg is not None:
                call.leg.stream_ended()  # as the stream's own `stop` would
            return Response(status_code=200)
        if event_type != "call.initiated" or payload.get("direction") != "incoming":
            return Response(status_code=200)
        if call_id in held:
            return Response(status_code=200)  # a delivery Telnyx retried
        dial = await routed_call(route, str(payload.get("from") or ""), caller_variables)
        account = TelnyxAccount(
            credentials.api_key, credentials.connection_id, credentials.public_key, api_base
        )
        calls = TelnyxCalls(account)
        started = datetime.now(UTC)
        setup = await line.prepare(dial, started)
        if isinstance(setup, DialResult):
            log.warning("inbound call to %s refused: %s", route.number, setup.disconnection_reason)
            with contextlib.suppress(TelnyxRejectedError, TelnyxUnavailableError):
                await calls.reject(call_id)
            await calls.aclose()
            return Response(status_code=200)
        expected = broker.expect(dial.idempotency_key, Dialect.TELNYX)
        answer = {
            "stream_url": f"{stream_base}{STREAM_PATH}?{urlencode(dict(expected.parameters))}",
            "stream_track": "inbound_track",
            "stream_codec": codec.value,
            "stream_bidirectional_mode": "rtp",
            "stream_bidirectional_codec": codec.value,
            "client_state": client_state(dial.idempotency_key),
            "webhook_url": f"{base}{INBOUND_PATH}",
            "webhook_url_method": "POST",
        }
        call = held[call_id] = _Held(calls)
        try:
            await calls.answer(call_id, answer)
        except (TelnyxRejectedError, TelnyxUnavailableError) as exc:
            log.warning("inbound call to %s not answered: %s", route.number, exc)
            held.pop(call_id, None)
            broker.forget(expected)
            await calls.aclose()
            return Response(status_code=200)
        holding = _hold(line, broker, expected, dial, setup, started, call_id, call)
        task = asyncio.create_task(holding)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        task.add_done_callback(lambda _: held.pop(call_id, None))
        return Response(status_code=200)

    return router


async def _hold(
    line: ConversationLine,
    broker: StreamBroker,
    expected: ExpectedStream,
    dial: DialRequest,
    setup: AgentSetup,
    started: datetime,
    call_id: str,
    call: _Held,
) -> DialResult | None:
    """The inbound conversation, once Telnyx opens its stream; then the call is hung up."""
    try:
        try:
            leg = await asyncio.wait_for(asyncio.shield(expected.leg), STREAM_WAIT_S)
        except TimeoutError:
            log.warning("inbound call %s: Telnyx never opened its stream", dial.idempotency_key)
            return None
        call.leg = leg
        return await line.hold_leg(
            dial, leg, setup, started, direction="inbound", from_number=dial.from_number
        )
    finally:
        broker.forget(expected)
        with contextlib.suppress(TelnyxRejectedError, TelnyxUnavailableError):
            await call.calls.hangup(call_id)  # over already when the caller hung up
        await call.calls.aclose()
