"""The scripted SIP phone (`SipPhones`) against a bare dialing side on loopback.

The dialing side is our SIP user agent with an RTP session, playing a trivial agent: it
says a tone, waits for the phone's person to finish a line, says another tone. The
person's voice is a tone too (`ScriptedTTS`), so what the phone sends can be checked by
level and pitch. Timing is only checked in the direction a loaded machine cannot break
(the agent waits at least `REPLY_GAP_S` before replying, so the phone cannot measure
less), with a generous upper bound.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator

import numpy as np
import pytest
import pytest_asyncio

from centralita.kernel.pcm import Pcm16
from realtime.audio import g711
from realtime.audio.g711 import G711Law
from realtime.carrier.sip_trunk import ATTEMPT_HEADER
from realtime.sip.rtp_session import PortRange, RtpSession
from realtime.sip.sdp import PCMA, PCMU, TELEPHONE_EVENT, accept_answer, build_sdp, parse_sdp
from realtime.sip.user_agent import InviteOutcome, SipUserAgent
from realtime.softphone.script import BotLine, BotScript
from tests.support.providers import ScriptedTTS
from tests.support.sip_caller import SipCallerError, SipPhones

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]

HOST = "127.0.0.1"
AGENT_PORTS = PortRange(34000, 34999)
NUMBER = "+56962000001"
WAIT_S = 15.0
OFFER = (PCMU, PCMA, TELEPHONE_EVENT)
REPLY_GAP_S = 0.3  # the agent's pause after the person's line, before it answers
LOUD_RMS = 300.0
TONE_HZ = 440.0


def tone_frames(seconds: float, hz: float = 600.0) -> list[Pcm16]:
    t = np.arange(round(seconds * g711.SAMPLE_RATE)) / g711.SAMPLE_RATE
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return [pcm[i : i + g711.FRAME_BYTES] for i in range(0, pcm.size, g711.FRAME_BYTES)]


def rms(samples: Pcm16) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float32) ** 2))) if samples.size else 0.0


def dominant_hz(samples: Pcm16) -> float:
    power = np.abs(np.fft.rfft(samples.astype(np.float64) - samples.mean())) ** 2
    return float(np.fft.rfftfreq(samples.size, 1 / g711.SAMPLE_RATE)[int(np.argmax(power))])


class ToneAgent:
    """The dialing side's media: what it says goes out at real time, what it hears is kept."""

    def __init__(self, rtp: RtpSession) -> None:
        self.rtp = rtp
        self.queued: deque[Pcm16] = deque()
        self.heard: list[Pcm16] = []
        self.loud_at: list[float] = []  # when each loud frame of the person arrived
        self.ticked = asyncio.Event()  # set every 20 ms

    async def run(self) -> None:
        async for payload in self.rtp.frames():  # its 20 ms clock paces our sending too
            samples = g711.decode(payload, G711Law.PCMU) if payload else np.zeros(160, np.int16)
            self.heard.append(samples)
            if rms(samples) > LOUD_RMS:
                self.loud_at.append(time.monotonic())
            frame = self.queued.popleft() if self.queued else np.zeros(160, np.int16)
            self.rtp.send_audio(g711.encode(frame, G711Law.PCMU))
            self.ticked.set()

    def say(self, seconds: float) -> None:
        self.queued.extend(tone_frames(seconds))

    async def person_said_a_line(self, since: int) -> int:
        """Until the person spoke after `since` loud frames and went quiet for the gap."""
        while not (len(self.loud_at) > since and time.monotonic() - self.loud_at[-1] > REPLY_GAP_S):
            self.ticked.clear()
            await self.ticked.wait()
        return len(self.loud_at)


@pytest_asyncio.fixture
async def dialing() -> AsyncIterator[tuple[SipUserAgent, RtpSession]]:
    agent = await SipUserAgent.start(HOST, 0)
    rtp = await RtpSession.open(HOST, AGENT_PORTS, payload_type=0, telephone_event=101)
    try:
        yield agent, rtp
    finally:
        rtp.close()
        agent.close()


async def invite(
    agent: SipUserAgent, rtp: RtpSession, phones: SipPhones, number: str, key: str
) -> InviteOutcome:
    host, port = phones.address
    uri = f"sip:{number}@{host}:{port}"
    outgoing = agent.invite(
        request_uri=uri,
        to=f"<{uri}>",
        from_=f"<sip:+56229990000@{HOST}>",
        proxy=(host, port),
        sdp=build_sdp(HOST, rtp.port, OFFER).encode(),
        extra=((ATTEMPT_HEADER, key),),
    )
    outcome = await asyncio.wait_for(outgoing.result, WAIT_S)
    if outcome.call is not None:
        agreed = accept_answer(OFFER, parse_sdp(outcome.call.remote_sdp))
        rtp.set_remote(agreed.remote_address, agreed.remote_port)
    return outcome


def script(*lines: str, linger_s: float = 0.5) -> BotScript:
    return BotScript(lines=[BotLine(say=line) for line in lines], linger_s=linger_s)


async def test_the_phone_answers_hears_the_agent_speaks_its_lines_and_hangs_up(
    dialing: tuple[SipUserAgent, RtpSession],
) -> None:
    agent, rtp = dialing
    lines = script("Sí, con ella habla.", "Sí, correcto.")
    async with await SipPhones.start({NUMBER: lines}, ScriptedTTS(), ring_s=0.2) as phones:
        outcome = await invite(agent, rtp, phones, NUMBER, "attempt-1")
        assert outcome.status == 200
        assert outcome.call is not None
        call = outcome.call
        far = ToneAgent(rtp)
        media = asyncio.create_task(far.run())
        far.say(1.0)  # the greeting
        said = await asyncio.wait_for(far.person_said_a_line(0), WAIT_S)
        far.say(0.6)
        await asyncio.wait_for(far.person_said_a_line(said), WAIT_S)
        far.say(0.6)
        # After its last line and its linger, the phone hangs up: BYE.
        assert await asyncio.wait_for(call.ended, WAIT_S) == "remote"
        report = await phones.wait_report("attempt-1", WAIT_S)
        media.cancel()

    assert report.number == NUMBER
    assert report.law is G711Law.PCMU
    assert report.hung_up_by == "caller"
    assert not report.timed_out
    assert report.bot.lines_said == [line.say for line in lines.lines]
    # It heard the agent three times, and measured its two replies from its own side:
    # never less than the pause the agent took, nor absurdly more.
    assert len(report.bot.speech_onsets) == 3
    assert len(report.bot.voice_to_voice_ms) == 2
    assert all(REPLY_GAP_S * 1000 <= v < 3000 for v in report.bot.voice_to_voice_ms)
    assert report.answer_to_first_audio_ms is not None
    assert 0 <= report.answer_to_first_audio_ms < 2000
    # What it said reached the agent as the person's voice (ScriptedTTS's 440 Hz tone),
    # and RTP flowed all along, silence included.
    spoken = np.concatenate([f for f in far.heard if rms(f) > LOUD_RMS])
    assert spoken.size / g711.SAMPLE_RATE > 1.0
    assert abs(dominant_hz(spoken) - TONE_HZ) < 20
    assert report.frames_sent > 200
    assert report.frames_heard > 200


async def test_the_agent_hanging_up_ends_the_call_at_the_phone(
    dialing: tuple[SipUserAgent, RtpSession],
) -> None:
    agent, rtp = dialing
    async with await SipPhones.start({NUMBER: script("Diga.", "Sí.")}, ScriptedTTS()) as phones:
        outcome = await invite(agent, rtp, phones, NUMBER, "attempt-2")
        assert outcome.call is not None
        far = ToneAgent(rtp)
        media = asyncio.create_task(far.run())
        far.say(0.5)
        await asyncio.wait_for(far.person_said_a_line(0), WAIT_S)
        await agent.bye(outcome.call)
        report = await phones.wait_report("attempt-2", WAIT_S)
        media.cancel()
        assert phones.calls_in_progress == 0
    assert report.hung_up_by == "agent"
    assert report.bot.lines_said == ["Diga."]  # it never got to its second line


async def test_unknown_numbers_are_not_found_and_a_canceled_ring_leaves_no_call(
    dialing: tuple[SipUserAgent, RtpSession],
) -> None:
    agent, rtp = dialing
    async with await SipPhones.start({NUMBER: script("Diga.")}, ScriptedTTS(), ring_s=10) as phones:
        outcome = await invite(agent, rtp, phones, "+56900000000", "attempt-3")
        assert outcome.status == 404
        assert phones.refused == ["+56900000000"]

        host, port = phones.address
        uri = f"sip:{NUMBER}@{host}:{port}"
        ringing = agent.invite(
            request_uri=uri,
            to=f"<{uri}>",
            from_=f"<sip:+56229990000@{HOST}>",
            proxy=(host, port),
            sdp=build_sdp(HOST, rtp.port, OFFER).encode(),
        )
        await asyncio.sleep(0.5)
        agent.cancel(ringing)
        assert (await asyncio.wait_for(ringing.result, WAIT_S)).status == 487
        await asyncio.sleep(0.2)
        assert phones.calls_in_progress == 0
        assert not phones.reports


async def test_phones_need_numbers_and_a_ring_time_that_is_not_negative() -> None:
    with pytest.raises(SipCallerError, match="no phone numbers"):
        await SipPhones.start({}, ScriptedTTS())
    with pytest.raises(SipCallerError, match="ring_s"):
        await SipPhones.start({NUMBER: script("Diga.")}, ScriptedTTS(), ring_s=-1)
