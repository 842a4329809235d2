"""Scripted speech providers for tests of the pipeline: real providers, no models.

They implement the same base classes as Whisper and espeak-ng, so the base's deadline,
retries and metrics run exactly as in production; only the hook is scripted.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from centralita.kernel.pcm import Pcm16
from realtime.providers.base import (
    ProviderError,
    SpeechAudio,
    SpeechToText,
    TextToSpeech,
    Transcript,
)


@dataclass(frozen=True)
class STTCall:
    """What a scripted recogniser was asked to transcribe."""

    samples: int
    language: str
    hints: tuple[str, ...]


@dataclass(frozen=True)
class TTSCall:
    """What a scripted voice was asked to say."""

    text: str
    language: str
    voice: str | None


class ScriptedSTT(SpeechToText):
    """Answers each utterance with the next scripted transcript.

    Args:
        script: in order, a `Transcript`, a plain string (becomes a transcript with
            confidence 1.0 in the call's language), or an exception to raise (a
            transient `ProviderError` is retried by the base and consumes the next item).
        delay_s: simulated recognition time per utterance.

    Raises (from ``transcribe``):
        ProviderError: (not transient) the script ran out: a test heard more turns than
            it expected, which should fail loudly rather than return silence.
    """

    name = "scripted-stt"

    def __init__(
        self,
        script: Iterable[Transcript | str | BaseException] = (),
        *,
        delay_s: float = 0.0,
        timeout_s: float = 10.0,
        retries: int = 1,
    ) -> None:
        super().__init__(timeout_s=timeout_s, retries=retries)
        self.script: deque[Transcript | str | BaseException] = deque(script)
        self.delay_s = delay_s
        self.calls: list[STTCall] = []

    def add(self, *items: Transcript | str | BaseException) -> None:
        """Queue more answers."""
        self.script.extend(items)

    async def _transcribe(
        self, audio: Pcm16, language: str, hints: list[str], context: str | None
    ) -> Transcript:
        self.calls.append(STTCall(int(audio.size), language, tuple(hints)))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if not self.script:
            raise ProviderError("ScriptedSTT: the script ran out", transient=False)
        item = self.script.popleft()
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, Transcript):
            return item
        return Transcript(
            text=item,
            language=language,
            confidence=1.0,
            audio_s=audio.size / self.sample_rate,
        )


class ScriptedTTS(TextToSpeech):
    """Says every sentence as a tone whose length grows with the text.

    Args:
        seconds_per_char: tone length per character (0.06 s is about conversational
            speech), so playback and barge-in timing behave like real speech.
        sample_rate: rate of the samples returned.
        frequency_hz: pitch of the tone.
        delay_s: simulated synthesis time per sentence.
        failures: exceptions raised by the first calls, one per call, before speaking.
    """

    name = "scripted-tts"

    def __init__(
        self,
        *,
        seconds_per_char: float = 0.06,
        sample_rate: int = 16_000,
        frequency_hz: float = 440.0,
        delay_s: float = 0.0,
        failures: Iterable[BaseException] = (),
        timeout_s: float = 10.0,
        retries: int = 1,
    ) -> None:
        super().__init__(timeout_s=timeout_s, retries=retries)
        self.seconds_per_char = seconds_per_char
        self.sample_rate = sample_rate
        self.frequency_hz = frequency_hz
        self.delay_s = delay_s
        self.failures: deque[BaseException] = deque(failures)
        self.calls: list[TTSCall] = []

    def duration_s(self, text: str) -> float:
        """How long the tone for ``text`` lasts."""
        return len(text.strip()) * self.seconds_per_char

    async def _synthesize(self, text: str, language: str, voice: str | None) -> SpeechAudio:
        self.calls.append(TTSCall(text, language, voice))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.failures:
            raise self.failures.popleft()
        n = round(self.duration_s(text) * self.sample_rate)
        t = np.arange(n, dtype=np.float32) / self.sample_rate
        tone = (0.3 * 32767 * np.sin(2 * np.pi * self.frequency_hz * t)).astype(np.int16)
        return SpeechAudio(samples=tone, sample_rate=self.sample_rate, characters=len(text.strip()))
