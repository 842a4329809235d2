"""HTTP signalling's edges: who answers which number, and calls that never connect.

The media app runs under uvicorn on loopback with a conversation line whose speech
providers are scripted (these calls never get to talk; the real conversations over
signalling are in tests/e2e/test_signalling_calls.py). Offers and answers are real
aiortc SDP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from centralita.kernel.calls import CallOutcome, DialRequest
from realtime.agents.setup import flow_agent_for
from realtime.carrier.http_dialer import HttpDialer
from realtime.carrier.simulated import Persona, PersonaStep, SimulatedCarrier
from realtime.carrier.softphone_dialer import SoftphoneDialer
from realtime.conversation_line import ConversationLine
from realtime.legs.webrtc import new_peer_connection, restrict_ice_to_loopback
from realtime.server.app import create_media_app
from realtime.server.inbound import InboundDirectory, InboundRoute
from realtime.server.signalling import signalling_router
from realtime.softphone.exchange import SoftphoneExchange
from realtime.softphone.http_client import HttpSoftphone, SignallingError
from realtime.softphone.script import BotScript
from tests.support.providers import ScriptedSTT, ScriptedTTS
from tests.support.servers import serving

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

AGENT_NUMBER = "+56229990000"
NO_VARIABLES_NUMBER = "+56229990001"
SOFTPHONE = "+56960000001"
PERSONA_NUMBER = "+56960000002"
DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}


@pytest_asyncio.fixture
async def media_url() -> AsyncIterator[str]:
    restrict_ice_to_loopback()
    line = ConversationLine(agent_for=flow_agent_for, stt=ScriptedSTT(), tts=ScriptedTTS())
    exchange = SoftphoneExchange()
    busy = Persona(
        number=PERSONA_NUMBER,
        name="busy",
        script=[PersonaStep(outcome=CallOutcome.BUSY, ring_seconds=0)],
    )
    dialer = SoftphoneDialer(
        exchange, line, fallback=SimulatedCarrier([busy], time_scale=0), ring_timeout_s=1.0
    )
    directory = InboundDirectory(
        {
            AGENT_NUMBER: InboundRoute(agent="cobranza-temprana", variables=DEBTOR),
            NO_VARIABLES_NUMBER: InboundRoute(agent="cobranza-temprana"),
        }
    )
    app = create_media_app(dialer, signalling=signalling_router(line, exchange, directory))
    async with serving(app) as url:
        yield url
    restrict_ice_to_loopback(False)


def _request(number: str, key: str) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number=number,
        campaign_id="sig",
        contact_id=key,
        attempt_number=1,
        agent="cobranza-temprana",
        variables=DEBTOR,
    )


async def _offer_sdp() -> str:
    pc = new_peer_connection()
    pc.addTransceiver("audio")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = str(pc.localDescription.sdp)
    await pc.close()
    return sdp


async def _call_in(http: httpx.AsyncClient, url: str, to_number: str, sdp: str) -> httpx.Response:
    body = {"to_number": to_number, "from_number": SOFTPHONE, "sdp": sdp, "type": "offer"}
    return await http.post(f"{url}/calls/inbound", json=body)


async def test_an_unknown_inbound_number_is_refused_with_404(media_url: str) -> None:
    async with httpx.AsyncClient() as http:
        reply = await _call_in(http, media_url, "+56229999999", await _offer_sdp())
    assert reply.status_code == 404
    assert reply.json()["type"] == "UnknownNumber"


async def test_an_agent_missing_its_variables_refuses_with_409(media_url: str) -> None:
    async with httpx.AsyncClient() as http:
        reply = await _call_in(http, media_url, NO_VARIABLES_NUMBER, await _offer_sdp())
    assert reply.status_code == 409
    assert reply.json()["type"] == "AgentUnavailable"
    assert "nombre" in reply.json()["detail"]


@pytest.mark.parametrize(
    "sdp",
    [
        "v=0\r\nthis is not sdp\r\n",
        "",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio x y z\r\n",
        "\x00\xff" * 50,
    ],
)
async def test_an_unusable_offer_is_refused_with_422(media_url: str, sdp: str) -> None:
    async with httpx.AsyncClient() as http:
        garbage = await _call_in(http, media_url, AGENT_NUMBER, sdp)
        # The media worker is still answering after it.
        healthy = await http.get(f"{media_url}/health")
    assert garbage.status_code == 422, garbage.text
    assert garbage.json()["type"] == "InvalidOffer"
    assert healthy.status_code == 200


async def test_an_inbound_number_that_is_not_e164_is_422(media_url: str) -> None:
    async with httpx.AsyncClient() as http:
        not_e164 = await _call_in(http, media_url, "12345", await _offer_sdp())
    assert not_e164.status_code == 422


async def test_an_inbound_call_is_answered_with_an_sdp_answer(media_url: str) -> None:
    async with httpx.AsyncClient() as http:
        reply = await _call_in(http, media_url, AGENT_NUMBER, await _offer_sdp())
        assert reply.status_code == 201, reply.text
        answer = reply.json()
        assert answer["type"] == "answer"
        assert "m=audio" in answer["sdp"]
        assert "127.0.0.1" in answer["sdp"]  # loopback candidates, inline (no trickle)
        call_id = answer["call_id"]
        # Nobody completes the connection: the call ends as failed, and says why.
        status = (await http.delete(f"{media_url}/calls/{call_id}")).json()
        assert status["state"] == "ended"
        unknown = await http.get(f"{media_url}/calls/inbound-nope")
    assert unknown.status_code == 404


async def test_a_softphone_that_rejects_as_busy_makes_the_attempt_busy(media_url: str) -> None:
    async with httpx.AsyncClient() as http:
        phone = HttpSoftphone(media_url, SOFTPHONE, ScriptedTTS(), http=http)
        dialer = HttpDialer(media_url, client=http, poll_interval=0.05)
        # Poll first, so the number is held when the dial arrives.
        rejecting = asyncio.create_task(phone.reject_next("busy", wait_s=10))
        await asyncio.sleep(0.2)
        result = await dialer.dial(_request(SOFTPHONE, "busy-softphone"))
        assert await rejecting == "busy-softphone"
    assert result.outcome is CallOutcome.BUSY
    assert result.disconnection_reason == "busy"


async def _hold_softphone(http: httpx.AsyncClient, media_url: str) -> asyncio.Task[httpx.Response]:
    """The softphone's long poll for its next call, already waiting at the media worker."""
    number = SOFTPHONE.replace("+", "%2B")
    poll = asyncio.create_task(
        http.get(f"{media_url}/softphones/{number}/calls/next", params={"wait": 10})
    )
    await asyncio.sleep(0.2)
    return poll


async def test_a_softphone_that_never_picks_up_is_no_answer(media_url: str) -> None:
    async with httpx.AsyncClient() as http:
        poll = await _hold_softphone(http, media_url)
        dialer = HttpDialer(media_url, client=http, poll_interval=0.05)
        result = await dialer.dial(_request(SOFTPHONE, "never-answers"))
        offered = (await poll).json()
        # The ring timed out: a late answer finds no call.
        late = await http.post(
            f"{media_url}/calls/{offered['call_id']}/answer",
            json={"sdp": "v=0\r\n", "type": "answer"},
        )
    assert result.outcome is CallOutcome.NO_ANSWER
    assert offered["call_id"] == "never-answers"
    assert offered["type"] == "offer"
    assert "m=audio" in offered["sdp"]
    assert late.status_code == 404


async def test_a_number_no_softphone_holds_goes_to_the_carrier(media_url: str) -> None:
    async with httpx.AsyncClient() as http:
        dialer = HttpDialer(media_url, client=http, poll_interval=0.05)
        result = await dialer.dial(_request(PERSONA_NUMBER, "to-persona"))
        idle = await http.get(
            f"{media_url}/softphones/{SOFTPHONE.replace('+', '%2B')}/calls/next",
            params={"wait": 0},
        )
    assert result.outcome is CallOutcome.BUSY  # the persona's scripted answer
    assert idle.status_code == 204


async def test_answering_a_call_that_does_not_ring_is_404(media_url: str) -> None:
    async with httpx.AsyncClient() as http:
        phone = HttpSoftphone(media_url, SOFTPHONE, ScriptedTTS(), http=http)
        with pytest.raises(SignallingError) as refused:
            await phone.call("+56229999999", BotScript())
        reply = await http.post(
            f"{media_url}/calls/nothing/answer", json={"sdp": "v=0\r\n", "type": "answer"}
        )
    assert refused.value.status_code == 404
    assert reply.status_code == 404


async def test_a_garbage_answer_fails_the_call_cleanly(media_url: str) -> None:
    async with httpx.AsyncClient() as http:
        poll = await _hold_softphone(http, media_url)
        dialer = HttpDialer(media_url, client=http, poll_interval=0.05)
        dialing = asyncio.create_task(dialer.dial(_request(SOFTPHONE, "garbage-answer")))
        offered = (await poll).json()
        answered = await http.post(
            f"{media_url}/calls/{offered['call_id']}/answer",
            json={"sdp": "v=0\r\nnot an answer\r\n", "type": "answer"},
        )
        result = await dialing
    assert answered.status_code == 204  # taken; it is the call that fails with it
    assert result.outcome is CallOutcome.FAILED
    assert result.disconnection_reason.startswith("media_error: unusable SDP answer")
