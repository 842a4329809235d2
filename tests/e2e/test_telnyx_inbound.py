"""Inbound phone calls through Telnyx: the called number picks the tenant and its agent.

A tenant routes one of its numbers (its own Telnyx account, an agent, default
variables) in Postgres; the fake Telnyx rings the media worker's inbound webhook as
Telnyx would (`call.initiated`, direction `incoming`, signed with that account's
Ed25519 key) and, once our side answers with its stream, streams a caller to the agent.
Unrouted numbers are never answered and forged webhooks are refused, with no
conversation.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from centralita.kernel.db import Pool
from centralita.telephony.models import PhoneNumberCreate, TelnyxCredentials
from centralita.telephony.store.accounts import create_account
from centralita.telephony.store.numbers import create_number
from centralita.tenants.store.call_owners import call_key_tenant
from realtime.audio.g711 import G711Law
from realtime.carrier.stream_broker import StreamBroker
from realtime.carrier.telnyx import STREAM_PATH
from realtime.conversation_line import ConversationLine
from realtime.providers.espeak import EspeakTTS
from realtime.server.app import create_media_app
from realtime.server.media_streams import media_stream_router
from realtime.server.telnyx_inbound import INBOUND_PATH, telnyx_inbound_router
from realtime.softphone.script import BotLine, BotScript
from tests.support.encryption import fixed_ring
from tests.support.fakes.telnyx_server import FakeTelnyx
from tests.support.lines import loopback_line, until
from tests.support.phones import CALLER_WPM
from tests.support.servers import free_port, serving
from workers.media import phone_routes

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

ROUTED, UNROUTED, CALLER = "+56229993333", "+56229994444", "+56961234568"


@dataclass
class Inbound:
    telnyx: FakeTelnyx
    line: ConversationLine
    url: str
    tenant_id: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def inbound(pool: Pool) -> AsyncIterator[Inbound]:
    telnyx = FakeTelnyx([], bot_tts=EspeakTTS(speed_wpm=CALLER_WPM))
    tenant_id = str(uuid.uuid4())
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO tenants (id, name) VALUES (%s, %s)", (tenant_id, "Norte"))
        account = await create_account(
            conn,
            fixed_ring(),
            tenant_id,
            name="Telnyx Norte",
            calls_per_second=1,
            credentials=TelnyxCredentials(
                api_key=SecretStr(telnyx.api_key),
                public_key=telnyx.public_key,
                connection_id=telnyx.connection_id,
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
    async with serving(telnyx.app) as telnyx_base, loopback_line() as line:
        app = create_media_app(
            None,
            routers=[
                media_stream_router(broker),
                telnyx_inbound_router(
                    line,
                    broker,
                    phone_routes(pool, fixed_ring()),
                    base,
                    api_base=telnyx_base,
                    codec=G711Law.PCMA,
                ),
            ],
        )
        async with serving(app, port):
            yield Inbound(telnyx, line, f"{base}{INBOUND_PATH}", tenant_id)
    await telnyx.aclose()


@pytest.mark.asyncio(loop_scope="module")
async def test_a_call_to_a_routed_number_reaches_its_tenant_s_agent(
    inbound: Inbound, pool: Pool
) -> None:
    script = BotScript(lines=[BotLine(say="Sí, con ella habla."), BotLine(silent_s=2)])
    call, answer = await inbound.telnyx.call_in(inbound.url, to=ROUTED, from_=CALLER, script=script)

    assert answer.status_code == 200
    # Answered as Telnyx expects it: a bidirectional A-law stream to our WebSocket with
    # the one-time token and the key in its query, events back to this route.
    assert call.answer_command.is_set()
    assert STREAM_PATH in call.body["stream_url"]
    assert call.body["stream_bidirectional_mode"] == "rtp"
    assert call.body["webhook_url"] == inbound.url
    assert (call.inbound_law, call.outbound_law) == (G711Law.PCMA, "PCMA")
    key = call.stream_parameters["call_key"]
    assert call.stream_parameters["token"]
    assert base64.b64decode(call.client_state or "").decode() == key
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
    assert inbound.telnyx.webhooks_refused == 0


@pytest.mark.asyncio(loop_scope="module")
async def test_a_call_to_a_number_nobody_routes_is_never_answered(inbound: Inbound) -> None:
    before = len(inbound.line.records)
    call, answer = await inbound.telnyx.call_in(
        inbound.url, to=UNROUTED, from_=CALLER, script=BotScript(lines=[]), answer_wait_s=1.0
    )

    assert answer.status_code == 200  # delivered: nothing for Telnyx to retry
    assert not call.answer_command.is_set()
    assert call.state == "hangup"
    assert len(inbound.line.records) == before


@pytest.mark.asyncio(loop_scope="module")
async def test_a_forged_inbound_webhook_is_refused_and_answers_nothing(inbound: Inbound) -> None:
    telnyx = inbound.telnyx
    call, _ = await telnyx.call_in(
        inbound.url, to=UNROUTED, from_=CALLER, script=BotScript(lines=[]), answer_wait_s=0.1
    )
    call.to = ROUTED  # a caller ringing the routed number, as a forger would write it
    body = telnyx.event_body(call, "call.initiated", direction="incoming", state="parked")
    now = int(time.time())
    stranger = Ed25519PrivateKey.generate()
    forged = base64.b64encode(stranger.sign(f"{now}|".encode() + body)).decode()
    before = len(inbound.line.records)
    async with httpx.AsyncClient() as client:
        unsigned = await client.post(inbound.url, content=body)
        wrong_key = await client.post(
            inbound.url,
            content=body,
            headers={"telnyx-signature-ed25519": forged, "telnyx-timestamp": str(now)},
        )
        stale = await client.post(
            inbound.url, content=body, headers=telnyx.signed_headers(body, now - 600)
        )
    assert [unsigned.status_code, wrong_key.status_code, stale.status_code] == [403, 403, 403]
    assert len(inbound.line.records) == before
