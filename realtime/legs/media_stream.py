"""The agent's side of a phone call that reaches us as a carrier media stream.

Twilio and Telnyx answer the phone and stream the call over a WebSocket (µ-law or
A-law, 8 kHz, 20 ms messages). This leg turns that into what the call session
already holds a WebRTC call with: the caller's audio as an incoming track (decoded,
pushed into a `PushedAudioTrack`; the session resamples it for the recogniser) and the
agent's voice as a track at 8 kHz, pulled at real-time pace, encoded and sent back.
So flows, LLM agents, barge-in, recording, live events and post-call work unchanged.

Three things are the phone's own:
- Barge-in sends `clear` at once: the carrier drops what it queued (without it the
  caller keeps hearing 1-3 s of buffered agent speech, pipecat #366). Because audio is
  sent at real-time pace, the carrier never holds more than a frame or two, so what
  the voice track handed out is what the caller heard, to within ~40 ms.
- After each utterance the leg sends a `mark` and counts the marks played back: a
  figure of what the caller heard, never something the call waits for (a carrier that
  stops answering marks cannot hold a call open: the session's maximum duration ends it).
- A corrupt or unreadable message is logged, counted and skipped; it loses nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiortc.mediastreams import MediaStreamError

from centralita.correction.online import OnlineCorrector
from centralita.kernel.tasks import stop_tasks
from realtime.agents.setup import AgentSetup
from realtime.audio import g711
from realtime.audio.frames import frame_to_pcm16
from realtime.audio.playback import AgentVoiceTrack
from realtime.audio.pushed_track import PushedAudioTrack
from realtime.audio.recorder import CallRecorder
from realtime.audio.utterances import PlayedUtterance
from realtime.legs.stream_messages import (
    Dialect,
    StreamDtmf,
    StreamEvent,
    StreamMark,
    StreamMedia,
    StreamStart,
    StreamStop,
    clear_message,
    mark_message,
    media_message,
)
from realtime.legs.talking import open_session
from realtime.providers.base import SpeechToText, TextToSpeech
from realtime.session.call_session import CallSession
from realtime.session.handover import Transfer
from realtime.session.record import CallEvent, CallRecord

log = logging.getLogger(__name__)

# How long the sender may take to stop once the call is over.
STOP_SENDING_S = 2.0

Send = Callable[[str], Awaitable[None]]


class PhoneVoiceTrack(AgentVoiceTrack):
    """The agent's voice at 8 kHz, telling the leg when speech is cut off (barge-in)."""

    def __init__(self, on_interrupt: Callable[[], None]) -> None:
        super().__init__(sample_rate=g711.SAMPLE_RATE)
        self._on_interrupt = on_interrupt

    def interrupt(self) -> list[PlayedUtterance]:
        """Drop the queued speech here and at the carrier."""
        reports = super().interrupt()
        self._on_interrupt()
        return reports


@dataclass
class StreamFigures:
    """What the stream carried: for tests, benchmarks and the call's diagnosis."""

    frames_in: int = 0
    frames_out: int = 0
    bad_messages: int = 0
    clears: int = 0
    marks_sent: int = 0
    marks_played: int = 0
    digits: list[str] = field(default_factory=list)


class MediaStreamLeg:
    """One phone call's media stream; `talk` holds the conversation on it."""

    def __init__(self, start: StreamStart, dialect: Dialect, send: Send) -> None:
        self.start = start
        self.dialect = dialect
        self.figures = StreamFigures()
        self.voice = PhoneVoiceTrack(on_interrupt=self._clear)
        self.voice.on_utterance_end = self._utterance_played
        self.inbound = PushedAudioTrack(g711.SAMPLE_RATE)
        self.session: CallSession | None = None
        self._send = send
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._marks_due: list[str] = []  # utterances whose last frame is being sent
        self._hung_up_by: str | None = None
        self._machine = False  # the carrier said a machine answered, before the session
        # Hands the call to a person (the carrier's dialer sets it when it can).
        self.transfer: Transfer | None = None

    # -- from the carrier --------------------------------------------------------------

    def receive(self, event: StreamEvent) -> None:
        """One message from the carrier (after `start`)."""
        match event:
            case StreamMedia(payload=payload):
                self._hear(payload)
            case StreamMark():
                self.figures.marks_played += 1
            case StreamDtmf(digit=digit):
                self._pressed(digit)
            case StreamStop():
                self.stream_ended()
            case StreamStart():
                self.bad_message("a second `start` on one stream")

    def bad_message(self, reason: str) -> None:
        """A message that could not be used: logged and counted, the call goes on."""
        self.figures.bad_messages += 1
        if self.figures.bad_messages <= 3:  # a broken peer must not flood the log
            log.warning("stream %s: %s", self.start.stream_id, reason)

    def stream_ended(self) -> None:
        """The carrier's side is gone (`stop`, or the socket closed): the caller hung up."""
        self.inbound.end()

    def _hear(self, payload: bytes) -> None:
        if not payload:
            self.bad_message("empty media payload")
            return
        self.figures.frames_in += 1
        self.inbound.push(g711.decode(payload, self.start.law))

    def _pressed(self, digit: str) -> None:
        self.figures.digits.append(digit)
        if self.session is not None:
            self.session.press(digit)

    # -- the conversation ----------------------------------------------------------------

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
        self.session.watch_for_machines()  # a phone may be answered by a voicemail
        self.session.transfer = self.transfer
        if self._machine:
            self.session.carrier_says_machine()
        if self._hung_up_by is not None:
            self.session.hang_up(self._hung_up_by)
        speaking = asyncio.create_task(self._speak(), name=f"speak-{call_id}")
        sending = asyncio.create_task(self._deliver(), name=f"send-{call_id}")
        try:
            return await self.session.run(self.inbound)
        finally:
            self.voice.stop()
            self._outbox.put_nowait(None)  # what is queued still goes, then the sender ends
            await stop_tasks(
                (speaking, sending),
                timeout_s=STOP_SENDING_S,
                what=f"stream {self.start.stream_id}",
                expected=(MediaStreamError, ConnectionError),
            )

    def carrier_says_machine(self) -> None:
        """The carrier's answering-machine detection says a machine took the call."""
        self._machine = True
        if self.session is not None:
            self.session.carrier_says_machine()

    def hang_up(self, by: str = "remote") -> None:
        """End the conversation (before it started, it ends as soon as it starts)."""
        self._hung_up_by = by
        if self.session is not None:
            self.session.hang_up(by)
        self.inbound.end()

    # -- to the carrier ------------------------------------------------------------------

    async def _speak(self) -> None:
        """Pull the voice at real-time pace; send what carries speech, then due marks."""
        law, stream, dialect = self.start.law, self.start.stream_id, self.dialect
        while True:
            spoken = self.voice.speech_frames_sent
            frame = await self.voice.recv()
            if self.voice.speech_frames_sent == spoken and self.voice.live is None:
                continue  # silence: the carrier plays silence by itself
            self._outbox.put_nowait(
                media_message(stream, dialect, g711.encode(frame_to_pcm16(frame), law))
            )
            self.figures.frames_out += 1
            for name in self._marks_due:
                self._outbox.put_nowait(mark_message(stream, dialect, name))
                self.figures.marks_sent += 1
            self._marks_due.clear()

    async def _deliver(self) -> None:
        """Send the outbox in order (a clear lands between the frames it concerns)."""
        while (message := await self._outbox.get()) is not None:
            try:
                await self._send(message)
            except Exception as exc:  # the socket is gone: so is the caller
                log.info("stream %s: sending stopped: %r", self.start.stream_id, exc)
                self.stream_ended()
                return

    def _utterance_played(self, played: PlayedUtterance) -> None:
        # Called as the utterance's last frame is handed out, before it is sent: the
        # mark goes right after that frame (see `_speak`).
        self._marks_due.append(f"utt-{played.utterance_id}")

    def _clear(self) -> None:
        # Sent after the frames already queued: paced at real time, that is a frame or
        # two, which the carrier drops with the rest of its queue.
        self.figures.clears += 1
        self._marks_due.clear()
        self._outbox.put_nowait(clear_message(self.start.stream_id, self.dialect))
