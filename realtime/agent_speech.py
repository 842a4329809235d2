"""The agent's side of the air: sentences synthesised, queued, cut, muted, recorded.

`CallSession` decides what to say; `AgentSpeech` says it on the voice track and keeps
the call's transcript true to what was actually played: a line cut by a barge-in is
stored as far as it was heard, a line never begun is dropped, and nothing said while a
supervisor has the agent muted is played or stored. The agent's own voice (say,
ElevenLabs) falls back to the line's espeak-ng for the rest of a turn when it fails.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from realtime.audio.playback import AgentVoiceTrack
from realtime.call_record import CallRecord, TurnMetrics
from realtime.providers.base import ProviderError, SpeechAudio, TextToSpeech

_CUTTABLE_LINES = 50  # only the latest queued lines can still be cut by a barge-in


class AgentSpeech:
    """One call's agent voice: what it says goes through here."""

    def __init__(
        self,
        *,
        record: CallRecord,
        voice: AgentVoiceTrack,
        tts: TextToSpeech,
        language: str,
        fallback_tts: TextToSpeech | None = None,
    ) -> None:
        self._record = record
        self.voice = voice
        self._tts = tts
        self._fallback_tts = fallback_tts
        self._turn_tts = tts
        self._language = language
        # Agent lines queued for playback: (utterance id, transcript index, first frame).
        self._queued: list[tuple[str, int, asyncio.Future[float | None]]] = []
        self.muted = False  # a supervisor muted the agent: nothing it says is played

    @property
    def playing(self) -> bool:
        """Whether audio is going out now."""
        return self.voice.playing

    def new_turn(self) -> None:
        """A failed voice gets another chance each turn."""
        self._turn_tts = self._tts

    async def say(
        self, sentence: str, first_of: TurnMetrics | None = None, speech_ended: float | None = None
    ) -> bool:
        """Synthesise one sentence and queue it (False when muted).

        The turn's first sentence (`first_of`) also times the turn: synthesis, and voice
        to voice from `speech_ended` (the caller's end of speech) to its first frame.
        """
        if self.muted:
            return False  # not played, so not in the transcript
        started = time.perf_counter()
        audio = await self._synthesize(sentence)
        self._record.usage.tts_characters += audio.characters
        utterance_id = uuid.uuid4().hex
        first_frame = self.voice.enqueue(audio.samples, audio.sample_rate, utterance_id, sentence)
        if first_of is not None:
            first_of.tts_first_audio_ms = (time.perf_counter() - started) * 1000
            if speech_ended is not None:
                sent_at = await first_frame
                if sent_at is not None:  # None: dropped by a barge-in before it began
                    first_of.voice_to_voice_ms = (sent_at - speech_ended) * 1000
        self._record.said("agent", sentence)
        # Live views show the line when it is queued; a barge-in's `interruption` event
        # then says how much of it was heard.
        self._record.event("transcript", speaker="agent", text=sentence, final=True)
        self._queued.append((utterance_id, len(self._record.transcript) - 1, first_frame))
        del self._queued[:-_CUTTABLE_LINES]
        return True

    def stop(self) -> str:
        """Stop playback at once; the transcript keeps what was heard (returned)."""
        cut = {p.utterance_id: p.played_text for p in self.voice.interrupt()}
        transcript = self._record.transcript
        drop: list[int] = []
        for utterance_id, index, first_frame in self._queued:
            if utterance_id in cut:
                if cut[utterance_id]:
                    transcript[index] = ("agent", cut[utterance_id])
                else:
                    drop.append(index)
            elif first_frame.done() and first_frame.result() is None:
                drop.append(index)  # dropped before a single frame went out
        for index in sorted(drop, reverse=True):
            del transcript[index]
        self._queued.clear()
        return " ".join(text for text in cut.values() if text)

    def mute(self) -> None:
        """Silence the agent now and until `unmute`."""
        self.muted = True
        self.stop()

    def unmute(self) -> None:
        """Let the agent be heard again."""
        self.muted = False

    async def wait_idle(self) -> None:
        """Until everything queued has been played."""
        await self.voice.wait_idle()

    async def _synthesize(self, sentence: str) -> SpeechAudio:
        """The sentence in the turn's voice; on its failure, the fallback's from now on."""
        try:
            return await self._turn_tts.synthesize(sentence, language=self._language)
        except ProviderError as exc:
            fallback = self._fallback_tts
            if fallback is None or self._turn_tts is fallback:
                raise
            self._record.event("error", where="tts", detail=str(exc), fallback=fallback.name)
            self._turn_tts = fallback
            return await fallback.synthesize(sentence, language=self._language)
