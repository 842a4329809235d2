"""The human queue over phone calls: a Twilio media-stream call and a SIP call get a person.

Real parts, as on the WebRTC handoff (`tests/e2e/test_human_handoff.py`): the agent is a
tenant's flow with a handoff policy, stored through the API; the media worker binds the
Postgres human queue (`TenantAgents`); the operator follows the queue's server-sent
snapshots and answers through the API (served on loopback) with a bot softphone over
WebRTC, which joins the phone call through the takeover path (`realtime/legs/human.py`,
bridging at the phone's 8 kHz). The callers are phones:

- Twilio: the fake Twilio rings the media worker's voice webhook for a number the tenant
  routes (signed with the tenant's own account's token) and streams the caller as
  G.711 µ-law over the media WebSocket;
- SIP: the media worker dials out through a SIP trunk to a scripted SIP phone (our user
  agent on loopback, RTP with G.711 both ways).

Each prints the decision-to-ring and answer-to-the-caller-hearing-the-operator times.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from api.app import create_app
from centralita.kernel.calls import CallOutcome, DialRequest
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.pcm import Pcm16
from centralita.telephony.models import PhoneNumberCreate, TwilioCredentials
from centralita.telephony.store.accounts import create_account
from centralita.telephony.store.numbers import create_number
from realtime.audio.frames import WEBRTC_RATE
from realtime.audio.g711 import SAMPLE_RATE
from realtime.carrier.sip_trunk import SipMedia, SipTrunk, SipTrunkDialer
from realtime.carrier.stream_broker import StreamBroker
from realtime.conversation_line import ConversationLine
from realtime.providers.espeak import EspeakTTS
from realtime.server.app import create_media_app
from realtime.server.controls import control_router
from realtime.server.media_streams import media_stream_router
from realtime.server.phone_inbound import VOICE_PATH, twilio_inbound_router
from realtime.session.record import CallRecord
from realtime.sip.rtp_session import PortRange
from realtime.sip.user_agent import SipUserAgent
from realtime.softphone.bot import BotReport
from realtime.softphone.script import BotLine, BotScript
from realtime.store.agent_lookup import TenantAgents
from tests.support.encryption import fixed_ring
from tests.support.fakes.loopback import ServedApp
from tests.support.fakes.phone_caller import PhoneCaller, PhoneCallReport
from tests.support.fakes.twilio_server import FakeCall, FakeTwilio
from tests.support.handoffs import (
    Answered,
    AnsweringOperator,
    ListeningOperator,
    OperatorSoftphone,
    answer_once_told,
    flow_with_handoff,
    keys_in,
    operator_available,
    operator_line_match,
    store_agent,
)
from tests.support.lines import loopback_line, until
from tests.support.servers import api_key_for, bearer, free_port, serving, settings_for
from tests.support.sip_caller import SipPhones
from workers.media import phone_routes

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ROUTED, CALLER = "+56229993333", "+56961234567"
AGENT = "cobranza-humana"
MARIA = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}
OPERATOR_LINE = "Buenas tardes, le habla Ana, ejecutiva de cobranza."
CALLER_REPLY = "Sí, correcto."
ASKS_FOR_A_PERSON = "Quiero hablar con una persona, por favor."
_POLICY = {
    "rules": [{"trigger": "explicit_request", "action": "transfer_now"}],
    "max_wait_s": 90,
    "hold_line_every_s": 120,
}
# Far from the other SIP tests' ranges (31000+, 32000+) and the phones' (33000+).
SIP_MEDIA = SipMedia(host="127.0.0.1", ports=PortRange(34000, 34999))
# The operator's line in what the phone heard scores about 0.95 (`operator_line_match`);
# the agent's lines 0.6, the line at a wrong rate 0.5.
MATCH = 0.85
# The caller's slower voice: espeak-ng's Spanish runs words together otherwise.
CALLER_WPM = 140


def _asks_for_a_person_then_answers_the_next_voice() -> BotScript:
    return BotScript(
        lines=[
            BotLine(say="Sí, con ella habla."),
            BotLine(say=ASKS_FOR_A_PERSON),
            BotLine(silent_s=0.2),  # "Le comunico con una ejecutiva, un momento por favor."
            BotLine(say=CALLER_REPLY),  # to whoever speaks next: the operator
            BotLine(silent_s=40),
        ]
    )


@dataclass
class Stack:
    """The media worker (Twilio webhook and streams, controls) and the API, on loopback."""

    line: ConversationLine
    twilio: FakeTwilio
    voice_url: str
    api_origin: str
    tenant_id: str  # the tenant that routes ROUTED through its own Twilio account
    database_url: str
    callers: list[PhoneCaller]  # the fake Twilio's phone callers, in order

    async def api(self, tenant_id: str) -> httpx.AsyncClient:
        """An API client with a fresh key of `tenant_id` (the caller closes it)."""
        key = await api_key_for(self.database_url, tenant_id)
        return httpx.AsyncClient(base_url=self.api_origin, headers=bearer(key), timeout=30)


async def _route_a_number(pool: Pool, twilio: FakeTwilio) -> str:
    """A tenant of its own, its Twilio account, and ROUTED sent to its agent AGENT."""
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
                number=ROUTED, carrier_account_id=account.id, agent=AGENT, variables=MARIA
            ),
        )
    return tenant_id


@pytest_asyncio.fixture(scope="module")
async def stack(pool: Pool, database_url: str) -> AsyncIterator[Stack]:
    bot_tts = EspeakTTS(speed_wpm=CALLER_WPM)

    callers: list[PhoneCaller] = []

    async def media_caller(
        url: str, parameters: dict[str, str], script: BotScript, call: FakeCall
    ) -> PhoneCallReport:
        caller = PhoneCaller(script, bot_tts, dialect="twilio", parameters=parameters, record=True)
        callers.append(caller)
        return await caller.run(url)

    twilio = FakeTwilio([], bot_tts=bot_tts, media_caller=media_caller)
    tenant_id = await _route_a_number(pool, twilio)
    agents = TenantAgents(pool, refresh_s=0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    broker = StreamBroker()
    async with loopback_line(agent_for=agents.setup_for_call) as line:
        media = create_media_app(
            None,
            routers=[
                media_stream_router(broker),
                twilio_inbound_router(line, broker, phone_routes(pool, fixed_ring()), base),
                control_router(line),  # where the API's answer joins the operator
            ],
        )
        api = create_app(settings_for(database_url, "127.0.0.1:1", carrier_url=base))
        async with serving(media, port), ServedApp(api) as served:
            voice_url = f"{base}{VOICE_PATH}"
            yield Stack(line, twilio, voice_url, served.origin, tenant_id, database_url, callers)
    await twilio.aclose()


def _stages(record: CallRecord) -> list[str]:
    return [str(e.payload["stage"]) for e in record.events if e.type == "handoff"]


def _check_the_record(record: CallRecord) -> None:
    """Queued, connected, the operator's; the caller's reply transcribed after the join,
    and nothing the agent said from then on."""
    assert _stages(record) == ["decided", "queued", "connected"], _stages(record)
    joined = next(i for i, e in enumerate(record.events) if e.type == "human_joined")
    after = [e for e in record.events[joined:] if e.type == "transcript"]
    assert not [e for e in after if e.payload["speaker"] == "agent"]
    caller_after = [str(e.payload["text"]) for e in after if e.payload["speaker"] == "user"]
    # Whisper reads espeak's voice through 8 kHz G.711 loosely ("Sí, correcto." came back
    # as "Si, como he hecho...", "Sí, con ella habla." as "¡Sí, con ella, ahora!"): the
    # caller's reply is there, and it starts with its "sí".
    assert caller_after, record.transcript
    assert caller_after[0].lower().lstrip("¡¿ ").startswith(("sí", "si")), caller_after
    assert record.ended_by == "operator"
    assert record.outcome is CallOutcome.COMPLETED
    assert record.extracted["handed_to"] == "Ana"


async def _heard_the_operator(heard: Pcm16 | None, heard_from: float, since: float) -> float:
    """How surely the phone's ear heard OPERATOR_LINE from 2 s before `since` on
    (time.monotonic(); the ear's audio starts at `heard_from`: a loaded machine's stalls
    make it a little shorter than the wall clock, so the window starts early)."""
    assert heard is not None
    start = max(0, int((since - 2.0 - heard_from) * SAMPLE_RATE))
    return await operator_line_match(heard[start:], SAMPLE_RATE, OPERATOR_LINE)


def _caller_hears_operator_ms(bot: BotReport, answered_at: float) -> float:
    onsets = [t for t in bot.speech_onsets if t > answered_at]
    assert onsets, f"the caller heard nothing after the answer: {bot}"
    return (min(onsets) - answered_at) * 1000


def _print_times(kind: str, answered: Answered, hears_ms: float, match: float) -> None:
    print(
        f"\n{kind} handoff: decision to ring {answered.ring_ms:.0f} ms; "
        f"answer to the caller hearing the operator {hears_ms:.0f} ms "
        f"(their line in the caller's ear: {match:.2f})"
    )


async def _answered_call(
    stack: Stack,
    tenant_id: str,
    name: str,
    place: Callable[[], Coroutine[Any, Any, Any]],
    softphone: OperatorSoftphone | None = None,
    on_the_call: Callable[[], Awaitable[Any]] | None = None,
    *,
    at_once: bool = False,
) -> tuple[Answered, Any]:
    """Store the tenant's agent, make an operator available, place the call with `place`,
    answer it once told (by default with a bot that says OPERATOR_LINE and listens: what
    it heard is `on_the_call`); what the operator saw and what `place` returned."""
    if softphone is None:
        ana = AnsweringOperator(OPERATOR_LINE)
        softphone, on_the_call = ana, ana.bot.done
    assert on_the_call is not None
    async with await stack.api(tenant_id) as api:
        await store_agent(api, flow_with_handoff("cobranza-temprana", AGENT, _POLICY))
        operator_id = await operator_available(api, name)
        call: asyncio.Task[Any] = asyncio.create_task(place())
        try:
            answered = await answer_once_told(
                api, operator_id, stack.line, call, softphone, on_the_call, at_once
            )
            placed = await asyncio.wait_for(call, 60)
        finally:
            if not call.done():
                call.cancel()
        wrapped = await api.post(
            f"/handoffs/{answered.waiting['id']}/wrap-up",
            json={"operator_id": operator_id, "disposition": "promise_to_pay"},
        )
        assert wrapped.status_code == 200, wrapped.text
    return answered, placed


async def test_a_twilio_caller_who_asks_for_a_person_gets_an_operator(stack: Stack) -> None:
    async def call_in() -> tuple[FakeCall, httpx.Response]:
        return await stack.twilio.call_in(
            stack.voice_url,
            to=ROUTED,
            from_=CALLER,
            script=_asks_for_a_person_then_answers_the_next_voice(),
        )

    answered, (call, webhook) = await _answered_call(stack, stack.tenant_id, "Ana", call_in)

    assert "<Connect><Stream" in webhook.text
    key = answered.waiting["call_key"]
    assert key == call.stream_parameters["call_key"]
    assert answered.waiting["context"]["name"] == "María"
    assert answered.waiting["context"]["phone_masked"].endswith("4567")
    await until(lambda: key in stack.line.records, 15)
    _check_the_record(stack.line.records[key])
    report = call.report
    assert report is not None
    assert report.hung_up_by == "agent"  # the operator hung up: the call ended with them
    hears_ms = _caller_hears_operator_ms(report.bot, answered.answered_at)
    assert CALLER_REPLY in report.bot.lines_said
    assert answered.on_the_call.speech_onsets  # the operator heard the caller
    assert report.stream_started_at is not None
    match = await _heard_the_operator(report.heard, report.stream_started_at, answered.answered_at)
    assert match > MATCH, match  # the operator's own line, at its pace, through µ-law
    _print_times("twilio", answered, hears_ms, match)


async def test_a_sip_caller_who_asks_for_a_person_gets_an_operator(stack: Stack) -> None:
    key = f"sip-handoff-{uuid.uuid4().hex[:8]}"
    script = _asks_for_a_person_then_answers_the_next_voice()
    phones = await SipPhones.start({CALLER: script}, EspeakTTS(speed_wpm=CALLER_WPM), record=True)
    agent = await SipUserAgent.start("127.0.0.1", 0)
    trunk = SipTrunk(proxy_host="127.0.0.1", proxy_port=phones.address[1], ring_timeout_s=15)
    dialer = SipTrunkDialer(agent, trunk, SIP_MEDIA, stack.line)
    request = DialRequest(
        idempotency_key=key,
        to_number=CALLER,
        campaign_id="e2e-sip-handoff",
        contact_id=key,
        attempt_number=1,
        agent=AGENT,
        variables=MARIA,
    )
    try:
        # No attempt row names this key: the call is the default tenant's.
        answered, result = await _answered_call(
            stack, DEFAULT_TENANT_ID, "Ana", lambda: dialer.dial(request)
        )
        report = await phones.wait_report(key, 15)
    finally:
        await phones.aclose()
        agent.close()

    assert answered.waiting["call_key"] == key
    assert result.outcome is CallOutcome.COMPLETED
    _check_the_record(stack.line.records[key])
    assert report.hung_up_by == "agent"
    hears_ms = _caller_hears_operator_ms(report.bot, answered.answered_at)
    assert CALLER_REPLY in report.bot.lines_said
    assert answered.on_the_call.speech_onsets
    assert report.answered_at is not None
    match = await _heard_the_operator(report.heard, report.answered_at, answered.answered_at)
    assert match > MATCH, match
    _print_times("sip", answered, hears_ms, match)


async def test_a_key_the_twilio_caller_presses_reaches_the_operator(stack: Stack) -> None:
    """On a phone the keys come as messages (Twilio's `dtmf`), not in the audio: the
    operator, who hears the caller's audio, must still hear them."""
    stack.callers.clear()
    operator = ListeningOperator()
    script = BotScript(
        lines=[
            BotLine(say="Sí, con ella habla."),
            BotLine(say=ASKS_FOR_A_PERSON),
            BotLine(silent_s=40),
        ]
    )

    async def call_in() -> tuple[FakeCall, httpx.Response]:
        return await stack.twilio.call_in(stack.voice_url, to=ROUTED, from_=CALLER, script=script)

    async def press_a_key() -> str:
        await until(lambda: operator.samples_heard > WEBRTC_RATE // 2, 10)  # connected
        before = operator.samples_heard
        await stack.callers[-1].send_dtmf("5")
        await asyncio.sleep(1.5)
        return keys_in(operator.heard_since(before), WEBRTC_RATE)

    answered, _ = await _answered_call(
        stack, stack.tenant_id, "Luis", call_in, operator, press_a_key
    )

    key = answered.waiting["call_key"]
    await until(lambda: key in stack.line.records, 15)
    record = stack.line.records[key]
    joined = next(i for i, e in enumerate(record.events) if e.type == "human_joined")
    pressed = [e.payload["digit"] for e in record.events[joined:] if e.type == "dtmf"]
    assert pressed == ["5"]  # the call got the key...
    assert answered.on_the_call == "5"  # ...and the operator heard it


async def test_an_operator_who_answers_while_the_twilio_caller_is_told_is_heard_at_once(
    stack: Stack,
) -> None:
    """Operators ring while the caller hears "Le comunico con una ejecutiva": one who
    answers then cuts the agent's line (the carrier drops what it had queued) and is
    heard whole, with no agent audio in the way."""
    script = BotScript(
        lines=[
            BotLine(say="Sí, con ella habla."),
            BotLine(say=ASKS_FOR_A_PERSON),
            BotLine(silent_s=40),
        ]
    )

    async def call_in() -> tuple[FakeCall, httpx.Response]:
        return await stack.twilio.call_in(stack.voice_url, to=ROUTED, from_=CALLER, script=script)

    answered, (call, _) = await _answered_call(
        stack, stack.tenant_id, "Marta", call_in, at_once=True
    )

    key = answered.waiting["call_key"]
    await until(lambda: key in stack.line.records, 15)
    record = stack.line.records[key]
    assert _stages(record) == ["decided", "queued", "connected"], _stages(record)
    report = call.report
    assert report is not None
    cut = [c for c in report.clears if c.at >= answered.answered_at]
    assert cut  # the agent's line was cut at the carrier
    assert report.stream_started_at is not None
    match = await _heard_the_operator(report.heard, report.stream_started_at, answered.answered_at)
    assert match > MATCH, match  # and the operator heard whole, not behind the agent's line
    # (The caller's ear hears the agent, then the operator, with no pause between them to
    # count a new voice by: the cut is the figure here.)
    print(
        f"\ntwilio handoff answered while the caller is told: decision to ring "
        f"{answered.ring_ms:.0f} ms; answer to the agent's line cut at the carrier "
        f"{(cut[0].at - answered.answered_at) * 1000:.0f} ms "
        f"(the operator's line in the caller's ear: {match:.2f})"
    )
