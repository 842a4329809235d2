"""ElevenLabs text to speech through the `elevenlabs` SDK's streaming endpoint.

Audio is asked for as raw 16-bit PCM at 48 kHz (`pcm_48000`), the rate of the agent's
voice track, so nothing is resampled on the way to the caller, and `stream` hands each
piece over as it arrives, so the caller hears a sentence from its first chunk. The first
chunk is timed for every sentence (`first_audio_ms`, also in `first_audio_samples_ms`),
since that is what a streaming voice is judged by. A 5xx, 429 or lost connection is
transient (retried by the base class when `retries` allows); 4xx (a bad key, an unknown
voice) is not. The call session falls back to espeak-ng for the rest of the turn when
this voice fails (see `CallSession`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Mapping

import httpx
import numpy as np
from elevenlabs.client import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError

from centralita.kernel.pcm import Pcm16
from realtime.providers.base import ProviderError, SpeechAudio, TextToSpeech

# `pcm_<rate>` formats ElevenLabs streams; 48 kHz is the voice track's own rate.
PCM_RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
DEFAULT_MODEL = "eleven_flash_v2_5"  # the low-latency multilingual model


class ElevenLabsTTS(TextToSpeech):
    """One ElevenLabs voice per language.

    Args:
        api_key: the account's key (from settings; never logged).
        voices: language (primary subtag) to voice id; ``"*"`` for any other language.
        model_id: the synthesis model.
        sample_rate: PCM rate to stream (one of `PCM_RATES`).
        base_url: the API's address (a local fake in tests).
        timeout_s: deadline per sentence.
        retries: retries of transient failures.
    """

    name = "elevenlabs"

    def __init__(
        self,
        *,
        api_key: str,
        voices: Mapping[str, str],
        model_id: str = DEFAULT_MODEL,
        sample_rate: int = 48_000,
        base_url: str | None = None,
        timeout_s: float = 5.0,
        retries: int = 0,
    ) -> None:
        super().__init__(timeout_s=timeout_s, retries=retries)
        if sample_rate not in PCM_RATES:
            raise ValueError(f"ElevenLabs streams PCM at {PCM_RATES}, not {sample_rate}")
        if not voices:
            raise ValueError("ElevenLabsTTS needs at least one voice id")
        self.voices = dict(voices)
        self.model_id = model_id
        self.sample_rate = sample_rate
        self.first_audio_samples_ms: list[float] = []
        self._client = AsyncElevenLabs(api_key=api_key, base_url=base_url, timeout=timeout_s)

    def voice_for(self, language: str) -> str:
        """The voice id for ``language`` (``es-CL`` counts as ``es``).

        Raises:
            ProviderError: no voice for that language and no ``"*"`` voice.
        """
        primary = language.split("-")[0].lower()
        voice = self.voices.get(language, self.voices.get(primary, self.voices.get("*")))
        if voice is None:
            raise ProviderError(f"no ElevenLabs voice for {language!r}", transient=False)
        return voice

    async def _synthesize(self, text: str, language: str, voice: str | None) -> SpeechAudio:
        voice_id = voice or self.voice_for(language)
        started = time.perf_counter()
        first_audio_ms: float | None = None
        pieces: list[bytes] = []
        async with contextlib.aclosing(self._chunks(text, voice_id)) as chunks:
            async for chunk in chunks:
                if first_audio_ms is None:
                    first_audio_ms = self._first_audio(started)
                pieces.append(chunk)
        samples = _Pcm16Decoder().feed(b"".join(pieces))
        if samples.size == 0:
            raise ProviderError("ElevenLabs sent no audio", transient=True)
        return SpeechAudio(
            samples=samples,
            sample_rate=self.sample_rate,
            characters=len(text),
            first_audio_ms=first_audio_ms,
        )

    async def stream(
        self, text: str, *, language: str, voice: str | None = None
    ) -> AsyncGenerator[SpeechAudio, None]:
        """The sentence as ElevenLabs streams it: each piece as soon as it arrives.

        Opening the stream (up to its first audio) has the deadline and retries of
        `synthesize`; every later piece must come within the deadline too.

        Raises:
            ProviderError: no voice, a failed request, a stall, or a stream cut short.
        """
        voice_id = voice or self.voice_for(language)
        started = time.perf_counter()
        decoder = _Pcm16Decoder()
        chunks, first = await self._guarded(lambda: self._open(text, voice_id, decoder))
        async with contextlib.aclosing(chunks):
            yield SpeechAudio(
                samples=first,
                sample_rate=self.sample_rate,
                characters=len(text),
                first_audio_ms=self._first_audio(started),
            )
            while True:
                try:
                    chunk = await asyncio.wait_for(anext(chunks), self.timeout_s)
                except StopAsyncIteration:
                    return
                except TimeoutError as exc:
                    raise ProviderError(f"ElevenLabs stalled for {self.timeout_s:.1f}s") from exc
                samples = decoder.feed(chunk)
                if samples.size:
                    yield SpeechAudio(samples=samples, sample_rate=self.sample_rate, characters=0)

    async def _open(
        self, text: str, voice_id: str, decoder: _Pcm16Decoder
    ) -> tuple[AsyncGenerator[bytes, None], Pcm16]:
        """Start the request and read up to its first whole sample."""
        chunks = self._chunks(text, voice_id)
        try:
            async for chunk in chunks:
                samples = decoder.feed(chunk)
                if samples.size:
                    return chunks, samples
        except BaseException:
            await chunks.aclose()
            raise
        raise ProviderError("ElevenLabs sent no audio", transient=True)

    async def _chunks(self, text: str, voice_id: str) -> AsyncGenerator[bytes, None]:
        """The raw PCM bytes of one request, its failures as `ProviderError`s."""
        stream = self._client.text_to_speech.stream(
            voice_id, text=text, model_id=self.model_id, output_format=f"pcm_{self.sample_rate}"
        )
        try:
            async for chunk in stream:
                if chunk:
                    yield chunk
        except ApiError as exc:
            status = exc.status_code or 0
            transient = status >= 500 or status == 429
            raise ProviderError(f"ElevenLabs answered {status}", transient=transient) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(f"ElevenLabs unreachable: {type(exc).__name__}") from exc

    def _first_audio(self, started: float) -> float:
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.first_audio_samples_ms.append(elapsed_ms)
        del self.first_audio_samples_ms[:-1000]  # bounded in a long-lived worker
        return elapsed_ms


class _Pcm16Decoder:
    """Little-endian 16-bit PCM from byte chunks that may split a sample in two."""

    def __init__(self) -> None:
        self._carry = b""

    def feed(self, chunk: bytes) -> Pcm16:
        data = self._carry + chunk
        whole = len(data) // 2 * 2
        self._carry = data[whole:]
        return np.frombuffer(data[:whole], dtype="<i2").astype(np.int16)
