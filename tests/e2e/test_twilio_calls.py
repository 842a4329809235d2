"""Phone calls through Twilio, end to end on loopback.

The media worker's real parts (its `TwilioDialer`, media stream WebSocket and signed
callback route, the conversation line with faster-whisper and espeak-ng, the shipped
Spanish flow) ring personas behind a local fake Twilio that speaks Twilio's wire
protocol: the Calls API with HTTP Basic, callbacks signed by Twilio's own
`RequestValidator`, and a bidirectional media stream in µ-law at real-time pace.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio

from centralita.kernel.calls import CallOutcome, DialRequest
from realtime.carrier.simulated import Persona, PersonaStep
from realtime.carrier.twilio import STATUS_PATH
from realtime.softphone.script import BotLine, BotScript
from tests.support.fakes.twilio_server import FakeCall
from tests.support.lines import loopback_line, until
from tests.support.phones import FROM_NUMBER, Phones, twilio_phones

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

SANTIAGO = ZoneInfo("America/Santiago")
DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}


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
        "+56961000001",
        BotLine(say="Sí, con ella habla."),
        BotLine(say="Doscientos mil pesos, el viernes."),
        BotLine(say="Sí, correcto."),
        BotLine(say="No, gracias. Adiós."),
    ),
    person("+56961000002", BotLine(say="No, no soy esa persona.")),
    line_state("+56961000003", CallOutcome.BUSY),
    line_state("+56961000004", CallOutcome.VOICEMAIL),
    line_state("+56961000005", CallOutcome.FAILED),
    person("+56961000006", BotLine(say="Sí, con ella habla."), BotLine(silent_s=60)),
    person(
        "+56961000007",
        BotLine(say="Sí, con ella habla."),
        # The agent thanks, then discloses in a long sentence: talk over that.
        BotLine(say="Espere, espere, una pregunta por favor.", barge_in_after_ms=1800),
        BotLine(say="Por favor, no me vuelvan a llamar."),
    ),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def phones() -> AsyncIterator[Phones]:
    async with loopback_line() as line, twilio_phones(PERSONAS, line) as ringing:
        yield ringing


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


def fake_call(phones: Phones, number: str) -> FakeCall:
    return phones.calls_to(number)[-1]


@pytest.mark.asyncio(loop_scope="module")
async def test_a_promise_over_the_phone_lands_with_amount_and_date(phones: Phones) -> None:
    result = await phones.dialer.dial(request("tw-promise", "+56961000001"))

    record = phones.line.records["tw-promise"]
    assert result.outcome is CallOutcome.PROMISE_TO_PAY, record.transcript_text()
    assert result.extracted["promised_amount"] == 200000
    friday = next_friday(datetime.now(SANTIAGO).date()).isoformat()
    assert result.extracted["promised_date"] == friday
    call = fake_call(phones, "+56961000001")
    # Placed as Twilio expects it: from our number, a bidirectional stream, callbacks.
    assert call.from_ == FROM_NUMBER
    assert call.stream_parameters["call_key"] == "tw-promise"
    assert (call.first("StatusCallback") or "").endswith(f"{STATUS_PATH}?key=tw-promise")
    assert call.first("Timeout") == "15"
    assert call.answered_by == "human"
    await until(lambda: call.status == "completed", 10)  # our hang-up reached Twilio
    assert phones.twilio.callbacks_refused == 0
    report = phones.reports["tw-promise"]
    assert report.bytes_received > 8000 * 3  # the caller heard seconds of the agent
    assert report.bot.voice_to_voice_ms, "the caller measured no reply"


@pytest.mark.asyncio(loop_scope="module")
async def test_the_wrong_person_never_hears_about_the_debt(phones: Phones) -> None:
    result = await phones.dialer.dial(request("tw-wrong", "+56961000002"))

    record = phones.line.records["tw-wrong"]
    assert result.outcome is CallOutcome.WRONG_PERSON, record.transcript_text()
    said = " ".join(text for who, text in record.transcript if who == "agent").lower()
    assert said
    for secret in ("200.000", "200000", "doscientos", "30 de noviembre", "cuota", "deuda"):
        assert secret not in said


@pytest.mark.parametrize(
    ("number", "outcome", "reason"),
    [
        ("+56961000003", CallOutcome.BUSY, "dial_busy"),
        ("+56961000005", CallOutcome.FAILED, "dial_failed"),
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_lines_that_never_answer_report_their_status(
    phones: Phones, number: str, outcome: CallOutcome, reason: str
) -> None:
    result = await phones.dialer.dial(request(f"tw-{outcome}", number))

    assert result.outcome is outcome
    assert result.disconnection_reason == reason
    assert fake_call(phones, number).status == outcome.value.replace("_", "-")


@pytest.mark.asyncio(loop_scope="module")
async def test_an_unrouted_number_rings_out_as_no_answer_at_the_ring_timeout(
    phones: Phones,
) -> None:
    result = await phones.dialer.dial(request("tw-noanswer", "+56961000999"))

    assert result.outcome is CallOutcome.NO_ANSWER
    assert fake_call(phones, "+56961000999").status == "no-answer"


@pytest.mark.asyncio(loop_scope="module")
async def test_a_machine_answering_gets_the_agent_s_message(phones: Phones) -> None:
    result = await phones.dialer.dial(request("tw-machine", "+56961000004"))

    assert result.outcome is CallOutcome.VOICEMAIL
    call = fake_call(phones, "+56961000004")
    assert call.answered_by == "machine_start"
    await until(lambda: call.status == "completed", 10)  # our hang-up reached Twilio
    # AMD said machine; this greeting has no beep, so the message is left once the wait
    # for one is over: the flow's voicemail line, nothing of the debt.
    said = " ".join(t for who, t in phones.line.records["tw-machine"].transcript if who == "agent")
    assert "devuélvanos el llamado" in said
    for secret in ("200.000", "200000", "cuota", "deuda"):
        assert secret not in said
    assert call.duration_s < 30  # never left talking to the machine


@pytest.mark.asyncio(loop_scope="module")
async def test_a_forged_callback_is_refused_and_changes_nothing(phones: Phones) -> None:
    dialing = asyncio.create_task(phones.dialer.dial(request("tw-forged", "+56961000006")))
    await until(lambda: phones.line.live_session("tw-forged") is not None, 30)
    call = fake_call(phones, "+56961000006")
    url = f"{phones.media_base}{STATUS_PATH}?key=tw-forged"
    forged: dict[str, Any] = {
        "AccountSid": phones.twilio.account_sid,
        "CallSid": call.sid,
        "CallStatus": "busy",
        "AnsweredBy": "machine_start",
    }
    async with httpx.AsyncClient() as client:
        unsigned = await client.post(url, data=forged)
        wrong = await client.post(
            url, data=forged, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
        )
        # Signed for another attempt's URL: the signature covers the key.
        other = phones.twilio.signed_callback(f"{phones.media_base}{STATUS_PATH}?key=x", forged)
        replayed = await client.post(url, data=forged, headers={"X-Twilio-Signature": other})
    assert [unsigned.status_code, wrong.status_code, replayed.status_code] == [403, 403, 403]
    session = phones.line.live_session("tw-forged")
    assert session is not None
    assert not session.ended  # neither "busy" nor "machine" reached the call
    await phones.dialer.calls.end_call(call.sid)  # our side hangs up, through Twilio
    result = await asyncio.wait_for(dialing, 20)
    assert result.outcome is not CallOutcome.VOICEMAIL
    assert result.outcome is not CallOutcome.BUSY


@pytest.mark.asyncio(loop_scope="module")
async def test_barge_in_over_the_phone_clears_the_carrier_and_stops_the_agent(
    phones: Phones,
) -> None:
    await phones.dialer.dial(request("tw-barge", "+56961000007"))

    record = phones.line.records["tw-barge"]
    interruptions = [e for e in record.events if e.type == "interruption"]
    assert interruptions, record.transcript_text()
    # The agent's playback stopped within 300 ms of the caller's speech onset, and a
    # clear went to the carrier, which dropped what it had queued at once.
    assert interruptions[0].payload["stop_after_onset_ms"] <= 300
    report = phones.reports["tw-barge"]
    assert report.clears, "no clear reached the carrier"
    # The caller stopped hearing the agent while still saying its own line (the figure
    # is `python -m bench phone`'s; a wall-clock bound here would flake when loaded).
    [heard_ms, *_] = report.bot.barge_in_stop_ms
    line_ms = 1000 * len("Espere, espere, una pregunta por favor.") / 15  # ~15 chars/s
    assert heard_ms < line_ms, f"the agent talked {heard_ms:.0f} ms into the caller's line"
    full_disclosure = "que tiene una cuota pendiente de 200.000 pesos, que venció"
    said = " ".join(text for who, text in record.transcript if who == "agent")
    assert full_disclosure not in said  # only what the caller heard is in the transcript


@pytest.mark.parametrize(
    ("status", "outcome", "hung_up"),
    [
        ("busy", CallOutcome.BUSY, False),
        ("no-answer", CallOutcome.NO_ANSWER, False),
        ("completed", CallOutcome.NO_DECISION, False),  # its conversation died
        ("in-progress", CallOutcome.NO_DECISION, True),  # nobody holds it: ended
        ("ringing", CallOutcome.NO_ANSWER, True),  # canceled before anyone answers
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_a_lost_ring_is_recovered_from_twilio_s_call_list(
    phones: Phones, status: str, outcome: CallOutcome, hung_up: bool
) -> None:
    number = f"+5696300{len(phones.twilio.calls):04d}"
    lost = request(f"tw-lost-{status}", number)
    rang_at = datetime.now(UTC)
    assert await phones.dialer.recover(lost, rang_at) is None  # nothing placed: ring

    call = FakeCall(
        sid=f"CA{status.replace('-', '')}",
        to=number,
        from_=FROM_NUMBER,
        form={},
        created_at=rang_at,
        status=status,
    )
    phones.twilio.calls.append(call)
    result = await phones.dialer.recover(lost, rang_at)

    assert result is not None
    assert result.outcome is outcome
    assert call.hang_up.is_set() is hung_up
