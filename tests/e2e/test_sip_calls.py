"""Calls out through a SIP trunk, end to end on loopback against real SIP software.

The media worker's real parts (its SIP user agent, `SipTrunkDialer`, RTP with G.711, the
conversation line with faster-whisper and espeak-ng, the shipped Spanish flow) ring
baresip, a real SIP phone that speaks a WAV as its microphone and records what it
hears, and SIPp scenarios that answer busy or ring forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import pytest_asyncio

from centralita.kernel.calls import CallOutcome, DialRequest
from realtime.carrier.sip_trunk import SipMedia, SipTrunk, SipTrunkDialer
from realtime.conversation_line import ConversationLine
from realtime.sip.rtp_session import PortRange
from realtime.sip.user_agent import SipUserAgent
from tests.support.lines import loopback_line, until
from tests.support.sip_audio import (
    loud_frames,
    loud_seconds,
    read_wav,
    spoken,
    tone_seconds,
    with_beep,
    with_tone,
)
from tests.support.sip_peers import Baresip, Sipp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}
SANTIAGO = ZoneInfo("America/Santiago")
MEDIA = SipMedia(host="127.0.0.1", ports=PortRange(31000, 31999))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def line() -> AsyncIterator[ConversationLine]:
    async with loopback_line() as conversation_line:
        yield conversation_line


@pytest_asyncio.fixture(loop_scope="module")
async def agent() -> AsyncIterator[SipUserAgent]:
    user_agent = await SipUserAgent.start("127.0.0.1", 0)
    try:
        yield user_agent
    finally:
        user_agent.close()


def request(key: str, to: str) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number=to,
        campaign_id="sip",
        contact_id=key,
        attempt_number=1,
        agent="cobranza-temprana",
        variables=DEBTOR,
    )


def next_friday(today: date) -> date:
    return today + timedelta(days=(4 - today.weekday()) % 7 or 7)


def trunk_to(port: int, **options: object) -> SipTrunk:
    return SipTrunk(proxy_host="127.0.0.1", proxy_port=port, ring_timeout_s=15, **options)  # type: ignore[arg-type]


@pytest.mark.asyncio(loop_scope="module")
async def test_a_call_through_the_trunk_is_a_conversation_both_ways(
    line: ConversationLine, agent: SipUserAgent
) -> None:
    wav = spoken((6.0, "Sí, con ella habla."))
    # Baresip hangs up when its WAV ends: the far end's BYE ends our conversation.
    async with Baresip("maria", wav=wav, tail_silence_s=10.0) as phone:
        dialer = SipTrunkDialer(agent, trunk_to(phone.sip_port), MEDIA, line)
        result = await dialer.dial(request("sip-talk", phone.uri))
        heard = await phone.recording()
        heard_s = loud_seconds(heard) if heard is not None else 0.0

    record = line.records["sip-talk"]
    # The agent heard the person over RTP (PCMU decoded, resampled, transcribed)...
    assert "ella" in record.transcript_text().lower(), record.transcript_text()
    # ...and the person heard the agent: seconds of speech in baresip's recording.
    assert heard_s > 2.0
    assert result.outcome is CallOutcome.NO_DECISION  # a person, who hung up undecided
    assert 10 < result.duration_s < 30


@pytest.mark.asyncio(loop_scope="module")
async def test_busy_is_busy_and_an_unanswered_phone_is_canceled(
    line: ConversationLine, agent: SipUserAgent
) -> None:
    async with Sipp("uas_busy.xml", timeout_s=20) as busy:
        dialer = SipTrunkDialer(agent, trunk_to(busy.port), MEDIA, line)
        result = await dialer.dial(request("sip-busy", busy.uri))
        assert (await busy.wait()).passed
    assert result.outcome is CallOutcome.BUSY
    assert result.disconnection_reason == "dial_busy"
    assert result.carrier_call_id  # the INVITE's Call-ID, beside our key in the dial log

    async with Sipp("uas_decline.xml", timeout_s=20) as declining:
        dialer = SipTrunkDialer(agent, trunk_to(declining.port), MEDIA, line)
        result = await dialer.dial(request("sip-decline", declining.uri))
        assert (await declining.wait()).passed
    assert result.outcome is CallOutcome.BUSY
    assert result.disconnection_reason == "dial_declined"

    async with Sipp("uas_ring_forever.xml", timeout_s=40) as ringing:
        dialer = SipTrunkDialer(agent, trunk_to(ringing.port), MEDIA, line)
        result = await dialer.dial(request("sip-ring", ringing.uri))
        assert (await ringing.wait()).passed  # it saw our CANCEL and ACKed its 487
    assert result.outcome is CallOutcome.NO_ANSWER


def agent_said(line: ConversationLine, key: str, words: str) -> bool:
    session = line.live_session(key)
    return session is not None and any(
        who == "agent" and words in text.lower() for who, text in session.record.transcript
    )


@pytest.mark.asyncio(loop_scope="module")
async def test_a_promise_lands_with_amount_and_date_and_a_key_confirms_it(
    line: ConversationLine, agent: SipUserAgent
) -> None:
    wav = spoken(
        (6.5, "Sí, con ella habla."), (11.0, "Doscientos mil pesos, el viernes."), voice="kokoro"
    )
    async with Baresip("maria", wav=wav, tail_silence_s=60.0) as phone:
        dialer = SipTrunkDialer(agent, trunk_to(phone.sip_port), MEDIA, line)
        dialing = asyncio.create_task(dialer.dial(request("sip-promise", phone.uri)))
        await until(lambda: agent_said(line, "sip-promise", "me confirma"), 90)
        await phone.send_dtmf("1")  # "marque 1": the flow's `keys` at the read-back
        session = line.live_session("sip-promise")
        assert session is not None
        await until(lambda: any(e.type == "dtmf" for e in session.record.events), 10)
        await asyncio.sleep(3)  # the agent moves on; then the person hangs up
        await phone.hangup()
        result = await asyncio.wait_for(dialing, 30)

    record = line.records["sip-promise"]
    assert result.outcome is CallOutcome.PROMISE_TO_PAY, record.transcript_text()
    assert result.extracted["promised_amount"] == 200000, record.transcript_text()
    friday = next_friday(datetime.now(SANTIAGO).date()).isoformat()
    assert result.extracted["promised_date"] == friday
    # The key arrived once, as an RFC 4733 event (baresip sends no in-band tones).
    assert [e.payload["digit"] for e in record.events if e.type == "dtmf"] == ["1"]


@pytest.mark.asyncio(loop_scope="module")
async def test_barge_in_stops_the_agent_at_the_far_phone(
    line: ConversationLine, agent: SipUserAgent
) -> None:
    # Talks over the agent's disclosure of the debt (a long sentence), then hangs up.
    wav = spoken((6.5, "Sí, con ella habla."), (3.0, "Espere, espere, una pregunta por favor."))
    async with Baresip("maria", wav=wav, tail_silence_s=6.0) as phone:
        dialer = SipTrunkDialer(agent, trunk_to(phone.sip_port), MEDIA, line)
        await dialer.dial(request("sip-barge", phone.uri))
        said = loud_frames(await phone.recording(sent=True) or Path("/missing"))
        heard = loud_frames(await phone.recording() or Path("/missing"))

    record = line.records["sip-barge"]
    interruptions = [e for e in record.events if e.type == "interruption"]
    assert interruptions, record.transcript_text()
    assert interruptions[0].payload["stop_after_onset_ms"] <= 300
    # At the far phone: the frame the person's second line starts, and how long the
    # agent's voice went on after it (both recordings start with the call's audio).
    onsets = np.flatnonzero(said[1:] & ~said[:-1]) + 1
    second = next(i for i in onsets if i > onsets[0] + 50)  # after a pause of > 1 s
    window = heard[second : second + 100]
    assert window[0], "the agent was not speaking when the person talked over it"
    # The first of 10 quiet frames in a row (a pause between words is shorter).
    quiet = np.convolve(~window, np.ones(10, dtype=int), mode="valid") == 10
    went_on_ms = 20 * int(np.argmax(quiet))
    print(f"far end: the agent stopped {went_on_ms} ms after the person's onset")
    # 160-260 ms measured here; the bound leaves room for a loaded CI machine (speed
    # goals are the benchmark's), and is far below the sentence the agent was saying.
    assert went_on_ms <= 500


@pytest.mark.asyncio(loop_scope="module")
async def test_a_cold_transfer_by_refer_reaches_a_second_phone(
    line: ConversationLine, agent: SipUserAgent
) -> None:
    wav = spoken((6.5, "Sí, con ella habla."), (9.0, "Quiero hablar con un humano."))
    async with (
        Baresip("ana", tail_silence_s=30.0) as human,
        Baresip("maria", wav=wav, tail_silence_s=40.0) as phone,
    ):
        trunk = trunk_to(phone.sip_port, transfer_to=human.uri)
        dialer = SipTrunkDialer(agent, trunk, MEDIA, line)
        result = await dialer.dial(request("sip-refer", phone.uri))
        record = line.records["sip-refer"]
        assert result.disconnection_reason == "transfer", record.transcript_text()
        # The person's phone was told to call the human (our REFER) and did.
        transferred = await phone.wait_event("TRANSFER", 5)
        assert transferred.param.strip("<>") == human.uri
        answered = await human.wait_event("CALL_ESTABLISHED", 10)
        assert answered.peer_uri is not None
        assert "maria" in answered.peer_uri


@pytest.mark.asyncio(loop_scope="module")
async def test_a_voicemail_greeting_and_its_beep_get_the_agent_s_message(
    line: ConversationLine, agent: SipUserAgent
) -> None:
    greeting = spoken(
        (0.4, "Hola, has llamado a Javier. Ahora no puedo atenderte, "
         "deja tu mensaje después de la señal.")
    )  # fmt: skip
    # The machine records for a while, then hangs up (as a mailbox does).
    async with Baresip("javier", wav=with_beep(greeting), tail_silence_s=25.0) as phone:
        dialer = SipTrunkDialer(agent, trunk_to(phone.sip_port), MEDIA, line)
        result = await dialer.dial(request("sip-voicemail", phone.uri))
        heard = loud_frames(await phone.recording() or Path("/missing"))

    record = line.records["sip-voicemail"]
    assert result.outcome is CallOutcome.VOICEMAIL, record.transcript_text()
    said = " ".join(t for who, t in record.transcript if who == "agent")
    assert "devuélvanos el llamado" in said, record.transcript_text()
    for secret in ("200.000", "200000", "cuota", "deuda"):
        assert secret not in said
    # The machine heard the message: seconds of speech after its beep.
    rate, pcm = read_wav(greeting)
    beep_end_s = pcm.size / rate + 0.4 + 0.5
    assert heard[int(beep_end_s * 50) :].sum() * 0.02 > 2.0


@pytest.mark.asyncio(loop_scope="module")
async def test_a_warm_transfer_rings_briefs_and_bridges_a_second_phone(
    line: ConversationLine, agent: SipUserAgent
) -> None:
    asks = spoken((6.5, "Sí, con ella habla."), (9.0, "Quiero hablar con un humano."))
    # After asking, the person waits, then "speaks" a 900 Hz tone to whoever is there.
    caller_wav = with_tone(asks, 16.0, 900.0, 3.0)
    # The human answers, hears the briefing, then "speaks" a 600 Hz tone.
    human_wav = with_tone(spoken((0.1, "Hola.")), 5.0, 600.0, 4.0)
    async with (
        Baresip("ana", wav=human_wav, tail_silence_s=40.0) as human,
        Baresip("maria", wav=caller_wav, tail_silence_s=3.0) as phone,
    ):
        trunk = trunk_to(phone.sip_port, transfer_to=human.uri, transfer_mode="warm")
        dialer = SipTrunkDialer(agent, trunk, MEDIA, line, tts=line.tts)
        result = await dialer.dial(request("sip-warm", phone.uri))
        record = line.records["sip-warm"]
        assert result.disconnection_reason == "transfer", record.transcript_text()
        # The agent has left; the bridge holds until the caller hangs up, then ends both.
        await phone.wait_event("CALL_CLOSED", 40)
        await human.wait_event("CALL_CLOSED", 10)
        caller_heard = await phone.recording()
        human_heard = await human.recording()
        assert caller_heard is not None
        assert human_heard is not None
        assert tone_seconds(caller_heard, 600.0) > 2.0  # the human reached the caller
        assert tone_seconds(human_heard, 900.0) > 2.0  # and the caller the human
        assert loud_seconds(human_heard) > tone_seconds(human_heard, 900.0) + 1.5  # briefed


@pytest.mark.asyncio(loop_scope="module")
async def test_a_far_end_that_answers_then_goes_silent_is_hung_up(
    line: ConversationLine, agent: SipUserAgent
) -> None:
    async with Sipp("uas_answer_then_silence.xml", timeout_s=40) as silent:
        dialer = SipTrunkDialer(agent, trunk_to(silent.port, rtp_timeout_s=3.0), MEDIA, line)
        result = await dialer.dial(request("sip-silent", silent.uri))
        assert (await silent.wait()).passed  # it got our BYE
    record = line.records["sip-silent"]
    assert record.ended_by == "rtp_timeout", record.transcript_text()
    assert 3.0 <= result.duration_s < 10.0
