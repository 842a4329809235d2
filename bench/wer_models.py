"""The recognisers the WER benchmark compares, built as the workers build them.

A model is given as a spec (`centralita.kernel.stt_specs`: ``base``, a folder,
``large-v3``, ``openai:whisper-1``); `stt_choice.build` makes it, with the settings'
downloads, hosted base URL and key. Live ones decode as the media worker does (greedy,
the settings' encoder windows, the live domain hints); offline ones as the post-call
step does (beam search over the full window, the hallucination guard, the call's
context sentence). Deadlines are a benchmark's: a large model's first load is slow.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import wer_set
from centralita.kernel.settings import Settings
from centralita.kernel.stt_specs import parse_stt_spec
from realtime.agents.setup import DOMAIN_HINTS
from realtime.offline.retranscription import OFFLINE_WHISPER
from realtime.providers import stt_choice
from realtime.providers.base import SpeechToText, Transcript


def progress(message: str) -> None:
    """One line of progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def configured(settings: Settings, language: str = "es") -> tuple[str, str]:
    """The live and offline specs the settings give ``language`` (offline: live if unset)."""
    live = settings.stt_live.get(language) or settings.stt_live.get("*") or "base"
    offline = settings.stt_offline.get(language) or settings.stt_offline.get("*") or live
    return live, offline


def live_model(spec: str, settings: Settings) -> SpeechToText:
    """The media worker's recogniser for ``spec`` (Spanish)."""
    return stt_choice.build(
        {"es": parse_stt_spec(spec)},
        settings,
        setting="stt_live",
        whisper={
            "timeout_s": 300.0,
            "cpu_threads": settings.stt_cpu_threads,
            "encoder_windows": settings.stt_encoder_windows,
        },
        timeout_s=max(settings.stt_openai_timeout_s, 30.0),
        retries=settings.stt_openai_retries,
    )


def offline_model(spec: str, settings: Settings, beam: int) -> SpeechToText:
    """The post-call recogniser for ``spec`` (Spanish), with ``beam`` for local models."""
    return stt_choice.build(
        {"es": parse_stt_spec(spec)},
        settings,
        setting="stt_offline",
        whisper={**OFFLINE_WHISPER, "beam_size": beam, "timeout_s": 600.0},
        timeout_s=stt_choice.OFFLINE_HOSTED_TIMEOUT_S,
        retries=stt_choice.OFFLINE_HOSTED_RETRIES,
    )


async def transcribe_all(
    stt: SpeechToText,
    utterances: Sequence[wer_set.Utterance],
    folder: Path,
    label: str,
    *,
    context: str | None = None,
) -> tuple[list[Transcript], float]:
    """Transcribe each utterance's cached WAV in ``folder``; the transcripts and the
    seconds of recognition per second of audio (real-time factor).

    Online (no ``context``): with the live domain hints, as the media worker does.
    Offline: with the call's ``context`` and no hints, as the post-call step does.
    """
    out: list[Transcript] = []
    started = time.perf_counter()
    audio_s = 0.0
    hints = None if context is not None else DOMAIN_HINTS["es"]
    for n, u in enumerate(utterances, 1):
        audio = wer_set.read_wav(folder / u.wav_name)
        audio_s += audio.size / stt.sample_rate
        out.append(await stt.transcribe(audio, language="es", hints=hints, context=context))
        if n % 10 == 0 or n == len(utterances):
            elapsed = time.perf_counter() - started
            progress(f"  {label}: {n}/{len(utterances)} ({elapsed:.0f} s)")
    elapsed = time.perf_counter() - started
    return out, round(elapsed / audio_s, 3) if audio_s else 0.0


def setting_note(spec: str, kind: str, beam: int, extra: dict[str, Any] | None = None) -> str:
    """How a model was run, for the report."""
    parsed = parse_stt_spec(spec)
    if parsed.hosted:
        return f"{spec} (hosted)"
    if kind == "live":
        return f"{spec}: greedy, live encoder windows, domain hints"
    return f"{spec}: beam {beam}, 30 s window, hallucination guard, call context" + (
        f" {extra}" if extra else ""
    )
