"""Inbound phone calls through Twilio: `POST /carrier/twilio/voice`, a number's voice URL.

Twilio asks this webhook what to do with a call to one of our numbers. The called
number (`To`) picks the tenant, its Twilio account and the agent from the routing table
(`centralita.telephony`, managed through the API's `/phone-numbers`); the request is
verified with that account's auth token before anything else is read (403 otherwise,
and for an account that is not the number's). A number nobody routes, or whose agent
cannot take the call, is rejected (`<Reject/>`: the caller hears it busy) without a
conversation. Otherwise the answer is TwiML that connects the call to our media
WebSocket with a one-time token, and the conversation runs on the stream as an
outbound call's does, stored under the number's tenant.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from centralita.kernel.calls import DialRequest, DialResult
from centralita.telephony.models import Route, TwilioCredentials
from centralita.telephony.signatures import verify_twilio
from centralita.tenants.store.call_owners import inbound_call_key
from realtime.agents.setup import AgentSetup
from realtime.carrier.stream_broker import ExpectedStream, StreamBroker
from realtime.carrier.twilio import STREAM_PATH
from realtime.carrier.twilio_rest import stream_twiml
from realtime.conversation_line import ConversationLine
from realtime.legs.stream_messages import Dialect
from realtime.server.carrier_webhooks import TWILIO_SIGNATURE

log = logging.getLogger(__name__)

VOICE_PATH = "/carrier/twilio/voice"
# How long after answering the webhook the carrier has to open the media stream.
STREAM_WAIT_S = 15.0
REJECT = '<?xml version="1.0" encoding="UTF-8"?><Response><Reject reason="busy"/></Response>'

# The number's route, whichever tenant holds it (None: nobody's).
RouteLookup = Callable[[str], Awaitable[Route | None]]
# The variables a tenant knows of a caller's number (a campaign contact's).
CallerVariables = Callable[[str, str], Awaitable[dict[str, Any]]]


def twilio_inbound_router(
    line: ConversationLine,
    broker: StreamBroker,
    routes: RouteLookup,
    public_base: str,
    caller_variables: CallerVariables | None = None,
) -> APIRouter:
    """The voice webhook that answers calls to routed numbers with the tenant's agent."""
    router = APIRouter()
    calls: set[asyncio.Task[DialResult | None]] = set()

    @router.post(VOICE_PATH, include_in_schema=False)
    async def voice(request: Request) -> Response:
        form = await request.form()
        pairs = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
        fields = dict(pairs)
        route = await routes(fields.get("To", ""))
        query = f"?{request.url.query}" if request.url.query else ""
        url = f"{public_base.rstrip('/')}{request.url.path}{query}"
        if route is None or not isinstance(route.credentials, TwilioCredentials):
            log.info("inbound call to an unrouted number refused")
            return _twiml(REJECT)
        token = route.credentials.auth_token.get_secret_value()
        signature = request.headers.get(TWILIO_SIGNATURE, "")
        if not signature or not verify_twilio(token, url, pairs, signature):
            log.warning("Twilio voice webhook refused: bad or missing signature")
            return JSONResponse({"detail": "invalid X-Twilio-Signature"}, status_code=403)
        if fields.get("AccountSid") != route.credentials.account_sid:
            return JSONResponse({"detail": "not this number's account"}, status_code=403)
        dial = await routed_call(route, fields.get("From", ""), caller_variables)
        started = datetime.now(UTC)
        setup = await line.prepare(dial, started)
        if isinstance(setup, DialResult):
            log.warning("inbound call to %s refused: %s", route.number, setup.disconnection_reason)
            return _twiml(REJECT)
        expected = broker.expect(dial.idempotency_key, Dialect.TWILIO)
        task = asyncio.create_task(_hold(line, broker, expected, dial, setup, started))
        calls.add(task)
        task.add_done_callback(calls.discard)
        stream_url = public_base.rstrip("/").replace("https://", "wss://", 1)
        stream_url = stream_url.replace("http://", "ws://", 1) + STREAM_PATH
        body = stream_twiml(stream_url, expected.parameters)
        return _twiml('<?xml version="1.0" encoding="UTF-8"?>' + body)

    return router


async def routed_call(
    route: Route, caller: str, caller_variables: CallerVariables | None
) -> DialRequest:
    """An inbound call to a routed number as the agent sees it: the route's agent and
    variables, what the tenant knows of the caller, a key that names the tenant."""
    known = await caller_variables(route.tenant_id, caller) if caller_variables else {}
    return DialRequest(
        idempotency_key=inbound_call_key(route.tenant_id),
        to_number=route.number,
        campaign_id="",
        contact_id="",
        attempt_number=1,
        agent=route.agent,
        variables={**route.variables, **known},
        from_number=caller,
    )


async def _hold(
    line: ConversationLine,
    broker: StreamBroker,
    expected: ExpectedStream,
    dial: DialRequest,
    setup: AgentSetup,
    started: datetime,
) -> DialResult | None:
    """The inbound conversation, once the carrier opens its stream."""
    try:
        leg = await asyncio.wait_for(asyncio.shield(expected.leg), STREAM_WAIT_S)
    except TimeoutError:
        log.warning("inbound call %s: the carrier never opened its stream", dial.idempotency_key)
        return None
    finally:
        if not expected.leg.done():
            broker.forget(expected)
    try:
        return await line.hold_leg(
            dial, leg, setup, started, direction="inbound", from_number=dial.from_number
        )
    finally:
        broker.forget(expected)


def _twiml(body: str) -> Response:
    return Response(content=body, media_type="application/xml")
