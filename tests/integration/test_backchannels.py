"""Backchannels over the agent's voice, on real audio through a real session.

The agent (espeak-ng) says a long line; the caller (espeak-ng too, heard by
faster-whisper) talks over it. "Ajá" pauses the agent for a moment and lets it finish its
line: a backchannel event, no interruption, no turn. "No, espere, yo ya pagué" is
silenced as soon as it is confirmed and becomes the brain's turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
from aiortc.mediastreams import MediaStreamError

from centralita.kernel.pcm import Pcm16
from realtime.audio.frames import resample_pcm16
from realtime.audio.playback import AgentVoiceTrack
from realtime.audio.synth import espeak
from realtime.providers.base import AgentBrain, AgentReply, BrainTurn
from realtime.providers.espeak import EspeakTTS
from realtime.providers.sentences import split_sentences
from realtime.providers.whisper import WhisperSTT
from realtime.session.call_session import CallSession, SessionConfig
from realtime.session.record import CallRecord
from tests.support.lines import until
from tests.support.paced_track import FRAME, RATE, PacedTrack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"),
]

LINE = (
    "Le llamo de Banco Sur por su cuenta corriente, que tiene una cuota pendiente de "
    "doscientos mil pesos con vencimiento el treinta de noviembre, y quería saber "
    "cuándo podría pagarla."
)
TALK_AFTER_FRAMES = 100  # the caller talks 2 s into the agent's line


class Listener(AgentBrain):
    """Says the long line, and remembers every turn it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.turns: list[str] = []

    async def _start(self) -> AgentReply:
        return AgentReply(say=[LINE])

    async def _respond(self, turn: BrainTurn) -> AgentReply:
        self.turns.append(turn.understanding.text)
        return AgentReply(say=["Entiendo."])


class Caller(PacedTrack):
    """Silence, then `words` once the agent has spoken `TALK_AFTER_FRAMES` frames, paced
    in real time; notes how much the agent had spoken at the words' onset and end."""

    def __init__(self, words: str, voice: AgentVoiceTrack) -> None:
        super().__init__()
        pcm, rate = espeak(words, "es")
        audio = resample_pcm16(pcm, rate, RATE)
        voiced = np.nonzero(np.abs(audio) > 500)[0]
        self.onset_frame = int(voiced[0]) // FRAME  # the frame holding the first voice
        self._frames = [audio[i : i + FRAME] for i in range(0, audio.size - FRAME + 1, FRAME)]
        self._voice = voice
        self._silence = np.zeros(FRAME, dtype=np.int16)
        self._played: int | None = None
        self.agent_frames_at_onset: int | None = None
        self.agent_frames_at_end: int | None = None

    @property
    def done(self) -> bool:
        return self.agent_frames_at_end is not None

    def next_samples(self) -> Pcm16:
        samples = self._silence
        if self._played is None and self._voice.speech_frames_sent >= TALK_AFTER_FRAMES:
            self._played = 0
        if self._played is not None and self._played < len(self._frames):
            samples = self._frames[self._played]
            if self._played == self.onset_frame:
                self.agent_frames_at_onset = self._voice.speech_frames_sent
            self._played += 1
            if self._played == len(self._frames):
                self.agent_frames_at_end = self._voice.speech_frames_sent
        return samples


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stt(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WhisperSTT]:
    whisper = WhisperSTT(cache_dir=Path(tmp_path_factory.mktemp("models")), timeout_s=60)
    await whisper.warm_up(("es",))
    yield whisper


async def converse(stt: WhisperSTT, words: str) -> tuple[CallRecord, Listener, Caller]:
    """One call: the agent's line, the caller's `words` over it, until both are done."""
    brain = Listener()
    voice = AgentVoiceTrack()
    caller = Caller(words, voice)
    call = CallSession(
        call_id="backchannel",
        brain=brain,
        stt=stt,
        tts=EspeakTTS(),
        voice=voice,
        config=SessionConfig(language="es"),
    )

    async def pull() -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await voice.recv()

    puller = asyncio.create_task(pull())
    running = asyncio.create_task(call.run(caller))
    try:
        await until(lambda: caller.done and not call.agent_speaking, 60)
        await asyncio.sleep(2.0)  # a turn, if one were coming, would be under way
        await until(lambda: not call.agent_speaking, 30)
        call.hang_up()
        record = await running
    finally:
        caller.stop()
        voice.stop()
        puller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await puller
    return record, brain, caller


def agent_lines(record: CallRecord) -> list[str]:
    return [text for speaker, text in record.transcript if speaker == "agent"]


@pytest.mark.asyncio(loop_scope="module")
async def test_an_aja_over_the_agent_lets_it_finish_its_line(stt: WhisperSTT) -> None:
    record, brain, caller = await converse(stt, "ajá")

    [backchannel] = [e for e in record.events if e.type == "backchannel"]
    assert not [e for e in record.events if e.type == "interruption"], record.transcript
    assert brain.turns == []  # no turn for it: the brain never heard of it
    assert agent_lines(record) == split_sentences(LINE)  # the line, whole, as said
    assert backchannel.payload["duration_ms"] < 900
    assert record.turns == []
    # The agent was paused while the "ajá" was weighed, then said the rest of the line.
    assert caller.agent_frames_at_onset is not None
    assert caller.agent_frames_at_end is not None
    assert caller.agent_frames_at_end - caller.agent_frames_at_onset <= 20  # silent over it
    print(f"backchannel {backchannel.payload}")


@pytest.mark.asyncio(loop_scope="module")
async def test_a_real_interruption_stops_the_agent_within_300_ms_and_is_a_turn(
    stt: WhisperSTT,
) -> None:
    record, brain, caller = await converse(stt, "no, espere, yo ya pagué")

    [interruption] = [e for e in record.events if e.type == "interruption"]
    assert not [e for e in record.events if e.type == "backchannel"]
    stop_ms = interruption.payload["stop_after_onset_ms"]
    assert stop_ms <= 300, f"playback stopped {stop_ms} ms after the caller's onset"
    # Counted on the agent's own track: frames of speech it sent after the caller's onset.
    assert caller.agent_frames_at_onset is not None
    assert caller.agent_frames_at_end is not None
    spoken_over_ms = 20 * (caller.agent_frames_at_end - caller.agent_frames_at_onset)
    print(f"stop_after_onset_ms={stop_ms}, agent speech after onset {spoken_over_ms} ms")
    assert spoken_over_ms <= 400  # (pacing jitter of two real-time tracks aside)
    # The transcript keeps what was heard, cut; the brain got the turn.
    heard = interruption.payload["heard"]
    assert heard
    assert LINE.startswith(heard)
    assert agent_lines(record)[0] == heard
    assert len(brain.turns) == 1
    assert brain.turns[0].lower().startswith("no, esp")  # Whisper: "No, espérez, ..."
    assert record.turns[0].user_text == brain.turns[0]  # the greeting was no turn
