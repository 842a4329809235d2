"""Phone calls through Telnyx Call Control, end to end on loopback.

The media worker's real parts (its `TelnyxDialer`, media stream WebSocket and signed
webhook route, the conversation line with faster-whisper and espeak-ng, the shipped
Spanish flow) ring personas behind a local fake Telnyx that speaks Telnyx's wire
protocol: the Dial, Hangup, Transfer and Bridge commands with a Bearer key, webhooks
signed with an Ed25519 key of its own, and a bidirectional media stream in A-law (PCMA,
as a Spanish line would ask) at real-time pace. Barge-in (a `clear`) and keys pressed
(`dtmf`) go over that stream; a transfer rings a person behind the fake too.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from centralita.kernel.calls import CallOutcome, DialRequest, InvalidDialRequestError
from realtime.audio.g711 import G711Law
from realtime.carrier.phone_line import PhoneLineConfig
from realtime.carrier.simulated import Persona, PersonaStep
from realtime.carrier.stream_broker import StreamBroker
from realtime.carrier.telnyx import (
    EVENTS_PATH,
    LOST_RING,
    STREAM_PATH,
    TelnyxDialer,
    hangup_outcome,
)
from realtime.carrier.telnyx_rest import TelnyxAccount, TelnyxCalls, TelnyxRejectedError
from realtime.conversation_line import ConversationLine
from realtime.providers.espeak import EspeakTTS
from realtime.server.app import create_media_app
from realtime.server.media_streams import media_stream_router
from realtime.server.telnyx_webhooks import telnyx_webhook_router
from realtime.softphone.script import BotLine, BotScript
from tests.support.fakes.telnyx_server import FakeTelnyx, FakeTelnyxCall
from tests.support.lines import loopback_line, until
from tests.support.servers import free_port, serving

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

# The callees are Spanish numbers: the agent reads "el viernes" on Madrid's calendar.
MADRID = ZoneInfo("Europe/Madrid")
DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}
FROM = "+34910000000"
# The callers speak slower than over WebRTC (140 wpm): the phone's 8 kHz band costs
# Whisper base the consonants espeak-ng already blurs ("doscientos" is heard as "no
# siento" at 140 wpm, as "loscientos", which the live dictionary corrects, at 120).
CALLER_WPM = 120


def person(number: str, *lines: BotLine) -> Persona:
    return Persona(
        number=number,
        name=number,
        script=[
            PersonaStep(
                outcome=CallOutcome.COMPLETED,
                ring_seconds=0.3,
                conversation=BotScript(lines=list(lines)),
            )
        ],
    )


def line_state(number: str, outcome: CallOutcome) -> Persona:
    return Persona(
        number=number,
        name=number,
        script=[PersonaStep(outcome=outcome, ring_seconds=0.3, talk_seconds=30)],
    )


PERSONAS = [
    person(
        "+34610000001",
        BotLine(say="Sí, con ella habla."),
        BotLine(say="Doscientos mil pesos, el viernes."),
        BotLine(say="Sí, correcto."),
        BotLine(say="No, gracias. Adiós."),
    ),
    person("+34610000002", BotLine(say="No, no soy esa persona.")),
    line_state("+34610000003", CallOutcome.BUSY),
    line_state("+34610000004", CallOutcome.VOICEMAIL),
    line_state("+34610000005", CallOutcome.FAILED),
    person("+34610000006", BotLine(say="Sí, con ella habla."), BotLine(silent_s=60)),
    person(
        "+34610000007",
        BotLine(say="Sí, con ella habla."),
        # The agent thanks, then discloses in a long sentence: talk over that.
        BotLine(say="Espere, espere, una pregunta por favor.", barge_in_after_ms=1800),
        BotLine(say="Por favor, no me vuelvan a llamar."),
    ),
    # Says the promise, then presses "1" when the agent reads it back (the test does).
    person(
        "+34610000008",
        BotLine(say="Sí, con ella habla."),
        BotLine(say="Doscientos mil pesos, el viernes."),
        BotLine(silent_s=60),
    ),
    # "Quiero hablar con un humano": what Whisper base hears right over 8 kHz espeak-ng.
    person(
        "+34610000009",
        BotLine(say="Sí, con ella habla."),
        BotLine(say="Quiero hablar con un humano."),
        BotLine(silent_s=25),
    ),
    person(
        "+34610000010",
        BotLine(say="Sí, con ella habla."),
        BotLine(say="Quiero hablar con un humano."),
        BotLine(silent_s=25),
    ),
    person(
        "+34610000011",
        BotLine(say="Sí, con ella habla."),
        BotLine(say="Quiero hablar con un humano."),
        BotLine(silent_s=25),
    ),
    # The people a transfer reaches: one answers, one does not.
    Persona(
        number="+34910007777",
        name="ejecutiva",
        script=[PersonaStep(outcome=CallOutcome.COMPLETED, ring_seconds=0.5, talk_seconds=4)],
    ),
    line_state("+34910006666", CallOutcome.NO_ANSWER),
]
HUMAN_OK, HUMAN_AWAY = "+34910007777", "+34910006666"


@dataclass
class Phones:
    """The media worker ringing through the fake Telnyx."""

    dialer: TelnyxDialer
    telnyx: FakeTelnyx
    line: ConversationLine
    media_base: str
    telnyx_base: str = ""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def phones() -> AsyncIterator[Phones]:
    telnyx = FakeTelnyx(PERSONAS, bot_tts=EspeakTTS(speed_wpm=CALLER_WPM))
    media_port = free_port()
    media_base = f"http://127.0.0.1:{media_port}"
    async with serving(telnyx.app) as telnyx_base, loopback_line() as line:
        account = TelnyxAccount(
            SecretStr(telnyx.api_key), telnyx.connection_id, telnyx.public_key, telnyx_base
        )
        broker = StreamBroker()
        dialer = TelnyxDialer(
            TelnyxCalls(account),
            PhoneLineConfig(public_base=media_base, from_numbers=(FROM,), ring_timeout_s=15),
            line,
            broker,
            codec=G711Law.PCMA,
        )
        app = create_media_app(None)
        app.include_router(media_stream_router(broker))
        app.include_router(telnyx_webhook_router(dialer))
        async with serving(app, media_port):
            yield Phones(dialer, telnyx, line, media_base, telnyx_base)
        await dialer.calls.aclose()
        await telnyx.aclose()


def request(key: str, number: str) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number=number,
        campaign_id="phones",
        contact_id=key,
        attempt_number=1,
        agent="cobranza-temprana",
        variables=DEBTOR,
    )


def next_friday(today: date) -> date:
    return today + timedelta(days=(4 - today.weekday()) % 7 or 7)


def fake_call(phones: Phones, number: str) -> FakeTelnyxCall:
    return [c for c in phones.telnyx.calls if c.to == number][-1]


@pytest.mark.asyncio(loop_scope="module")
async def test_a_promise_over_an_a_law_line_lands_with_amount_and_date(phones: Phones) -> None:
    result = await phones.dialer.dial(request("tx-promise", "+34610000001"))

    record = phones.line.records["tx-promise"]
    assert result.outcome is CallOutcome.PROMISE_TO_PAY, record.transcript_text()
    assert result.extracted["promised_amount"] == 200000
    friday = next_friday(datetime.now(MADRID).date()).isoformat()
    assert result.extracted["promised_date"] == friday
    call = fake_call(phones, "+34610000001")
    # Dialled as Telnyx expects it: our number, a bidirectional A-law stream whose URL
    # carries the one-time token and the key, signed webhooks naming the attempt.
    assert call.from_ == FROM
    assert call.body["stream_url"].startswith(phones.media_base.replace("http", "ws", 1))
    assert STREAM_PATH in call.body["stream_url"]
    assert call.stream_parameters["call_key"] == "tx-promise"
    assert call.stream_parameters["token"]
    assert call.body["webhook_url"] == f"{phones.media_base}{EVENTS_PATH}"
    assert base64.b64decode(call.client_state or "").decode() == "tx-promise"
    assert call.body["timeout_secs"] == 15
    assert call.body["answering_machine_detection"] == "detect"
    assert call.body["stream_bidirectional_mode"] == "rtp"
    assert (call.inbound_law, call.outbound_law) == (G711Law.PCMA, "PCMA")
    assert call.amd_result == "human"
    await until(lambda: call.state == "hangup" and call.report is not None, 10)
    assert phones.telnyx.webhooks_refused == 0
    report = call.report
    assert report is not None
    assert report.law is G711Law.PCMA
    assert report.bytes_received > 8000 * 3  # the caller heard seconds of the agent
    assert report.bot.voice_to_voice_ms, "the caller measured no reply"


@pytest.mark.asyncio(loop_scope="module")
async def test_the_wrong_person_never_hears_about_the_debt(phones: Phones) -> None:
    result = await phones.dialer.dial(request("tx-wrong", "+34610000002"))

    record = phones.line.records["tx-wrong"]
    assert result.outcome is CallOutcome.WRONG_PERSON, record.transcript_text()
    said = " ".join(text for who, text in record.transcript if who == "agent").lower()
    assert said
    for secret in ("200.000", "200000", "doscientos", "30 de noviembre", "cuota", "deuda"):
        assert secret not in said


@pytest.mark.parametrize(
    ("number", "outcome", "reason", "cause"),
    [
        ("+34610000003", CallOutcome.BUSY, "dial_busy", "user_busy"),
        ("+34610000005", CallOutcome.FAILED, "dial_failed", "not_found"),
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_lines_that_never_answer_report_their_hangup_cause(
    phones: Phones, number: str, outcome: CallOutcome, reason: str, cause: str
) -> None:
    result = await phones.dialer.dial(request(f"tx-{outcome}", number))

    assert result.outcome is outcome
    assert result.disconnection_reason == reason
    assert fake_call(phones, number).hangup_cause == cause


@pytest.mark.asyncio(loop_scope="module")
async def test_an_unrouted_number_rings_out_as_no_answer_at_the_ring_timeout(
    phones: Phones,
) -> None:
    result = await phones.dialer.dial(request("tx-noanswer", "+34610000999"))

    assert result.outcome is CallOutcome.NO_ANSWER
    assert result.disconnection_reason == "dial_no_answer"
    assert fake_call(phones, "+34610000999").hangup_cause == "timeout"


@pytest.mark.asyncio(loop_scope="module")
async def test_a_machine_answering_gets_the_agent_s_message(phones: Phones) -> None:
    result = await phones.dialer.dial(request("tx-machine", "+34610000004"))

    assert result.outcome is CallOutcome.VOICEMAIL
    call = fake_call(phones, "+34610000004")
    assert call.amd_result == "machine"
    await until(lambda: call.state == "hangup", 10)
    assert call.hangup_requested  # our hang-up command reached Telnyx
    # The flow's voicemail line once the wait for a beep is over; nothing of the debt.
    record = phones.line.records["tx-machine"]
    said = " ".join(t for who, t in record.transcript if who == "agent")
    assert "devuélvanos el llamado" in said, record.transcript_text()
    for secret in ("200.000", "200000", "cuota", "deuda"):
        assert secret not in said
    assert call.duration_s < 30  # never left talking to the machine


@pytest.mark.asyncio(loop_scope="module")
async def test_a_forged_webhook_is_refused_and_changes_nothing(phones: Phones) -> None:
    dialing = asyncio.create_task(phones.dialer.dial(request("tx-forged", "+34610000006")))
    await until(lambda: phones.line.live_session("tx-forged") is not None, 30)
    call = fake_call(phones, "+34610000006")
    url = f"{phones.media_base}{EVENTS_PATH}"
    busy = phones.telnyx.event_body(
        call, "call.hangup", hangup_cause="user_busy", sip_hangup_cause="486"
    )
    machine = phones.telnyx.event_body(call, "call.machine.detection.ended", result="machine")
    now = int(time.time())
    other_key = Ed25519PrivateKey.generate()
    forged_signature = base64.b64encode(other_key.sign(f"{now}|".encode() + machine)).decode()
    async with httpx.AsyncClient() as client:
        unsigned = await client.post(url, content=busy)
        wrong_key = await client.post(
            url,
            content=machine,
            headers={"telnyx-signature-ed25519": forged_signature, "telnyx-timestamp": str(now)},
        )
        # Telnyx's own signature, but ten minutes old: a replay.
        stale = await client.post(
            url, content=busy, headers=phones.telnyx.signed_headers(busy, now - 600)
        )
        # Signed for one body, sent with another.
        tampered = await client.post(
            url, content=machine, headers=phones.telnyx.signed_headers(busy)
        )
        # Genuinely signed, but for another call than the one this attempt placed.
        elsewhere = phones.telnyx.event_body(
            replace(call, call_control_id="v3:another-call"),
            "call.machine.detection.ended",
            result="machine",
        )
        other_call = await client.post(
            url, content=elsewhere, headers=phones.telnyx.signed_headers(elsewhere)
        )
    statuses = [r.status_code for r in (unsigned, wrong_key, stale, tampered)]
    assert statuses == [403, 403, 403, 403]
    assert other_call.status_code == 200  # delivered, and ignored
    session = phones.line.live_session("tx-forged")
    assert session is not None
    assert not session.ended  # neither "busy" nor "machine" reached the call
    assert await phones.dialer.calls.hangup(call.call_control_id)  # our side, through Telnyx
    result = await asyncio.wait_for(dialing, 20)
    assert result.outcome is not CallOutcome.VOICEMAIL
    assert result.outcome is not CallOutcome.BUSY
    await until(lambda: call.state == "hangup", 10)
    assert not await phones.dialer.calls.hangup(call.call_control_id)  # 90018: already over


@pytest.mark.asyncio(loop_scope="module")
async def test_telnyx_refusals_are_sorted_by_what_to_do(phones: Phones) -> None:
    calls = phones.dialer.calls
    with pytest.raises(InvalidDialRequestError):
        await calls.dial({"to": "610000001", "from": FROM})
    with pytest.raises(TelnyxRejectedError):  # our From number, not the callee's
        await calls.dial({"to": "+34610000001", "from": "910000000"})
    bad_key = replace(calls.account, api_key=SecretStr("not-the-key"))
    stranger = TelnyxCalls(bad_key)
    try:
        with pytest.raises(TelnyxRejectedError, match="10009"):
            await stranger.dial({"to": "+34610000001", "from": FROM})
    finally:
        await stranger.aclose()


@pytest.mark.parametrize(
    ("cause", "sip", "outcome", "reason"),
    [
        ("user_busy", "486", CallOutcome.BUSY, "dial_busy"),
        ("call_rejected", "603", CallOutcome.BUSY, "dial_busy"),
        ("timeout", None, CallOutcome.NO_ANSWER, "dial_no_answer"),
        ("no_answer", "480", CallOutcome.NO_ANSWER, "dial_no_answer"),
        ("originator_cancel", "487", CallOutcome.NO_ANSWER, "dial_no_answer"),
        ("not_found", "404", CallOutcome.FAILED, "dial_failed"),
        ("normal_clearing", "200", CallOutcome.FAILED, "answered_without_stream"),
        ("unspecified", "486", CallOutcome.BUSY, "dial_busy"),
        ("unspecified", None, CallOutcome.FAILED, "dial_failed"),
        ("something_new", "480", CallOutcome.NO_ANSWER, "dial_no_answer"),
    ],
)
def test_hangup_causes_map_to_outcomes(
    cause: str, sip: str | None, outcome: CallOutcome, reason: str
) -> None:
    assert hangup_outcome(cause, sip) == (outcome, reason)


@pytest.mark.asyncio(loop_scope="module")
async def test_barge_in_over_telnyx_clears_the_stream_and_stops_the_agent(phones: Phones) -> None:
    await phones.dialer.dial(request("tx-barge", "+34610000007"))

    record = phones.line.records["tx-barge"]
    interruptions = [e for e in record.events if e.type == "interruption"]
    assert interruptions, record.transcript_text()
    # The agent's playback stopped within 300 ms of the caller's speech onset, and a
    # clear went to Telnyx, which dropped what it had queued at once.
    assert interruptions[0].payload["stop_after_onset_ms"] <= 300
    call = fake_call(phones, "+34610000007")
    await until(lambda: call.report is not None, 10)
    assert call.report is not None
    assert call.report.clears, "no clear reached Telnyx"
    [heard_ms, *_] = call.report.bot.barge_in_stop_ms
    line_ms = 1000 * len("Espere, espere, una pregunta por favor.") / 15  # ~15 chars/s
    assert heard_ms < line_ms, f"the agent talked {heard_ms:.0f} ms into the caller's line"
    full_disclosure = "que tiene una cuota pendiente de 200.000 pesos, que venció"
    said = " ".join(text for who, text in record.transcript if who == "agent")
    assert full_disclosure not in said  # only what the caller heard is in the transcript


def agent_said(phones: Phones, key: str, words: str) -> bool:
    session = phones.line.live_session(key)
    return session is not None and any(
        who == "agent" and words in text.lower() for who, text in session.record.transcript
    )


@pytest.mark.asyncio(loop_scope="module")
async def test_a_key_pressed_at_the_read_back_confirms_the_promise(phones: Phones) -> None:
    dialing = asyncio.create_task(phones.dialer.dial(request("tx-dtmf", "+34610000008")))
    await until(lambda: agent_said(phones, "tx-dtmf", "me confirma"), 60)
    call = fake_call(phones, "+34610000008")
    caller = call.caller
    assert caller is not None
    await caller.send_dtmf("1")  # "marque 1": the flow's `keys` at the read-back
    session = phones.line.live_session("tx-dtmf")
    assert session is not None
    await until(lambda: any(e.type == "dtmf" for e in session.record.events), 10)
    await asyncio.sleep(3)  # the agent moves on; then the caller hangs up
    caller.hang_up()
    result = await asyncio.wait_for(dialing, 30)

    record = phones.line.records["tx-dtmf"]
    assert result.outcome is CallOutcome.PROMISE_TO_PAY, record.transcript_text()
    assert "[teclado: 1]" in record.transcript_text()
    assert [e.payload["digit"] for e in record.events if e.type == "dtmf"] == ["1"]
    assert call.report is not None
    assert call.report.dtmf_sent == ["1"]


@contextmanager
def transferring(phones: Phones, to: str, mode: Literal["cold", "warm"]) -> Iterator[None]:
    """The dialer hands calls to `to` (`mode`: cold or warm) for the test's while."""
    config = phones.dialer.config
    phones.dialer.config = replace(config, transfer_to=to, transfer_mode=mode, transfer_ring_s=5)
    try:
        yield
    finally:
        phones.dialer.config = config


@pytest.mark.asyncio(loop_scope="module")
async def test_a_cold_transfer_hands_the_caller_to_the_person_behind_the_number(
    phones: Phones,
) -> None:
    with transferring(phones, HUMAN_OK, "cold"):
        result = await phones.dialer.dial(request("tx-cold", "+34610000009"))

    record = phones.line.records["tx-cold"]
    assert result.disconnection_reason == "transfer", record.transcript_text()
    assert result.outcome is CallOutcome.COMPLETED
    caller = fake_call(phones, "+34610000009")
    # One Transfer command on the caller's call; Telnyx rang the person as a new leg
    # (its webhooks under the transfer's key) and bridged the two once answered.
    [transfer] = caller.transfers
    assert transfer["to"] == HUMAN_OK
    assert base64.b64decode(transfer["client_state"]).decode() == "tx-cold.transfer"
    human = fake_call(phones, HUMAN_OK)
    assert human.transferred_from == caller.call_control_id
    assert (caller.call_control_id, human.call_control_id) in phones.telnyx.bridges
    assert not caller.hangup_requested  # handed over: never hung up by our side
    await until(lambda: human.state == "hangup" and caller.state == "hangup", 15)
    assert phones.telnyx.webhooks_refused == 0


@pytest.mark.asyncio(loop_scope="module")
async def test_a_warm_transfer_rings_the_person_first_then_bridges_the_caller(
    phones: Phones,
) -> None:
    before = len(phones.telnyx.calls)
    with transferring(phones, HUMAN_OK, "warm"):
        result = await phones.dialer.dial(request("tx-warm", "+34610000010"))

    record = phones.line.records["tx-warm"]
    assert result.disconnection_reason == "transfer", record.transcript_text()
    caller = fake_call(phones, "+34610000010")
    human = fake_call(phones, HUMAN_OK)
    assert phones.telnyx.calls.index(human) >= before  # this test's call to the person
    assert caller.transfers == []  # the person was dialled on a call of their own
    assert human.transferred_from is None
    assert phones.telnyx.bridges[-1] == (caller.call_control_id, human.call_control_id)
    await until(lambda: human.state == "hangup" and caller.state == "hangup", 15)


@pytest.mark.asyncio(loop_scope="module")
async def test_nobody_answering_a_transfer_leaves_the_caller_with_the_agent_and_a_callback(
    phones: Phones,
) -> None:
    bridges = len(phones.telnyx.bridges)
    with transferring(phones, HUMAN_AWAY, "warm"):
        result = await phones.dialer.dial(request("tx-away", "+34610000011"))

    record = phones.line.records["tx-away"]
    said = " ".join(text for who, text in record.transcript if who == "agent")
    assert result.outcome is CallOutcome.CALLBACK_REQUESTED, record.transcript_text()
    assert "no hay una ejecutiva disponible" in said  # the caller was told
    human = fake_call(phones, HUMAN_AWAY)
    await until(lambda: human.state == "hangup", 10)
    assert human.hangup_cause in {"timeout", "originator_cancel"}
    assert len(phones.telnyx.bridges) == bridges  # nobody was bridged
    caller = fake_call(phones, "+34610000011")
    assert caller.hangup_requested  # the agent kept the call, and ended it


@pytest.mark.asyncio(loop_scope="module")
async def test_a_lost_ring_is_hung_up_if_still_up_and_never_rung_again(phones: Phones) -> None:
    key = "tx-lost-ring"
    # The Dial a media worker sent just before it died: Telnyx rings, nobody holds it.
    async with httpx.AsyncClient() as http:
        placed = await http.post(
            f"{phones.telnyx_base}/v2/calls",
            json={
                "connection_id": phones.telnyx.connection_id,
                "to": HUMAN_AWAY,
                "from": FROM,
                "timeout_secs": 30,
                "client_state": base64.b64encode(key.encode()).decode(),
            },
            headers={"Authorization": f"Bearer {phones.telnyx.api_key}"},
        )
    assert placed.status_code == 200
    before = len(phones.telnyx.calls)
    result = await phones.dialer.recover(request(key, HUMAN_AWAY), datetime.now(UTC))

    assert result.outcome is CallOutcome.NO_ANSWER
    assert result.disconnection_reason == LOST_RING
    orphan = fake_call(phones, HUMAN_AWAY)
    await until(lambda: orphan.state == "hangup", 10)
    assert orphan.hangup_requested  # the orphaned call was ended, not left ringing
    assert len(phones.telnyx.calls) == before  # and nobody was rung again

    again = await phones.dialer.recover(request("tx-lost-none", HUMAN_AWAY), datetime.now(UTC))
    assert again.outcome is CallOutcome.NO_ANSWER  # nothing up: reported, not redialled
    assert len(phones.telnyx.calls) == before
