"""A scripted SIP phone on loopback: the far end of calls placed through a SIP trunk.

`SipPhones` is a SIP user agent (ours: `SipUserAgent`, UDP on 127.0.0.1) standing in for
a trunk and the phones behind it. Each INVITE to a number it knows rings (180), is
answered (200 with an SDP answer in the offer's first G.711 codec) and played by a
`SipCaller`: a `BotSoftphone` on the phone, as `tests.support.fakes.phone_caller` puts
one on a carrier's media stream. The bot's script is the person (`BotScript`): it
listens to the agent (speech detected by level), says its next line once the agent has
gone quiet, and hangs up (BYE) after its last line; a BYE from the agent ends the call
first. An INVITE to any other number is answered 404.

The media is RTP (`RtpSession`) both ways, all the time, as a phone sends it: the bot's
voice, paced to real time by its own track, resampled to 8 kHz, encoded and sent every
20 ms (silence included); what arrives goes through the session's jitter buffer, one
frame every 20 ms (a lost one is silence), decoded into the bot's ear. So what the bot
measures is what a person on the phone would experience: voice to voice is from the
end of its own speech leaving the phone to the first agent speech coming out of its
jitter buffer (`BotReport.voice_to_voice_ms`), answer to first audio from its 200 OK to
the first agent speech heard.

Reports are kept by the attempt key the dialer sends (``X-Centralita-Attempt``), else
by the Call-ID. Test support: the benchmark (`bench/sip.py`) and the tests use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from aiortc.mediastreams import MediaStreamError

from centralita.kernel.pcm import Pcm16
from centralita.kernel.tasks import stop_tasks
from realtime.audio import g711
from realtime.audio.frames import PcmResampler, as_pcm16_mono
from realtime.audio.g711 import FRAME_BYTES, SAMPLE_RATE, G711Law
from realtime.audio.pushed_track import PushedAudioTrack
from realtime.carrier.sip_trunk import ATTEMPT_HEADER
from realtime.providers.base import TextToSpeech
from realtime.sip.rtp_session import PortRange, RtpFigures, RtpSession
from realtime.sip.sdp import SdpError, answer_offer, parse_sdp
from realtime.sip.user_agent import IncomingInvite, SipCall, SipUserAgent, parse_user
from realtime.softphone.bot import BotReport, BotSoftphone
from realtime.softphone.script import BotScript

log = logging.getLogger(__name__)

HungUpBy = Literal["caller", "agent"]

HOST = "127.0.0.1"
# Far from the media worker's default range (20000-20999) and the e2e tests' (31000+).
PORTS = PortRange(33000, 33999)
# How long our BYE's answer may take before the call counts as over anyway.
BYE_WAIT_S = 5.0
_SILENCE = np.zeros(FRAME_BYTES, dtype=np.int16)


class SipCallerError(ValueError):
    """A scripted phone set up with something it cannot use."""


@dataclass
class SipCallerReport:
    """What one call was like at the phone."""

    number: str  # the number called (the Request-URI's user)
    call_id: str
    attempt_key: str | None  # the dialer's X-Centralita-Attempt, when it sent one
    bot: BotReport
    law: G711Law | None = None  # the codec agreed
    answered_at: float | None = None  # time.monotonic() of our 200 OK
    hung_up_by: HungUpBy | None = None
    timed_out: bool = False  # the phone hung up because the call outlasted max_call_s
    frames_sent: int = 0  # 20 ms RTP audio frames sent, silence included
    frames_heard: int = 0  # frames out of the jitter buffer
    frames_lost: int = 0  # ticks with nothing to play (silence played instead)
    rtp: RtpFigures | None = None
    heard: Pcm16 | None = None  # the phone's ear at 8 kHz, with `record=True`

    @property
    def first_speech_heard_at(self) -> float | None:
        """When the phone first heard the agent speak (time.monotonic())."""
        return self.bot.speech_onsets[0] if self.bot.speech_onsets else None

    @property
    def answer_to_first_audio_ms(self) -> float | None:
        """From our 200 OK to the first agent speech heard."""
        heard = self.first_speech_heard_at
        if heard is None or self.answered_at is None:
            return None
        return (heard - self.answered_at) * 1000


class SipCaller:
    """One call at the phone: answer `incoming`, play the script, hang up.

    Args:
        script: the person on the phone.
        tts: the person's voice.
        host: the address RTP binds to (and the SDP names).
        ports: the range RTP takes its port from.
        max_call_s: the phone hangs up after this long whatever the script says.
        record: keep what the phone heard (`SipCallerReport.heard`).
    """

    def __init__(
        self,
        script: BotScript,
        tts: TextToSpeech,
        *,
        host: str = HOST,
        ports: PortRange = PORTS,
        max_call_s: float = 120.0,
        record: bool = False,
    ) -> None:
        if max_call_s <= 0:
            raise SipCallerError(f"max_call_s must be positive, got {max_call_s}")
        self.script = script
        self.host = host
        self.ports = ports
        self.max_call_s = max_call_s
        self.record = record
        self.bot = BotSoftphone(script, tts)
        self._heard: list[Pcm16] = []
        self._ran = False

    async def take(self, incoming: IncomingInvite, report: SipCallerReport) -> SipCallerReport:
        """Answer `incoming` (488 when its SDP is unusable) and hold the call to its end.

        Raises:
            RuntimeError: this caller already took a call.
        """
        if self._ran:
            raise RuntimeError("a SipCaller takes one call")
        self._ran = True
        rtp = await RtpSession.open(self.host, self.ports, payload_type=0)
        try:
            try:
                offer = parse_sdp(incoming.request.body)
                sdp, agreed = answer_offer(offer, address=rtp.advertised_address, port=rtp.port)
            except SdpError as exc:
                incoming.reply(488, "Not Acceptable Here")
                log.info("call %s refused: %s", report.call_id, exc)
                return report
            rtp.set_remote(
                agreed.remote_address,
                agreed.remote_port,
                payload_type=agreed.codec.payload_type,
                telephone_event=agreed.telephone_event,
            )
            report.law = G711Law.PCMA if agreed.codec.name.upper() == "PCMA" else G711Law.PCMU
            report.rtp = rtp.figures
            call = incoming.answer(sdp.encode())
            report.answered_at = time.monotonic()
            await self._converse(incoming.agent, call, rtp, report)
        finally:
            rtp.close()
        if self.record:
            report.heard = np.concatenate(self._heard) if self._heard else _SILENCE[:0].copy()
        return report

    async def _converse(
        self, agent: SipUserAgent, call: SipCall, rtp: RtpSession, report: SipCallerReport
    ) -> None:
        assert report.law is not None
        ear = PushedAudioTrack(SAMPLE_RATE)
        self.bot.listen_to(ear)
        media = (
            asyncio.create_task(self._send(rtp, report.law, report), name="sip_caller: voice"),
            asyncio.create_task(self._hear(rtp, report.law, ear, report), name="sip_caller: ear"),
        )
        bot_done = asyncio.create_task(self.bot.done(), name="sip_caller: bot")
        try:
            done, _ = await asyncio.wait(
                (*media, bot_done, call.ended),
                timeout=self.max_call_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in done:
                if task in media and (error := task.exception()) is not None:
                    raise error  # a bug of the phone's, not a hang-up
            if call.ended in done:
                report.hung_up_by = "agent"
            else:
                report.hung_up_by = "caller"
                report.timed_out = not done
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(agent.bye(call), BYE_WAIT_S)
        finally:
            await stop_tasks(media, what="the SIP phone's media", expected=(MediaStreamError,))
            ear.end()
            await self.bot.close()
            self.bot.voice.stop()
            await stop_tasks((bot_done,), what="the SIP phone's bot")

    async def _send(self, rtp: RtpSession, law: G711Law, report: SipCallerReport) -> None:
        """The bot's voice: its track paces it; every 20 ms at 8 kHz goes out as RTP."""
        voice = self.bot.voice
        resampler = PcmResampler(voice.sample_rate, SAMPLE_RATE)
        pending = np.zeros(0, dtype=np.int16)
        while True:
            frame = await voice.recv()
            pending = np.concatenate([pending, resampler.push(as_pcm16_mono(frame.to_ndarray()))])
            if pending.size < FRAME_BYTES:  # the resampler's delay, at the start
                pending = np.concatenate([_SILENCE[: FRAME_BYTES - pending.size], pending])
            samples, pending = pending[:FRAME_BYTES], pending[FRAME_BYTES:]
            rtp.send_audio(g711.encode(samples, law))
            report.frames_sent += 1

    async def _hear(
        self, rtp: RtpSession, law: G711Law, ear: PushedAudioTrack, report: SipCallerReport
    ) -> None:
        """The earpiece: the jitter buffer's frame every 20 ms, silence where none came."""
        async for payload in rtp.frames():
            if payload is None:
                report.frames_lost += 1
                samples = _SILENCE
            else:
                report.frames_heard += 1
                samples = g711.decode(payload, law)
            ear.push(samples)
            if self.record:
                self._heard.append(samples)


class SipPhones:
    """Phones behind a pretend trunk: `scripts` maps each number to the person on it.

    Start with `SipPhones.start`; point a `SipTrunk` at `address`.

    Args:
        agent: the SIP user agent answering for the phones.
        scripts: the person on each number (E.164, as the Request-URI's user says it).
        tts: the people's voice.
        ring_s: how long a phone rings (180) before it is answered.
        ports: the range the phones' RTP takes its ports from.
        max_call_s: a phone hangs up after this long whatever its script says.
        record: keep what each phone heard.
    """

    def __init__(
        self,
        agent: SipUserAgent,
        scripts: Mapping[str, BotScript],
        tts: TextToSpeech,
        *,
        ring_s: float = 0.0,
        ports: PortRange = PORTS,
        max_call_s: float = 120.0,
        record: bool = False,
    ) -> None:
        self._check(scripts, ring_s)
        self.agent = agent
        self.scripts = dict(scripts)
        self.tts = tts
        self.ring_s = ring_s
        self.ports = ports
        self.max_call_s = max_call_s
        self.record = record
        self.reports: dict[str, SipCallerReport] = {}
        self.refused: list[str] = []  # numbers called that no script plays
        self._calls: set[asyncio.Task[None]] = set()
        self._ended = asyncio.Event()  # set whenever a call's report lands
        agent.on_invite = self._ring

    @classmethod
    async def start(
        cls,
        scripts: Mapping[str, BotScript],
        tts: TextToSpeech,
        *,
        host: str = HOST,
        port: int = 0,
        ring_s: float = 0.0,
        ports: PortRange = PORTS,
        max_call_s: float = 120.0,
        record: bool = False,
    ) -> SipPhones:
        """Listen for INVITEs on `host`:`port` (a free port by default).

        Raises:
            SipCallerError: no scripts, or a negative `ring_s`.
            OSError: the SIP port cannot be bound.
        """
        cls._check(scripts, ring_s)  # before a socket is opened
        agent = await SipUserAgent.start(host, port, user_agent="Centralita test phone")
        return cls(
            agent,
            scripts,
            tts,
            ring_s=ring_s,
            ports=ports,
            max_call_s=max_call_s,
            record=record,
        )

    @staticmethod
    def _check(scripts: Mapping[str, BotScript], ring_s: float) -> None:
        if ring_s < 0:
            raise SipCallerError(f"ring_s must not be negative, got {ring_s}")
        if not scripts:
            raise SipCallerError("no phone numbers: give at least one script")

    @property
    def address(self) -> tuple[str, int]:
        """Where the trunk's INVITEs go."""
        return self.agent.address

    @property
    def calls_in_progress(self) -> int:
        """Calls ringing or up now."""
        return len(self._calls)

    async def wait_report(self, key: str, timeout_s: float) -> SipCallerReport:
        """The report of the call with attempt key (or Call-ID) `key`, once it ended.

        Raises:
            TimeoutError: no such call ended within `timeout_s`.
        """
        try:
            async with asyncio.timeout(timeout_s):
                while key not in self.reports:
                    self._ended.clear()
                    await self._ended.wait()
        except TimeoutError:
            raise TimeoutError(f"no call {key!r} ended at the phones in {timeout_s} s") from None
        return self.reports[key]

    async def aclose(self) -> None:
        """Hang up every call still up and stop listening."""
        await stop_tasks(self._calls, what="the SIP phones' calls")
        self.agent.close()

    async def __aenter__(self) -> SipPhones:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    def _ring(self, incoming: IncomingInvite) -> None:
        number = parse_user(incoming.request.uri)
        script = self.scripts.get(number)
        if script is None:
            self.refused.append(number)
            incoming.reply(404, "Not Found")
            return
        task = asyncio.create_task(self._call(incoming, number, script), name="sip_caller: call")
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _call(self, incoming: IncomingInvite, number: str, script: BotScript) -> None:
        request = incoming.request
        key = request.headers.get(ATTEMPT_HEADER)
        caller = SipCaller(
            script,
            self.tts,
            host=self.agent.transport.host,
            ports=self.ports,
            max_call_s=self.max_call_s,
            record=self.record,
        )
        report = SipCallerReport(number, request.call_id, key, caller.bot.report)
        incoming.reply(180, "Ringing")
        if self.ring_s:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(incoming.canceled.wait(), self.ring_s)
        if incoming.canceled.is_set():
            return  # the dialer gave up ringing: its CANCEL got 487
        try:
            await caller.take(incoming, report)
        finally:
            # Not in progress from now, before its report lands (a waiter may look).
            self._calls.discard(asyncio.current_task())
            self.reports[key or request.call_id] = report
            self._ended.set()
