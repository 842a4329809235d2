"""Text to speech with Kokoro-82M (int8 ONNX) on the CPU: the local neural voice.

espeak-ng turns the text into phonemes (`kokoro_phonemes`), the model turns phonemes and
a voice's style vector into 24 kHz audio. The model is loaded once per process and
shared by every call (`engine`); inference runs on one worker thread of its own with a
bounded onnxruntime thread count, because the media worker's cores are shared with
Whisper and the event loop must never wait on it. Calls queue on that thread rather than
oversubscribing the cores.

`stream` synthesises a long line piece by piece (its first clause, then sentence by
sentence), so the caller hears the start while the rest is made; `synthesize` returns
the whole line. Audio is int16 at 24 kHz, the model's own rate; the voice track resamples
to its 48 kHz as it does every voice's audio.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncGenerator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped]

from centralita.kernel.pcm import Pcm16
from realtime.providers.base import ProviderError, SpeechAudio, TextToSpeech
from realtime.providers.kokoro_models import (
    MAX_TOKENS,
    KokoroNotInstalledError,
    Style,
    load_voice,
    model_path,
    vocab,
    voices_dir,
)
from realtime.providers.kokoro_phonemes import phonemize, split_phonemes, tokens

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
# Language (primary subtag) to its default voice.
DEFAULT_VOICES: dict[str, str] = {"es": "ef_dora", "en": "af_heart"}
# The first piece of a long line ends at its first clause mark past this many phonemes
# (about a second of speech): long enough to sound natural, short enough to come early.
FIRST_PIECE_MIN = 24
# ...and at a word boundary before this many when the first clause runs on (~2.5 s of
# speech; measured: a 4 s first clause kept callers waiting 4-9 s on 2 busy cores).
FIRST_PIECE_MAX = 40
# Silence left at the edges of each piece, and added after a piece by its last mark.
_EDGE_PAD_S = 0.03
_PAUSE_S = {".": 0.25, "!": 0.25, "?": 0.25, "…": 0.3, ",": 0.08, ";": 0.15, ":": 0.12, "—": 0.1}


class Engine:
    """One loaded model: its onnxruntime session, vocabulary and the thread it runs on."""

    def __init__(self, model: Path, threads: int) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.vocab = vocab()
        self.threads = threads
        # One inference at a time per model: concurrent calls would multiply threads
        # past the cores they share with Whisper.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kokoro")

    def infer(self, ids: list[int], style: Style, speed: float) -> npt.NDArray[np.float32]:
        """Float audio in [-1, 1] for up to `MAX_TOKENS` token ids (blocking)."""
        ids = ids[:MAX_TOKENS]
        ref = style[len(ids) - 1].reshape(1, -1)  # the style row is chosen by length
        out = self.session.run(
            None,
            {
                "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                "style": ref.astype(np.float32),
                "speed": np.array([speed], dtype=np.float32),
            },
        )[0]
        return np.asarray(out, dtype=np.float32).ravel()


_engines: dict[tuple[Path, int], Engine] = {}
_engines_lock = threading.Lock()


def engine(threads: int = 1, cache_dir: Path | None = None) -> Engine:
    """The process's model for ``threads`` onnxruntime threads, loaded on first use
    (blocking: the joined model may have to be assembled first)."""
    path = model_path(cache_dir)
    with _engines_lock:
        key = (path, threads)
        if key not in _engines:
            started = time.perf_counter()
            _engines[key] = Engine(path, threads)
            log.info("Kokoro loaded in %.1fs (%d threads)", time.perf_counter() - started, threads)
        return _engines[key]


@lru_cache(maxsize=32)
def _voice(name: str, folder: Path) -> Style:
    return load_voice(name, folder)


@dataclass
class _Plan:
    """A line ready for the model: its pieces as token ids, the voice's style."""

    pieces: list[str]
    style: Style
    engine: Engine


class KokoroTTS(TextToSpeech):
    """Kokoro-82M voices for Spanish and English.

    Args:
        voices: language (primary subtag) to voice name; ``"*"`` for any other
            language. Defaults to `DEFAULT_VOICES`.
        speed: speaking rate (1.0 is the voice's own; 0.5-2.0).
        threads: onnxruntime threads for inference (the media worker shares its cores).
        voices_folder: the kokoro-js voices folder (see `kokoro_models.voices_dir`).
        cache_dir: where the joined model is kept (see `kokoro_models.model_path`).
        timeout_s: deadline per sentence (per piece after the first when streaming),
            model loading included on first use.
        retries: retries of transient failures; Kokoro's failures are not transient.
    """

    name = "kokoro"

    def __init__(
        self,
        *,
        voices: Mapping[str, str] | None = None,
        speed: float = 1.0,
        threads: int = 1,
        voices_folder: Path | str | None = None,
        cache_dir: Path | None = None,
        timeout_s: float = 20.0,
        retries: int = 0,
    ) -> None:
        super().__init__(timeout_s=timeout_s, retries=retries)
        if not 0.5 <= speed <= 2.0:
            raise ValueError(f"speed must be within 0.5-2.0, got {speed}")
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.voices = dict(DEFAULT_VOICES if voices is None else voices)
        self.speed = speed
        self.threads = threads
        self.voices_folder = voices_dir(voices_folder)
        self.cache_dir = cache_dir

    def voice_for(self, language: str) -> str:
        """The voice that speaks ``language`` (``es-CL`` as ``es``)."""
        primary = language.split("-")[0].split("_")[0].lower()
        chosen = self.voices.get(language) or self.voices.get(primary) or self.voices.get("*")
        if chosen is None:
            raise ProviderError(f"no Kokoro voice for language {language!r}", transient=False)
        return chosen

    def load(self, language: str = "es", voice: str | None = None) -> None:
        """Load the model and a voice now (blocking), so the first call does not.

        Raises:
            ProviderError: (not transient) a Kokoro file is missing (names the fix).
        """
        try:
            engine(self.threads, self.cache_dir)
            _voice(voice or self.voice_for(language), self.voices_folder)
        except KokoroNotInstalledError as exc:
            raise ProviderError(str(exc), transient=False) from exc

    async def warm_up(self, language: str = "es", voice: str | None = None) -> None:
        """Load everything and run one short line, off the event loop: onnxruntime's
        first run allocates and is several times slower than the next ones."""
        await asyncio.to_thread(self.load, language, voice)
        await self.synthesize(
            "Hola." if language.startswith("es") else "Hello.", language=language, voice=voice
        )

    async def _synthesize(self, text: str, language: str, voice: str | None) -> SpeechAudio:
        plan = await self._plan(text, language, voice)
        audio = [await self._render(plan, i) for i in range(len(plan.pieces))]
        samples = np.concatenate(audio) if audio else np.zeros(0, dtype=np.int16)
        return SpeechAudio(samples=samples, sample_rate=SAMPLE_RATE, characters=len(text.strip()))

    async def stream(
        self, text: str, *, language: str, voice: str | None = None
    ) -> AsyncGenerator[SpeechAudio, None]:
        """The line piece by piece: its first clause as soon as it is made, then each
        sentence while the ones before play.

        Raises:
            ProviderError: before the first piece (with `synthesize`'s deadline and
                retries) or after it (each later piece has the deadline too).
        """
        started = time.perf_counter()

        async def first() -> tuple[_Plan, Pcm16]:
            plan = await self._plan(text, language, voice)
            head = await self._render(plan, 0) if plan.pieces else np.zeros(0, dtype=np.int16)
            return plan, head

        plan, head = await self._guarded(first)
        yield SpeechAudio(
            samples=head,
            sample_rate=SAMPLE_RATE,
            characters=len(text.strip()),
            first_audio_ms=(time.perf_counter() - started) * 1000,
        )
        for index in range(1, len(plan.pieces)):
            try:
                samples = await asyncio.wait_for(self._render(plan, index), self.timeout_s)
            except TimeoutError as exc:
                raise ProviderError(f"Kokoro stalled for {self.timeout_s:.1f}s") from exc
            yield SpeechAudio(samples=samples, sample_rate=SAMPLE_RATE, characters=0)

    async def _plan(self, text: str, language: str, voice: str | None) -> _Plan:
        """Phonemes cut into pieces, the model and the voice loaded (off the loop)."""
        name = voice or self.voice_for(language)
        try:
            loaded = await asyncio.to_thread(engine, self.threads, self.cache_dir)
            style = await asyncio.to_thread(_voice, name, self.voices_folder)
        except KokoroNotInstalledError as exc:
            raise ProviderError(str(exc), transient=False) from exc
        phonemes = await phonemize(text, language)
        pieces = split_phonemes(
            phonemes, max_len=MAX_TOKENS, first_min=FIRST_PIECE_MIN, first_max=FIRST_PIECE_MAX
        )
        pieces = [p for p in pieces if tokens(p, loaded.vocab)]
        return _Plan(pieces=pieces, style=style, engine=loaded)

    async def _render(self, plan: _Plan, index: int) -> Pcm16:
        """One piece as int16 audio, its edges trimmed and its pause after it."""
        piece = plan.pieces[index]
        ids = tokens(piece, plan.engine.vocab)
        loop = asyncio.get_running_loop()
        try:
            audio = await loop.run_in_executor(
                plan.engine.executor, plan.engine.infer, ids, plan.style, self.speed
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ProviderError(f"Kokoro failed: {exc}", transient=False) from exc
        last = index == len(plan.pieces) - 1
        pause_s = 0.0 if last else _PAUSE_S.get(piece[-1], 0.0)
        return _to_pcm16(_trim(audio), pause_s)


def _trim(audio: npt.NDArray[np.float32], threshold: float = 0.01) -> npt.NDArray[np.float32]:
    """Silence cut from both ends of a piece, `_EDGE_PAD_S` of it kept."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return audio[:0]
    pad = int(_EDGE_PAD_S * SAMPLE_RATE)
    return audio[max(0, int(loud[0]) - pad) : int(loud[-1]) + pad]


def _to_pcm16(audio: npt.NDArray[np.float32], pause_s: float) -> Pcm16:
    pcm: Pcm16 = np.clip(np.rint(audio * 32767.0), -32768, 32767).astype(np.int16)
    if pause_s > 0:
        pcm = np.concatenate([pcm, np.zeros(int(pause_s * SAMPLE_RATE), dtype=np.int16)])
    return pcm
