"""Inbound phone calls through Twilio: the called number picks the tenant and its agent.

A tenant routes one of its numbers (its own Twilio account, an agent, default
variables) in Postgres; the fake Twilio rings the media worker's voice webhook as
Twilio would (signed with that account's token) and, on the TwiML's answer, streams a
caller to the agent. Unrouted numbers are rejected and forged webhooks refused, with no
conversation.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from centralita.kernel.db import Pool
from centralita.telephony.models import PhoneNumberCreate, TwilioCredentials
from centralita.telephony.store.accounts import create_account
from centralita.telephony.store.numbers import create_number
from centralita.tenants.store.call_owners import call_key_tenant
from realtime.carrier.stream_broker import StreamBroker
from realtime.conversation_line import ConversationLine
from realtime.providers.espeak import EspeakTTS
from realtime.server.app import create_media_app
from realtime.server.media_streams import media_stream_router
from realtime.server.phone_inbound import VOICE_PATH, twilio_inbound_router
from realtime.softphone.script import BotLine, BotScript
from tests.support.encryption import fixed_ring
from tests.support.fakes.phone_caller import PhoneCaller, PhoneCallReport
from tests.support.fakes.twilio_server import FakeCall, FakeTwilio
from tests.support.lines import loopback_line, until
from tests.support.phones import CALLER_WPM
from tests.support.servers import free_port, serving
from workers.media import phone_routes

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

ROUTED, UNROUTED, CALLER = "+56229991111", "+56229992222", "+56961234567"


@dataclass
class Inbound:
    twilio: FakeTwilio
    line: ConversationLine
    voice_url: str
    tenant_id: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def inbound(pool: Pool) -> AsyncIterator[Inbound]:
    bot_tts = EspeakTTS(speed_wpm=CALLER_WPM)

    async def media_caller(
        url: str, parameters: dict[str, str], script: BotScript, call: FakeCall
    ) -> PhoneCallReport:
        caller = PhoneCaller(script, bot_tts, dialect="twilio", parameters=parameters)
        return await caller.run(url)

    twilio = FakeTwilio([], bot_tts=bot_tts, media_caller=media_caller)
    tenant_id = str(uuid.uuid4())
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO tenants (id, name) VALUES (%s, %s)", (tenant_id, "Sur"))
        account = await create_account(
            conn,
            fixed_ring(),
            tenant_id,
            name="Twilio Sur",
            calls_per_second=1,
            credentials=TwilioCredentials(
                account_sid=twilio.account_sid, auth_token=SecretStr(twilio.auth_token)
            ),
        )
        await create_number(
            conn,
            tenant_id,
            PhoneNumberCreate(
                number=ROUTED,
                carrier_account_id=account.id,
                agent="cobranza-temprana",
                variables={"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"},
            ),
        )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    broker = StreamBroker()
    async with loopback_line() as line:
        app = create_media_app(
            None,
            routers=[
                media_stream_router(broker),
                twilio_inbound_router(line, broker, phone_routes(pool, fixed_ring()), base),
            ],
        )
        async with serving(app, port):
            yield Inbound(twilio, line, f"{base}{VOICE_PATH}", tenant_id)
    await twilio.aclose()


@pytest.mark.asyncio(loop_scope="module")
async def test_a_call_to_a_routed_number_reaches_its_tenant_s_agent(
    inbound: Inbound, pool: Pool
) -> None:
    script = BotScript(lines=[BotLine(say="Sí, con ella habla."), BotLine(silent_s=2)])
    call, answer = await inbound.twilio.call_in(
        inbound.voice_url, to=ROUTED, from_=CALLER, script=script
    )

    assert answer.status_code == 200
    assert "<Connect><Stream" in answer.text
    key = call.stream_parameters["call_key"]
    # The caller's side ends first; the agent's side keeps the record a moment later
    # (it notices the hang-up, then files the call): a loaded machine showed the gap.
    await until(lambda: key in inbound.line.records, timeout_s=15)
    record = inbound.line.records[key]
    said = " ".join(text for who, text in record.transcript if who == "agent")
    assert "María" in said  # the route's variables reached the tenant's agent
    async with pool.connection() as conn:
        assert await call_key_tenant(conn, key) == inbound.tenant_id
    assert call.report is not None
    assert call.report.bytes_received > 8000  # the caller heard the agent


@pytest.mark.asyncio(loop_scope="module")
async def test_a_call_to_a_number_nobody_routes_is_rejected(inbound: Inbound) -> None:
    before = len(inbound.line.records)
    call, answer = await inbound.twilio.call_in(
        inbound.voice_url, to=UNROUTED, from_=CALLER, script=BotScript(lines=[])
    )

    assert "<Reject" in answer.text
    assert call.status == "busy"
    assert len(inbound.line.records) == before


@pytest.mark.asyncio(loop_scope="module")
async def test_a_forged_voice_webhook_is_refused(inbound: Inbound) -> None:
    form = {"AccountSid": inbound.twilio.account_sid, "CallSid": "CAforged", "From": CALLER}
    form["To"] = ROUTED
    async with httpx.AsyncClient() as client:
        unsigned = await client.post(inbound.voice_url, data=form)
        wrong_url = inbound.twilio.signed_callback("https://elsewhere.example/voice", form)
        forged = await client.post(
            inbound.voice_url, data=form, headers={"X-Twilio-Signature": wrong_url}
        )
    assert [unsigned.status_code, forged.status_code] == [403, 403]
    assert "Stream" not in unsigned.text + forged.text
