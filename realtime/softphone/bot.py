"""A bot softphone: answers a WebRTC call and plays a person from a script.

It waits for the agent to finish speaking, says its next line (synthesised with
espeak-ng), barges in on purpose or stays silent when the script says so, records what
it hears, and measures voice-to-voice latency from its own side: from the last frame of
its line to the first agent frame with speech.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import zlib
from dataclasses import dataclass, field

import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

from centralita.kernel.tasks import cancelling_me, stop_tasks
from realtime.audio.frames import InboundResampler
from realtime.audio.line_conditions import through_line
from realtime.audio.playback import AgentVoiceTrack
from realtime.providers.base import TextToSpeech
from realtime.softphone.bot_voices import speaking_voice
from realtime.softphone.script import BotLine, BotScript

log = logging.getLogger(__name__)

# Agent audio louder than this (int16 RMS) is speech; espeak's output is far above it.
_SPEECH_RMS = 300.0
# The agent is done when it has been quiet this long after speaking.
_AGENT_DONE_SILENCE_S = 0.8


@dataclass
class BotReport:
    """What the bot experienced."""

    voice_to_voice_ms: list[float] = field(default_factory=list)
    # For each barge-in: from the bot's first frame to the agent's last speech frame heard.
    barge_in_stop_ms: list[float] = field(default_factory=list)
    lines_said: list[str] = field(default_factory=list)
    heard_s: float = 0.0
    # When the agent started talking each time (time.monotonic()), as the bot heard it.
    speech_onsets: list[float] = field(default_factory=list)


class _Ear:
    """Follows the agent's audio: how many times it started talking, and whether it is now."""

    def __init__(self) -> None:
        self.talking = False
        self.onsets = 0
        self.last_speech = 0.0
        self.last_onset_at = 0.0
        self.changed = asyncio.Event()

    def hear(self, samples: np.ndarray) -> None:
        now = time.monotonic()
        rms = float(np.sqrt(np.mean(samples.astype(np.float32) ** 2))) if samples.size else 0.0
        if rms > _SPEECH_RMS:
            if not self.talking:
                self.talking = True
                self.onsets += 1
                self.last_onset_at = now
                self.changed.set()
            self.last_speech = now
        elif self.talking and now - self.last_speech > _AGENT_DONE_SILENCE_S:
            self.talking = False
            self.changed.set()

    def mark(self) -> int:
        """A mark to wait from: speech already under way counts as not yet heard."""
        return self.onsets - 1 if self.talking else self.onsets

    async def wait_for(self, mark: int, *, until_quiet: bool) -> None:
        """Until the agent has started talking after `mark` (and, if asked, stopped)."""
        while not (self.onsets > mark and not (until_quiet and self.talking)):
            self.changed.clear()
            await self.changed.wait()


def voiced_seconds(samples: np.ndarray, sample_rate: int) -> float:
    """Where the last 20 ms window louder than speech ends, in seconds from the start."""
    window = sample_rate // 50
    n = samples.size // window
    if n == 0:
        return samples.size / sample_rate
    frames = samples[: n * window].astype(np.float32).reshape(n, window)
    loud = np.flatnonzero(np.sqrt(np.mean(frames**2, axis=1)) > _SPEECH_RMS)
    return (int(loud[-1]) + 1) * window / sample_rate if loud.size else 0.0


class BotSoftphone:
    """One bot on one call; `answer` returns once it has joined, `done` when it hung up."""

    def __init__(self, script: BotScript, tts: TextToSpeech) -> None:
        self.script = script
        self.report = BotReport()
        self._tts = speaking_voice(script.voice, tts)
        self._voice = AgentVoiceTrack()
        self._ear = _Ear()
        self._pc: RTCPeerConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._joined = asyncio.Event()

    @property
    def voice(self) -> AgentVoiceTrack:
        """The bot's outgoing audio track (add it to the peer connection)."""
        return self._voice

    def attach(self, pc: RTCPeerConnection) -> None:
        """Wire the bot into a peer connection before the answer is created."""
        self._pc = pc
        pc.addTrack(self._voice)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                self._task = asyncio.create_task(self._converse(track))
                self._joined.set()

    def listen_to(self, track: MediaStreamTrack) -> None:
        """Converse over `track` (the agent's audio) with no peer connection.

        For a call carried some other way (a carrier's media stream): whoever carries
        it pulls `voice` for the bot's audio and feeds what the agent says into `track`.
        """
        self._task = asyncio.create_task(self._converse(track))
        self._joined.set()

    async def done(self) -> BotReport:
        """Wait for the conversation to end (the bot hung up or the line dropped)."""
        await self._joined.wait()
        assert self._task is not None
        try:
            await self._task
        except MediaStreamError:
            pass  # the line dropped
        except asyncio.CancelledError:
            if cancelling_me():
                raise
        return self.report

    async def close(self) -> None:
        """Hang up now if still on the line (the agent ended the call first)."""
        if self._task is not None:
            await stop_tasks((self._task,), what="the bot", expected=(MediaStreamError,))

    async def _converse(self, track: MediaStreamTrack) -> None:
        listener = asyncio.create_task(self._listen(track))
        mark = 0
        try:
            for index, line in enumerate(self.script.lines):
                if index or not self.script.speaks_first:
                    await self._wait_for_agent(line, mark)
                if listener.done():
                    return  # the agent hung up
                mark = await self._say(line)
            await asyncio.sleep(self.script.linger_s)
        finally:
            await stop_tasks((listener,), what="the bot's ear", expected=(MediaStreamError,))
            if self._pc is not None:
                await self._pc.close()

    async def _listen(self, track: MediaStreamTrack) -> None:
        resampler = InboundResampler()
        while True:
            frame = await track.recv()
            samples = resampler.convert(frame)
            self.report.heard_s += samples.size / 16_000
            onsets = self._ear.onsets
            self._ear.hear(samples)
            if self._ear.onsets > onsets:
                self.report.speech_onsets.append(self._ear.last_onset_at)

    async def _wait_for_agent(self, line: BotLine, mark: int) -> None:
        """Until the agent has spoken and gone quiet (or, to barge in, just started)."""
        if line.barge_in_after_ms is not None:
            await self._ear.wait_for(mark, until_quiet=False)
            await asyncio.sleep(line.barge_in_after_ms / 1000)
            return
        await self._ear.wait_for(mark, until_quiet=True)
        await asyncio.sleep(self.script.think_ms / 1000)

    async def _say(self, line: BotLine) -> int:
        """Say the line (or keep silent); the mark to wait for the agent's reply from."""
        if line.silent_s or not line.say:
            mark = self._ear.mark()
            await asyncio.sleep(line.silent_s)
            return mark
        audio = await self._tts.synthesize(line.say, language=self.script.language)
        # The same line on the same kind of line sounds the same on every run.
        rng = np.random.default_rng(zlib.crc32(line.say.encode()))
        heard = through_line(audio.samples, audio.sample_rate, self.script.line, rng)
        first_frame = self._voice.enqueue(heard, audio.sample_rate, uuid.uuid4().hex, line.say)
        self.report.lines_said.append(line.say)
        started = await first_frame
        await self._voice.wait_idle()
        # The bot's speech ended with its last voiced sample, not with the synthesiser's
        # trailing silence: that is the moment a person's "voice to voice" starts from.
        said_at = time.monotonic()
        if started is not None:
            said_at = min(said_at, started + voiced_seconds(audio.samples, audio.sample_rate))
        if line.barge_in_after_ms is not None and started is not None:
            # Talking over the agent: how long it kept talking once the bot had begun.
            self.report.barge_in_stop_ms.append(max(0.0, self._ear.last_speech - started) * 1000)
        mark = self._ear.mark()
        asyncio.create_task(self._measure_reply(said_at, mark))  # noqa: RUF006
        return mark

    async def _measure_reply(self, said_at: float, mark: int) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ear.wait_for(mark, until_quiet=False), 10)
            if self._ear.last_onset_at >= said_at:
                self.report.voice_to_voice_ms.append((self._ear.last_onset_at - said_at) * 1000)
