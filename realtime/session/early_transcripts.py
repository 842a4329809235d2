"""Transcription started at the caller's first pause, before the end of the turn is sure.

Whisper takes a quarter to half a second on two cores, about as long as the rest of the
endpointing silence. Started when the caller pauses (`UtterancePaused`, 200 ms), the
transcript is (nearly) ready when the end is declared (500 ms), instead of starting then.
A pause the caller talks on from costs one wasted transcription; its result is dropped.
"""

from __future__ import annotations

import asyncio

from centralita.kernel.pcm import Pcm16
from realtime.audio.vad import TurnCheck, UtteranceEnded, UtterancePaused
from realtime.providers.base import SpeechToText, Transcript

# The endpointer's tail: a pause's audio equals the end's only from this long on.
_MIN_EARLY_MS = 100


def early_ms(early_transcribe_ms: int | None, endpoint_silence_ms: int) -> int | None:
    """The pause that starts transcription early; off when not shorter than the endpoint."""
    if early_transcribe_ms is None or early_transcribe_ms >= endpoint_silence_ms:
        return None
    return max(early_transcribe_ms, _MIN_EARLY_MS)


class EarlyTranscripts:
    """One call's speculative transcription: at most one running, kept for its end."""

    def __init__(self, stt: SpeechToText, language: str, hints: list[str]) -> None:
        self._stt = stt
        self._language = language
        self._hints = hints
        self._pending: tuple[int, asyncio.Task[Transcript]] | None = None

    def start(self, paused: UtterancePaused) -> None:
        """Start transcribing what was said up to this pause."""
        if self._pending is not None and self._pending[0] == paused.ended_at_ms:
            return  # a turn check already started this pause's transcription
        if self._pending is not None:
            stale = self._pending[1]
            self._pending = None
            if not stale.done():
                # The caller talked on after an earlier pause, and its transcription is
                # still running: another one now would only queue behind it (the model
                # runs one at a time) and a third at the end behind both. Let the end
                # transcribe once instead.
                return
        self._begin(paused.ended_at_ms, paused.audio)

    def for_pause(self, check: TurnCheck) -> asyncio.Task[Transcript]:
        """The transcription of the pause `check` asks about; started now (on the
        audio so far, its silence included) when none is running for it, e.g. because
        an earlier pause's was still busy."""
        if self._pending is not None and self._pending[0] == check.ended_at_ms:
            return self._pending[1]
        if self._pending is not None:
            self._pending[1].cancel()
        return self._begin(check.ended_at_ms, check.audio)

    def _begin(self, ended_at_ms: int, audio: Pcm16) -> asyncio.Task[Transcript]:
        """Transcribe `audio`, kept as the pending transcription of that pause."""
        task = asyncio.create_task(
            self._stt.transcribe(audio, language=self._language, hints=self._hints)
        )
        task.add_done_callback(_consume_exception)
        self._pending = (ended_at_ms, task)
        return task

    def take(self, ended: UtteranceEnded) -> asyncio.Task[Transcript] | None:
        """The early transcription of exactly this utterance's audio, if one was started."""
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        ended_at_ms, task = pending
        if ended_at_ms != ended.ended_at_ms or ended.forced:
            task.cancel()
            return None
        return task


def _consume_exception(task: asyncio.Task[Transcript]) -> None:
    """A dropped speculative transcription's failure is not worth a warning."""
    if not task.cancelled():
        task.exception()
