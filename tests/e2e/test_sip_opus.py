"""Opus over SIP, end to end on loopback: a phone that prefers Opus gets Opus, both ways.

Trunks get G.711 first in our offers; a softphone or PBX that puts Opus first in its
answer (outbound) or its offer (inbound) is spoken to in Opus at 48 kHz. baresip with
its Opus module plays the phone: what our user agent and baresip write in their SDP is
read from baresip's SIP trace, and the conversation is checked both ways (the agent's
transcript holds the caller's words; baresip's recording holds the agent's speech).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from pydantic import SecretStr

from centralita.kernel.calls import CallOutcome, DialRequest, DialResult
from centralita.telephony.models import Route, TwilioCredentials
from realtime.carrier.sip_trunk import SipMedia, SipTrunk, SipTrunkDialer
from realtime.conversation_line import CallParties, ConversationLine
from realtime.server.sip_inbound import SipInbound
from realtime.session.record import CallRecord
from realtime.sip.digest import NonceKeeper
from realtime.sip.rtp_session import PortRange
from realtime.sip.sdp import SessionDescription, parse_sdp
from realtime.sip.user_agent import SipUserAgent
from tests.support.lines import loopback_line, until
from tests.support.sip_audio import loud_seconds, spoken
from tests.support.sip_peers import Baresip

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

MEDIA = SipMedia(host="127.0.0.1", ports=PortRange(33000, 33999))
DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}
NUMBER = "+56229990077"
TENANT = str(uuid.uuid4())

Stored = list[tuple[DialRequest, CallRecord, DialResult]]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def line() -> AsyncIterator[tuple[ConversationLine, Stored]]:
    stored: Stored = []

    async def on_ended(
        request: DialRequest, record: CallRecord, result: DialResult, parties: CallParties
    ) -> None:
        stored.append((request, record, result))

    async with loopback_line(on_call_ended=on_ended) as conversation_line:
        yield conversation_line, stored


def sdps(log: str, start_line: str) -> list[SessionDescription]:
    """The SDPs of the SIP messages in baresip's trace (each between its colour codes)
    whose first line starts with `start_line` ("INVITE", "SIP/2.0 200"), in order."""
    found = []
    for block in re.split(r"\x1b\[36;1m#|\x1b\[;m", log):
        lines = block.strip().splitlines()[1:]  # below the "UDP a -> b" line
        if lines and lines[0].startswith(start_line) and "\nv=0" in block:
            found.append(parse_sdp(block[block.index("\nv=0") + 1 :]))
    return found


def caller_words(record: CallRecord) -> str:
    return " ".join(text for who, text in record.transcript if who == "user").lower()


@pytest.mark.asyncio(loop_scope="module")
async def test_a_phone_that_answers_in_opus_is_called_in_opus(
    line: tuple[ConversationLine, Stored],
) -> None:
    conversation_line, _ = line
    agent = await SipUserAgent.start("127.0.0.1", 0)
    wav = spoken((6.0, "Sí, con ella habla."))
    try:
        async with Baresip("maria", wav=wav, tail_silence_s=6.0, codecs=("opus",)) as phone:
            trunk = SipTrunk(proxy_host="127.0.0.1", proxy_port=phone.sip_port, ring_timeout_s=15)
            dialer = SipTrunkDialer(agent, trunk, MEDIA, conversation_line)
            result = await dialer.dial(
                DialRequest(
                    idempotency_key="sip-opus-out",
                    to_number=phone.uri,
                    campaign_id="sip",
                    contact_id="sip-opus-out",
                    attempt_number=1,
                    agent="cobranza-temprana",
                    variables=DEBTOR,
                )
            )
            heard = await phone.recording()
            heard_s = loud_seconds(heard) if heard is not None else 0.0
            log = phone.log()
    finally:
        agent.close()

    offer, answer = sdps(log, "INVITE")[0], sdps(log, "SIP/2.0 200")[0]
    # G.711 first in our offer, as trunks expect; the phone answered Opus.
    assert [c.name for c in offer.codecs][:3] == ["PCMU", "PCMA", "opus"]
    assert answer.codecs[0].name.lower() == "opus"
    assert "Set audio encoder: opus 48000Hz" in log
    record = conversation_line.records["sip-opus-out"]
    assert "ella" in record.transcript_text().lower(), record.transcript_text()
    assert heard_s > 2.0
    assert result.outcome is CallOutcome.NO_DECISION


async def routes(number: str) -> Route | None:
    if number != NUMBER:
        return None
    return Route(
        number=NUMBER,
        tenant_id=TENANT,
        agent="cobranza-tardia",
        variables={
            "nombre": "Pedro",
            "empresa": "Banco Austral",
            "monto_total": 450000,
            "fecha_limite": "2026-10-15",
        },
        account_id=str(uuid.uuid4()),
        account_name="Troncal SIP",
        calls_per_second=1,
        # Read only by the Twilio webhook, never by SipInbound.
        credentials=TwilioCredentials(account_sid="AC" + "0" * 32, auth_token=SecretStr("x")),
    )


@pytest.mark.asyncio(loop_scope="module")
async def test_a_caller_who_offers_opus_first_is_answered_in_opus(
    line: tuple[ConversationLine, Stored],
) -> None:
    conversation_line, stored = line
    stored.clear()
    agent = await SipUserAgent.start("127.0.0.1", 0)
    inbound = SipInbound(
        agent,
        conversation_line,
        routes,
        MEDIA,
        [SipTrunk(proxy_host="127.0.0.1")],
        nonces=NonceKeeper(b"opus-e2e-secret"),
    )
    inbound.attach()
    wav = spoken((6.0, "Hola, quiero pagar mi deuda."))
    try:
        # Opus loaded first: baresip offers opus/48000/2, then PCMU and PCMA.
        async with Baresip("caller", wav=wav, tail_silence_s=6.0, codecs=("opus", "g711")) as phone:
            await phone.dial(f"sip:{NUMBER}@127.0.0.1:{agent.address[1]}")
            await phone.wait_event("CALL_ESTABLISHED", timeout_s=10)
            await phone.wait_event("CALL_CLOSED", timeout_s=40)
            heard = await phone.recording()
            heard_s = loud_seconds(heard) if heard is not None else 0.0
            log = phone.log()
            await until(lambda: bool(stored), 30)
    finally:
        await inbound.aclose()
        agent.close()

    offer, answer = sdps(log, "INVITE")[0], sdps(log, "SIP/2.0 200")[0]
    assert [c.name for c in offer.codecs][:2] == ["opus", "PCMU"]
    # The offer's order wins: Opus, and only Opus (one codec a call).
    assert [c.name for c in answer.codecs if c.name != "telephone-event"] == ["opus"]
    assert "Set audio decoder: opus 48000Hz" in log
    _, record, result = stored[0]
    assert "quiero" in caller_words(record), record.transcript_text()
    assert "Pedro" in " ".join(text for who, text in record.transcript if who == "agent")
    assert heard_s > 2.0
    assert result.outcome is not CallOutcome.FAILED
