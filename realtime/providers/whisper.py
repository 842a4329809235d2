"""Speech to text with faster-whisper on the CPU: the embedded default recogniser.

Spanish goes to the multilingual ``base`` model and English to ``tiny.en`` (both from
PyPI packages, see `whisper_models`). A model is loaded once per process and shared by
every call session; recognition runs in a worker thread so the event loop keeps
moving audio while Whisper thinks.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from faster_whisper import WhisperModel  # type: ignore[import-untyped]

from centralita.kernel.pcm import Pcm16
from realtime.providers.base import ProviderError, SpeechToText, Transcript, Word
from realtime.providers.repetition import (
    collapse_repeated_words,
    collapse_repetitions,
    token_budget,
)
from realtime.providers.whisper_models import MODEL_NAMES, ModelName, model_path
from realtime.providers.whisper_window import (
    WindowedWhisperModel,
    encoder_window,
    window_frames,
)

log = logging.getLogger(__name__)

ModelSpec = ModelName | Path
"""A shipped model by name, or the folder of any CTranslate2 Whisper model."""

DEFAULT_MODELS: dict[str, ModelSpec] = {"es": "base", "en": "tiny.en"}

DEFAULT_ENCODER_WINDOWS: dict[str, float] = {"es": 20.0}
"""Short encoder windows per language (see `whisper_window`). Spanish (``base``) reads
as well with 20 s as with 30 s and twice as fast; English (``tiny.en``) is fast already
and hallucinates extra words with any shorter window, so it keeps Whisper's own."""

# -- the per-process model cache -------------------------------------------------------
# Loading costs 0.3-1 s and ~100-200 MB; a media worker runs many calls at once, so
# every session shares one instance per (folder, threads). CTranslate2 models accept
# concurrent calls (queued over `num_workers`), so sharing is safe.

_CacheKey = tuple[str, int, str]
_models: dict[_CacheKey, Any] = {}
_loads: Counter[_CacheKey] = Counter()
_load_seconds: dict[str, float] = {}
_models_lock = threading.Lock()

# faster-whisper gained `hotwords` in 1.0.2; older versions only know `initial_prompt`.
_HAS_HOTWORDS = "hotwords" in inspect.signature(WhisperModel.transcribe).parameters


@dataclass(frozen=True)
class LoadStats:
    """How often each cached model was loaded (1 when the cache works)."""

    loads: dict[str, int]
    load_s: dict[str, float]


def load_model(
    folder: Path, *, cpu_threads: int = 2, compute_type: str = "int8"
) -> Any:  # WhisperModel; faster-whisper ships no type hints
    """The shared `WhisperModel` for ``folder``, loading it on first use (blocking).

    Call it from a worker thread (or at start-up); it blocks for the whole load.
    """
    key: _CacheKey = (str(folder), cpu_threads, compute_type)
    model = _models.get(key)
    if model is not None:
        return model
    with _models_lock:
        model = _models.get(key)
        if model is None:
            started = time.perf_counter()
            model = WindowedWhisperModel(
                str(folder), device="cpu", compute_type=compute_type, cpu_threads=cpu_threads
            )
            elapsed = time.perf_counter() - started
            _models[key] = model
            _loads[key] += 1
            _load_seconds[str(folder)] = elapsed
            log.info("loaded Whisper model %s in %.2fs", folder, elapsed)
    return model


def load_stats() -> LoadStats:
    """Loads per model folder so far in this process (for tests and metrics)."""
    loads: Counter[str] = Counter()
    for (folder, _threads, _compute), n in _loads.items():
        loads[folder] += n
    return LoadStats(loads=dict(loads), load_s=dict(_load_seconds))


class WhisperSTT(SpeechToText):
    """faster-whisper, int8 on the CPU, one model per language.

    Args:
        models: language (primary subtag, e.g. ``"es"``) to a shipped model name or a
            model folder; other languages use ``fallback``.
        fallback: the model for languages not in ``models`` (must be multilingual).
        cache_dir: where the assembled ``base`` model is kept (see `model_path`).
        cpu_threads: CTranslate2 threads per model; 2 keeps latency low without
            starving the rest of the media worker.
        beam_size: 1 (greedy) for live turns; larger for re-transcription.
        encoder_windows: language to the seconds of audio the encoder reads for a
            short utterance (see `whisper_window`); languages not in it, and every
            language when it is empty (offline re-transcription), read the full 30 s.
        timeout_s: deadline per utterance, model loading included on first use.
        retries: retries of transient failures (see `Provider`).
        hallucination_silence_s: skip silences longer than this around a likely
            hallucination (needs word timestamps, which are always on); None: off.
    """

    name = "whisper"

    def __init__(
        self,
        *,
        models: Mapping[str, ModelSpec] | None = None,
        fallback: ModelSpec = "base",
        cache_dir: Path | None = None,
        cpu_threads: int = 2,
        beam_size: int = 1,
        compute_type: str = "int8",
        encoder_windows: Mapping[str, float] | None = None,
        timeout_s: float = 15.0,
        retries: int = 0,
        hallucination_silence_s: float | None = None,
    ) -> None:
        super().__init__(timeout_s=timeout_s, retries=retries)
        self.hallucination_silence_s = hallucination_silence_s
        self.models: dict[str, ModelSpec] = dict(DEFAULT_MODELS if models is None else models)
        self.fallback = fallback
        self.cache_dir = cache_dir
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.compute_type = compute_type
        self.encoder_windows: dict[str, float] = dict(
            DEFAULT_ENCODER_WINDOWS if encoder_windows is None else encoder_windows
        )

    def model_for(self, language: str) -> ModelSpec:
        """The model that transcribes ``language`` (``"es-CL"`` counts as ``"es"``)."""
        primary = language.split("-")[0].split("_")[0].lower()
        return self.models.get(language, self.models.get(primary, self.fallback))

    def folder_for(self, language: str) -> Path:
        """The model folder for ``language``, assembling the shipped model if needed."""
        spec = self.model_for(language)
        if isinstance(spec, Path):
            return spec
        if spec in MODEL_NAMES:
            return model_path(spec, self.cache_dir)
        return Path(spec)  # a folder given as a string

    async def warm_up(self, languages: tuple[str, ...] = ("es", "en")) -> None:
        """Load the models for ``languages`` now, off the loop, so no call waits on it."""
        for language in languages:
            await asyncio.to_thread(self._model, language)

    def _model(self, language: str) -> Any:
        try:
            folder = self.folder_for(language)
            return load_model(folder, cpu_threads=self.cpu_threads, compute_type=self.compute_type)
        except ProviderError:
            raise
        except Exception as exc:  # a missing package, a corrupt model: retrying won't help
            raise ProviderError(
                f"cannot load Whisper model for {language!r}: {exc}", transient=False
            ) from exc

    async def _transcribe(
        self, audio: Pcm16, language: str, hints: list[str], context: str | None
    ) -> Transcript:
        primary = language.split("-")[0].lower()
        if audio.size == 0:
            return Transcript(text="", language=primary, confidence=0.0, audio_s=0.0)
        return await asyncio.to_thread(self._run, audio, primary, hints, context)

    def _run(
        self, audio: Pcm16, language: str, hints: list[str], context: str | None = None
    ) -> Transcript:
        model = self._model(language)
        samples = np.asarray(audio, dtype=np.int16).reshape(-1).astype(np.float32) / 32768.0
        options: dict[str, Any] = {
            "language": language,  # English-only models ignore it
            "beam_size": self.beam_size,
            # Fallback sampling at higher temperatures makes the same audio read
            # differently run to run; live turns want one deterministic reading.
            "temperature": 0.0,
            "vad_filter": False,  # the pipeline endpoints utterances itself
            "word_timestamps": True,
            "condition_on_previous_text": False,
            # A hallucination loop stops at the budget instead of decoding for seconds.
            "max_new_tokens": token_budget(samples.size / self.sample_rate),
        }
        prompt = ", ".join(h.strip() for h in hints if h.strip())
        if prompt:
            # Whisper reads the prompt as the text said just before; left open
            # ("Friday") the model continues it and echoes it (tiny.en heard "I will pay
            # on Friday" as "Friday Day"), closed with a period it just biases spelling.
            prompt = _closed(prompt)
            options["hotwords" if _HAS_HOTWORDS else "initial_prompt"] = prompt
        if context and context.strip():
            # Read as the previous sentence, like the prompt above but a whole sentence
            # with its topic: on the WER set, "Llamada de cobranza: abono, boleta, ..."
            # helped where the same terms as bare hotwords hurt (0.597 vs 0.696).
            options["initial_prompt"] = _closed(context.strip())
        if self.hallucination_silence_s is not None:
            # Skips silent stretches of more than this many seconds around a
            # hallucinated segment (the "Hola. Hola." Whisper adds in trailing silence).
            options["hallucination_silence_threshold"] = self.hallucination_silence_s
        frames = window_frames(samples.size / self.sample_rate, self.encoder_windows.get(language))
        try:
            with encoder_window(frames):
                words, texts, info = self._decode(model, samples, options)
        except Exception as exc:
            raise ProviderError(f"Whisper failed: {exc}", transient=False) from exc
        words = collapse_repeated_words(words, lambda w: w.text)  # as the text is
        confidence = sum(w.probability for w in words) / len(words) if words else 0.0
        return Transcript(
            text=collapse_repetitions(" ".join(t for t in texts if t)),
            language=str(info.language or language),
            confidence=confidence,
            words=words,
            audio_s=samples.size / self.sample_rate,
        )

    @staticmethod
    def _decode(
        model: Any, samples: np.ndarray[Any, Any], options: dict[str, Any]
    ) -> tuple[list[Word], list[str], Any]:
        """Run ``model`` over ``samples``: the words, the segments' texts and the info."""
        segments, info = model.transcribe(samples, **options)
        words: list[Word] = []
        texts: list[str] = []
        for segment in segments:  # a generator: decoding happens while iterating
            texts.append(segment.text.strip())
            for w in segment.words or ():
                words.append(
                    Word(
                        text=w.word.strip(),
                        start=float(w.start),
                        end=float(w.end),
                        probability=min(1.0, max(0.0, float(w.probability))),
                    )
                )
        return words, texts, info


def _closed(prompt: str) -> str:
    """``prompt`` ending in a full stop: left open, Whisper continues and echoes it."""
    return prompt if prompt[-1] in ".!?" else prompt + "."
