"""The agent's side of the air: sentences synthesised, queued, cut, muted, recorded.

`CallSession` decides what to say; `AgentSpeech` says it on the voice track and keeps
the call's transcript true to what was actually played: a line cut by a barge-in is
stored as far as it was heard, a line never begun is dropped, and nothing said while a
supervisor has the agent muted is played or stored. The agent's own voice (say,
ElevenLabs) plays from its first streamed chunk, and falls back to the line's espeak-ng
for the rest of a turn when it fails.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator

from centralita.kernel.call_events import CallEventType
from realtime.audio.playback import AgentVoiceTrack
from realtime.providers.base import ProviderError, SpeechAudio, TextToSpeech
from realtime.providers.rendered_lines import CachedVoice
from realtime.session.record import CallRecord, TurnMetrics
from realtime.session.tracing import stage

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

    def foresee(self, lines: list[str]) -> None:
        """Lines the agent may say next: a voice that keeps rendered lines renders
        them now, in the background, so they play at once if they are said."""
        if lines and isinstance(self._tts, CachedVoice):
            self._tts.prefetch(lines, language=self._language)

    def new_turn(self) -> None:
        """A failed voice gets another chance each turn."""
        self._turn_tts = self._tts

    async def say(
        self, sentence: str, first_of: TurnMetrics | None = None, speech_ended: float | None = None
    ) -> bool:
        """Synthesise one sentence and play it from its first piece (False when muted).

        A streaming voice's sentence starts playing at its first chunk while the rest
        arrives. The turn's first sentence (`first_of`) also times the turn: synthesis
        to first audio, and voice to voice from `speech_ended` (the caller's end of
        speech) to its first frame.
        """
        if self.muted:
            return False  # not played, so not in the transcript
        started = time.perf_counter()
        with stage("tts", first_of, "tts_first_audio_ms"):  # the turn's first sentence only
            pieces, first = await self._open(sentence)
            self._record.usage.tts_characters += first.characters
            utterance_id = uuid.uuid4().hex
            first_frame = self.voice.enqueue(
                first.samples, first.sample_rate, utterance_id, sentence, more_coming=True
            )
            if first_of is not None:
                first_of.tts_first_audio_ms = (time.perf_counter() - started) * 1000
        self._record.said("agent", sentence)
        # Live views show the line when it is queued; a barge-in's `interruption` event
        # then says how much of it was heard.
        self._record.event(CallEventType.TRANSCRIPT, speaker="agent", text=sentence, final=True)
        self._queued.append((utterance_id, len(self._record.transcript) - 1, first_frame))
        del self._queued[:-_CUTTABLE_LINES]
        await self._play_rest(pieces, utterance_id)
        if self._record.first_audio_ms is None:
            first_frame.add_done_callback(self._time_first_audio)
        if first_of is not None and speech_ended is not None:
            sent_at = await first_frame
            if sent_at is not None:  # None: dropped by a barge-in before it began
                first_of.voice_to_voice_ms = (sent_at - speech_ended) * 1000
        return True

    def _time_first_audio(self, first_frame: asyncio.Future[float | None]) -> None:
        """The call's first agent audio, from the session's start (the answer)."""
        sent_at = None if first_frame.cancelled() else first_frame.result()
        if sent_at is not None and self._record.first_audio_ms is None:
            self._record.first_audio_ms = (sent_at - self._record.started) * 1000

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

    def pause(self) -> None:
        """Go silent at once but keep the line's place: the caller may only be saying
        "ajá" (`resume`), or cutting the agent off (`stop`, which keeps what was heard
        up to here)."""
        self.voice.pause()

    def resume(self) -> None:
        """Go on with the paused line from where it stopped."""
        self.voice.resume()

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

    async def _open(self, sentence: str) -> tuple[AsyncGenerator[SpeechAudio, None], SpeechAudio]:
        """The sentence's stream in the turn's voice; on its failure, the fallback's."""
        try:
            return await _first_piece(self._turn_tts, sentence, self._language)
        except ProviderError as exc:
            fallback = self._fallback_tts
            if fallback is None or self._turn_tts is fallback:
                raise
            self._record.event(
                CallEventType.ERROR, where="tts", detail=str(exc), fallback=fallback.name
            )
            self._turn_tts = fallback  # for the rest of the turn
            return await _first_piece(fallback, sentence, self._language)

    async def _play_rest(
        self, pieces: AsyncGenerator[SpeechAudio, None], utterance_id: str
    ) -> None:
        """Add the stream's later pieces to the playing utterance until it ends.

        A stream that fails halfway leaves the sentence cut short (what arrived plays)
        and the rest of the turn to the fallback voice.
        """
        try:
            async for piece in pieces:
                if not self.voice.extend(utterance_id, piece.samples, piece.sample_rate):
                    break  # a barge-in or a mute dropped the sentence
        except ProviderError as exc:
            fallback = self._fallback_tts
            self._record.event(
                CallEventType.ERROR,
                where="tts",
                detail=f"stream cut short: {exc}",
                fallback=fallback.name if fallback is not None else None,
            )
            if fallback is not None:
                self._turn_tts = fallback
        finally:
            self.voice.close(utterance_id)
            await pieces.aclose()


async def _first_piece(
    tts: TextToSpeech, sentence: str, language: str
) -> tuple[AsyncGenerator[SpeechAudio, None], SpeechAudio]:
    """Start `tts` on the sentence; its stream and first piece.

    Raises:
        ProviderError: the voice failed (or produced nothing) before its first piece.
    """
    pieces = tts.stream(sentence, language=language)
    try:
        return pieces, await anext(pieces)
    except StopAsyncIteration:
        raise ProviderError(f"{tts.name} produced no audio", transient=False) from None
    except BaseException:
        await pieces.aclose()
        raise
