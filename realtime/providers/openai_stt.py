"""Hosted speech to text through the `openai` client's transcription API.

One utterance (16 kHz mono int16) goes up as an in-memory WAV to
``POST {base_url}/audio/transcriptions``: OpenAI's own (``whisper-1``,
``gpt-4o-transcribe``) or any OpenAI-compatible server (a self-hosted Whisper large-v3
behind vLLM or speaches), so the same class serves live turns and re-transcription.

``verbose_json`` with word and segment timestamps is asked for where the model gives
it. Whisper's API has no per-word probability; the segment's ``avg_logprob`` is the
closest honest figure, so each word carries exp(avg_logprob) of the segment it falls
in. Models that only answer plain text (the gpt-4o family, or a server that refuses
``verbose_json`` with a 400) give text alone: the transcript then has no words and a
confidence of 0, which the call session already reads as "unknown" (`hearing`), and the
corrector treats as nothing to trust.

Failures map as the base class expects: 408, 409, 429, 5xx, timeouts and lost
connections are transient (retried by `Provider._guarded`); other 4xx (a bad key, an
unknown model, audio refused) are not. The client's own retries are off: the base
class owns them, so they are counted in its metrics.
"""

from __future__ import annotations

import io
import logging
import math
import wave
from typing import Any

import numpy as np
import openai
from openai import AsyncOpenAI

from centralita.kernel.openai_errors import error_detail
from centralita.kernel.pcm import Pcm16
from realtime.providers.base import ProviderError, SpeechToText, Transcript, Word

log = logging.getLogger(__name__)

PLAIN_TEXT_MODELS = ("gpt-4o-transcribe", "gpt-4o-mini-transcribe")
"""Models whose API answers only ``json``/``text`` (no timestamps)."""
_TRANSIENT_STATUS = frozenset({408, 409, 429})


class FormatRefusedError(ProviderError):
    """The server refused ``verbose_json`` or timestamps (a 400 naming them)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)


def wav_bytes(audio: Pcm16, sample_rate: int) -> bytes:
    """``audio`` (mono int16) as a complete WAV file in memory."""
    samples = np.asarray(audio, dtype=np.int16).reshape(-1)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


class OpenAISTT(SpeechToText):
    """One hosted transcription model for every language it is given.

    Args:
        model: the API's model (``whisper-1``, ``gpt-4o-transcribe``, or the name a
            self-hosted server knows, e.g. ``Systran/faster-whisper-large-v3``).
        api_key: the key (from the environment variable the settings name; never logged).
        base_url: the API's address ending in ``/v1`` (None: OpenAI's).
        timeout_s: deadline per utterance (the HTTP client's too).
        retries: retries of transient failures (see `Provider`).
        word_timestamps: ask for ``verbose_json`` with word timestamps; off for
            `PLAIN_TEXT_MODELS`, and switched off for good after the server refuses it.
    """

    name = "openai-stt"

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None = None,
        timeout_s: float = 8.0,
        retries: int = 2,
        word_timestamps: bool | None = None,
    ) -> None:
        super().__init__(timeout_s=timeout_s, retries=retries)
        self.model = model
        self.base_url = base_url
        self.word_timestamps = (
            model not in PLAIN_TEXT_MODELS if word_timestamps is None else word_timestamps
        )
        self._client = AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )

    async def warm_up(self, languages: tuple[str, ...] = ("es", "en")) -> None:
        """Nothing to load: the model lives on the server."""

    async def aclose(self) -> None:
        """Close the HTTP client's connections."""
        await self._client.close()

    async def _transcribe(
        self, audio: Pcm16, language: str, hints: list[str], context: str | None
    ) -> Transcript:
        primary = language.split("-")[0].split("_")[0].lower()
        samples = np.asarray(audio, dtype=np.int16).reshape(-1)
        audio_s = samples.size / self.sample_rate
        if samples.size == 0:
            return Transcript(text="", language=primary, confidence=0.0, audio_s=0.0)
        request: dict[str, Any] = {
            "file": ("utterance.wav", wav_bytes(samples, self.sample_rate), "audio/wav"),
            "model": self.model,
            "language": primary,
        }
        prompt = _prompt(hints, context)
        if prompt:
            request["prompt"] = prompt
        if self.word_timestamps:
            try:
                answer = await self._create(
                    **request,
                    response_format="verbose_json",
                    timestamp_granularities=["word", "segment"],
                )
                return _verbose(answer, primary, audio_s)
            except FormatRefusedError:
                log.warning("%s refuses verbose_json; using plain text from now on", self.model)
                self.word_timestamps = False
        answer = await self._create(**request, response_format="json")
        text = str(getattr(answer, "text", "") or "").strip()
        return Transcript(text=text, language=primary, confidence=0.0, audio_s=audio_s)

    async def _create(self, **request: Any) -> Any:
        """One API call, its failures as `ProviderError`s the base class understands."""
        try:
            return await self._client.audio.transcriptions.create(**request)
        except openai.APITimeoutError as exc:  # before APIConnectionError: it subclasses it
            raise ProviderError(f"{self.name} timed out: {exc}", transient=True) from exc
        except openai.APIConnectionError as exc:
            raise ProviderError(f"{self.name} unreachable: {exc}", transient=True) from exc
        except openai.APIStatusError as exc:
            status = exc.status_code
            message = f"{self.name} answered {status}: {error_detail(exc)}"
            if status == 400 and _names_format(exc):
                # A server without verbose_json (or timestamps) says so with a 400
                # naming the format; plain text still works there.
                raise FormatRefusedError(message) from exc
            transient = status in _TRANSIENT_STATUS or status >= 500
            raise ProviderError(message, transient=transient) from exc


def _prompt(hints: list[str], context: str | None) -> str | None:
    """What Whisper reads as said before: the call's context sentence, then the hints."""
    parts = [context.strip()] if context and context.strip() else []
    terms = ", ".join(h.strip() for h in hints if h.strip())
    if terms:
        parts.append(terms)
    if not parts:
        return None
    return " ".join(p if p[-1] in ".!?" else p + "." for p in parts)


def _verbose(answer: Any, language: str, audio_s: float) -> Transcript:
    """A ``verbose_json`` answer as a transcript: words scored by their segment's logprob."""
    segments = [
        (float(s.start), float(s.end), float(s.avg_logprob))
        for s in (getattr(answer, "segments", None) or [])
        if getattr(s, "avg_logprob", None) is not None
    ]
    words: list[Word] = []
    for w in getattr(answer, "words", None) or []:
        start, end = float(w.start), float(w.end)
        probability = _segment_probability(segments, (start + end) / 2)
        if probability is None:
            # No figure at all for this word: keep none (see the module's note).
            words = []
            break
        text = str(w.word).strip()
        if text:
            words.append(Word(text=text, start=start, end=end, probability=probability))
    text = str(getattr(answer, "text", "") or "").strip()
    confidence = sum(w.probability for w in words) / len(words) if words else 0.0
    found = str(getattr(answer, "language", "") or language)
    return Transcript(
        text=text,
        language=_language_code(found, language),
        confidence=confidence,
        words=words,
        audio_s=audio_s,
    )


def _segment_probability(segments: list[tuple[float, float, float]], at: float) -> float | None:
    if not segments:
        return None
    *_span, logprob = min(
        segments, key=lambda s: 0.0 if s[0] <= at <= s[1] else min(abs(at - s[0]), abs(at - s[1]))
    )
    return min(1.0, max(0.0, math.exp(logprob)))


_NAMES = {"spanish": "es", "english": "en", "portuguese": "pt", "french": "fr"}


def _language_code(found: str, asked: str) -> str:
    """OpenAI answers the language's English name ("spanish"); we keep codes."""
    lowered = found.strip().lower()
    if len(lowered) <= 3:
        return lowered or asked
    return _NAMES.get(lowered, asked)


def _names_format(exc: openai.APIStatusError) -> bool:
    text = error_detail(exc).lower()
    return any(w in text for w in ("response_format", "verbose_json", "timestamp"))
