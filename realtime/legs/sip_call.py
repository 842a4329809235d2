"""The agent's side of a phone call that reaches us over SIP: RTP audio, G.711 or Opus.

A SIP trunk (or a PBX) carries the call's audio as RTP straight to the media worker:
20 ms packets each way in the codec the SDP agreed (`realtime.legs.media_codecs`: G.711
at 8 kHz from trunks, Opus at 48 kHz from softphones and PBXs that prefer it), DTMF as
RFC 4733 telephone-events. This leg turns that into what the call session holds any
call with, as the carrier stream leg does: the caller's audio as an incoming track (the
jitter buffer's frames decoded and pushed; a lost or unreadable frame is silence), the
agent's voice at the codec's rate pulled at real-time pace, encoded and sent. So flows,
LLM agents, barge-in, recording, live events and post-call work unchanged.

What is SIP's own:
- RTP flows both ways all the time, silence included: SBCs and PBXs end calls whose
  media stops, and the far end's jitter buffer needs a steady clock.
- Barge-in needs no message: nothing is queued at the far end (we send at real time),
  so dropping our own queue is enough.
- A call whose RTP stops coming for `RTP_TIMEOUT_S` is dead (the far end crashed or the
  network went): it is hung up, never held open.
- Keys the agent presses (an IVR's menu) go out as RFC 4733 telephone-events, not as
  tones in the audio (`SipVoiceTrack`): a trunk that transcodes or compresses the audio
  may spoil in-band tones, and PBXs listen for events.
- The far end's BYE ends the conversation; our end of the call sends BYE (the dialer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from aiortc.mediastreams import MediaStreamError

from centralita.correction.online import OnlineCorrector
from centralita.kernel.pcm import Pcm16
from centralita.kernel.tasks import stop_tasks
from realtime.agents.setup import AgentSetup
from realtime.audio import g711
from realtime.audio.frames import frame_to_pcm16
from realtime.audio.playback import AgentVoiceTrack
from realtime.audio.pushed_track import PushedAudioTrack
from realtime.audio.recorder import CallRecorder
from realtime.audio.utterances import Utterance
from realtime.legs.media_codecs import G711Codec, MediaCodecError, SipAudioCodec
from realtime.legs.talking import open_session
from realtime.providers.base import SpeechToText, TextToSpeech
from realtime.session.call_session import CallSession
from realtime.session.handover import Transfer
from realtime.session.record import CallEvent, CallRecord
from realtime.sip.rtp_session import RtpSession

log = logging.getLogger(__name__)

# No RTP from the far end for this long: the call is dead.
RTP_TIMEOUT_S = 20.0
STOP_S = 2.0


# The session names keypad utterances "dtmf-<keys>" (`CallSession._press_keys`).
DTMF_PREFIX = "dtmf-"


class SipVoiceTrack(AgentVoiceTrack):
    """The agent's voice at the codec's rate; keypad tones are replaced by telephone-events.

    A keypad utterance is queued as silence of the tones' length (so it keeps its place
    after what the agent says, and the call's timing), and its keys are handed to
    `press` when its first frame plays.
    """

    def __init__(self, press: Callable[[str], None], sample_rate: int = g711.SAMPLE_RATE) -> None:
        super().__init__(sample_rate=sample_rate)
        self._press = press
        self._keys: dict[str, str] = {}

    def enqueue(
        self,
        samples: Pcm16,
        sample_rate: int,
        utterance_id: str,
        text: str,
        *,
        more_coming: bool = False,
    ) -> asyncio.Future[float | None]:
        if utterance_id.startswith(DTMF_PREFIX) and not more_coming:
            self._keys[utterance_id] = utterance_id.removeprefix(DTMF_PREFIX)
            samples = np.zeros_like(samples)
        return super().enqueue(samples, sample_rate, utterance_id, text, more_coming=more_coming)

    def _notify_first_frame(self, utt: Utterance) -> None:
        super()._notify_first_frame(utt)
        keys = self._keys.pop(utt.utterance_id, None)
        if keys is not None:
            self._press(keys)


@dataclass
class SipFigures:
    """What the call's media carried: for tests, benchmarks and the call's diagnosis."""

    frames_in: int = 0
    frames_lost: int = 0
    frames_bad: int = 0  # payloads the codec could not decode (played as silence)
    frames_out: int = 0
    digits: list[str] = field(default_factory=list)
    keys_sent: str = ""


class SipCallLeg:
    """One SIP call's media; `talk` holds the conversation on it.

    `codec` is what the SDP agreed (`media_codecs.codec_for`); a G.711 law alone is
    short for `G711Codec(law)`.
    """

    def __init__(
        self,
        rtp: RtpSession,
        codec: SipAudioCodec | g711.G711Law,
        *,
        ended: asyncio.Future[str] | None = None,
        rtp_timeout_s: float = RTP_TIMEOUT_S,
    ) -> None:
        self.rtp = rtp
        self.codec: SipAudioCodec = G711Codec(codec) if isinstance(codec, g711.G711Law) else codec
        self.figures = SipFigures()
        self.voice = SipVoiceTrack(press=self._press_keys, sample_rate=self.codec.sample_rate)
        self.inbound = PushedAudioTrack(self.codec.sample_rate)
        self.session: CallSession | None = None
        self.transfer: Transfer | None = None  # the dialer sets it when it can
        self._pressing: set[asyncio.Task[None]] = set()
        self._ended = ended
        self._rtp_timeout_s = rtp_timeout_s
        self._hung_up_by: str | None = None
        rtp.on_digit = self._pressed

    async def talk(
        self,
        call_id: str,
        setup: AgentSetup,
        *,
        stt: SpeechToText,
        tts: TextToSpeech,
        corrector: OnlineCorrector | None = None,
        recorder: CallRecorder | None = None,
        on_event: Callable[[CallEvent], None] | None = None,
    ) -> CallRecord:
        """Hold the conversation until either side ends it; its record."""
        self.session = open_session(
            call_id,
            setup,
            self.voice,
            stt=stt,
            tts=tts,
            corrector=corrector,
            recorder=recorder,
            on_event=on_event,
        )
        # SIP says nothing of machines: a voicemail answers 200 OK like a person.
        self.session.watch_for_machines()
        self.session.transfer = self.transfer
        if self._hung_up_by is not None:
            self.session.hang_up(self._hung_up_by)
        tasks = [
            asyncio.create_task(self._hear(), name=f"sip-hear-{call_id}"),
            asyncio.create_task(self._speak(), name=f"sip-speak-{call_id}"),
            asyncio.create_task(self._watch(), name=f"sip-watch-{call_id}"),
        ]
        try:
            return await self.session.run(self.inbound)
        finally:
            self.voice.stop()
            await stop_tasks(
                tasks,
                timeout_s=STOP_S,
                what=f"sip call {call_id}",
                expected=(MediaStreamError, ConnectionError),
            )

    def hang_up(self, by: str = "remote") -> None:
        """End the conversation (before it started, it ends as soon as it starts)."""
        self._hung_up_by = by
        if self.session is not None:
            self.session.hang_up(by)
        self.inbound.end()

    # -- the far end's audio and keys ------------------------------------------------------

    async def _hear(self) -> None:
        silence = self.codec.silence()
        async for payload in self.rtp.frames():
            if payload is None:
                self.figures.frames_lost += 1
                self.inbound.push(silence)
                continue
            self.figures.frames_in += 1
            try:
                self.inbound.push(self.codec.decode(payload))
            except MediaCodecError as exc:  # a broken packet is a lost frame, not the end
                self.figures.frames_bad += 1
                if self.figures.frames_bad <= 3:
                    log.warning("sip call: %s", exc)
                self.inbound.push(silence)

    def _pressed(self, digit: str) -> None:
        self.figures.digits.append(digit)
        if self.session is not None:
            self.session.press(digit)

    async def _watch(self) -> None:
        """End the conversation on the far end's BYE, or when its RTP has stopped."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            if self._ended is not None and self._ended.done():
                self.hang_up("remote_hangup")  # what the session hears the last words for
                return
            last = self.rtp.last_received_at or started
            if loop.time() - last > self._rtp_timeout_s:
                log.warning("sip call: no RTP for %.0f s, hanging up", self._rtp_timeout_s)
                self.hang_up("rtp_timeout")
                return
            await asyncio.sleep(0.2)

    # -- the agent's voice -----------------------------------------------------------------

    async def _speak(self) -> None:
        """Every 20 ms frame of the voice goes out, silence included (see the module)."""
        while True:
            frame = await self.voice.recv()
            self.rtp.send_audio(self.codec.encode(frame_to_pcm16(frame)))
            self.figures.frames_out += 1

    def _press_keys(self, keys: str) -> None:
        task = asyncio.create_task(self.send_keys(keys), name="sip-keys")
        self._pressing.add(task)
        task.add_done_callback(self._pressing.discard)

    async def send_keys(self, keys: str) -> None:
        """Press `keys` at the far end (an IVR) as RFC 4733 telephone-events; a pause
        (``w``) waits half a second, as the tones would."""
        for key in keys:
            if key == "w":
                await asyncio.sleep(0.5)
                continue
            try:
                await self.rtp.send_dtmf(key)
            except ValueError as exc:  # no telephone-event agreed: the far end cannot hear keys
                log.warning("sip call: key %s not sent: %s", key, exc)
                return
            self.figures.keys_sent += key
            await asyncio.sleep(0.08)  # the gap between presses an IVR expects
