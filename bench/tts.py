"""Text-to-speech benchmark: espeak-ng against Kokoro-82M's voices on this machine's CPU.

For each voice, on a greeting-length line and a long line of a collections call:

- time to first audio (``first_ms``): Kokoro streams (its first clause comes first);
  espeak-ng makes the whole sentence at once, so for it this is the whole time;
- whole-line synthesis time (``total_ms``) and the real-time factor (``rtf``: synthesis
  time over audio length; under 1 keeps up with playback);
- Kokoro with 1 and 2 onnxruntime threads (the media worker shares its cores with Whisper).

Then Whisper's WER on what each voice says (the project's `WhisperSTT`, base model,
greedy), over a handful of collections lines in the voice's language: how intelligible
the voice is to a machine, a proxy for a caller. Normalised as the WER benchmark does
(`bench.wer_metrics.normalise`).

Prints the figures and writes them to bench/results/tts.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import jiwer
import numpy as np

from bench.wer_metrics import normalise
from realtime.providers.base import TextToSpeech
from realtime.providers.espeak import EspeakTTS, resample
from realtime.providers.kokoro import KokoroTTS
from realtime.providers.whisper import WhisperSTT

RESULTS = Path(__file__).resolve().parent / "results" / "tts.json"

LINES: dict[str, list[str]] = {
    "es": [
        "Hola, buenos días. ¿Hablo con María González?",
        "Le llamo del Banco Sur por su cuota pendiente de ciento cincuenta mil pesos, "
        "que venció el lunes pasado.",
        "¿Podría pagarla este viernes, o prefiere que le ofrezca otra fecha?",
        "Buenos días, le habla la asistente del Banco Sur. Le llamo por su cuota pendiente, "
        "que venció el lunes pasado, y quería saber si puede pagarla esta semana. Si "
        "prefiere, también podemos acordar otra fecha que le acomode mejor, o dividir el "
        "monto en dos pagos sin intereses adicionales.",
    ],
    "en": [
        "Hello, good morning. Am I speaking with John Smith?",
        "I am calling from Banco Sur about your overdue payment of two hundred dollars, "
        "which was due last Monday.",
        "Could you pay it this Friday, or would you prefer another date?",
        "Good morning, this is the assistant from Banco Sur. I am calling about your "
        "overdue payment, which was due last Monday, and I wanted to know if you can pay "
        "it this week. If you prefer, we can also agree on another date that suits you "
        "better, or split the amount into two payments with no extra interest.",
    ],
}
SHORT, LONG = 0, -1  # which lines are timed
KOKORO_VOICES: dict[str, list[str]] = {
    "es": ["ef_dora", "em_alex"],
    "en": ["af_heart", "am_michael", "am_adam"],
}


async def timed(tts: TextToSpeech, text: str, language: str, voice: str | None) -> dict[str, Any]:
    """One line through ``stream``: time to its first piece, to its last, its audio."""
    started = time.perf_counter()
    first_ms = 0.0
    chunks: list[np.ndarray[Any, Any]] = []
    rate = 0
    async for piece in tts.stream(text, language=language, voice=voice):
        if not chunks:
            first_ms = (time.perf_counter() - started) * 1000
        chunks.append(piece.samples)
        rate = piece.sample_rate
    total_ms = (time.perf_counter() - started) * 1000
    samples = np.concatenate(chunks)
    audio_s = samples.size / rate
    return {
        "first_ms": round(first_ms),
        "total_ms": round(total_ms),
        "audio_s": round(audio_s, 2),
        "rtf": round(total_ms / 1000 / audio_s, 3),
        "pieces": len(chunks),
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over repeated runs (the last run's audio kept aside)."""
    keys = ("first_ms", "total_ms", "audio_s", "rtf")
    out: dict[str, Any] = {k: round(statistics.median(r[k] for r in runs), 3) for k in keys}
    out["pieces"] = runs[-1]["pieces"]
    return out


async def measure_voice(
    tts: TextToSpeech, language: str, voice: str | None, repeat: int
) -> dict[str, Any]:
    """Short and long line timings (median of ``repeat`` runs) for one voice."""
    figures: dict[str, Any] = {}
    for kind, index in (("short", SHORT), ("long", LONG)):
        text = LINES[language][index]
        runs = [await timed(tts, text, language, voice) for _ in range(repeat)]
        figures[kind] = median_run(runs)
    return figures


async def wer_of(
    tts: TextToSpeech, stt: WhisperSTT, language: str, voice: str | None
) -> dict[str, Any]:
    """Whisper's WER over the language's lines as ``voice`` says them."""
    refs: list[str] = []
    hyps: list[str] = []
    heard: list[str] = []
    for text in LINES[language]:
        audio = await tts.synthesize(text, language=language, voice=voice)
        pcm = resample(audio.samples, audio.sample_rate, WhisperSTT.sample_rate)
        transcript = await stt.transcribe(pcm, language=language)
        refs.append(normalise(text))
        hyps.append(normalise(transcript.text))
        heard.append(transcript.text)
    return {"wer": round(float(jiwer.wer(refs, hyps)), 3), "heard": heard}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    stt = WhisperSTT(cpu_threads=2, timeout_s=120)
    voices: list[dict[str, Any]] = []
    espeak = EspeakTTS()
    for language in LINES:
        entry: dict[str, Any] = {"engine": "espeak-ng", "voice": language, "language": language}
        entry["threads"] = {"-": await measure_voice(espeak, language, None, args.repeat)}
        entry.update(await wer_of(espeak, stt, language, None))
        voices.append(entry)
        print(line(entry), flush=True)
    engines = {n: KokoroTTS(threads=n, timeout_s=120) for n in args.threads}
    for tts in engines.values():
        await tts.warm_up("es")  # onnxruntime's first run is several times slower
    for language, names in KOKORO_VOICES.items():
        for name in names[: 1 if args.quick else None]:
            entry = {"engine": "kokoro", "voice": name, "language": language, "threads": {}}
            for n, tts in engines.items():
                warm = "Hola." if language == "es" else "Hi."  # the voice's file loaded
                await tts.synthesize(warm, language=language, voice=name)
                entry["threads"][str(n)] = await measure_voice(tts, language, name, args.repeat)
            entry.update(await wer_of(engines[max(engines)], stt, language, name))
            voices.append(entry)
            print(line(entry), flush=True)
    return {
        "machine": {"cpus": _cpus(), "platform": platform.platform()},
        "repeat": args.repeat,
        "lines": LINES,
        "voices": voices,
    }


def line(entry: dict[str, Any]) -> str:
    """One voice's figures on one printed line."""
    parts = [f"{entry['engine']:>9} {entry['voice']:<10} WER {entry['wer']:.2f}"]
    for threads, figures in entry["threads"].items():
        short, long = figures["short"], figures["long"]
        parts.append(
            f"[{threads} thr] short first {short['first_ms']:.0f} ms / whole "
            f"{short['total_ms']:.0f} ms (rtf {short['rtf']:.2f}); long first "
            f"{long['first_ms']:.0f} ms / whole {long['total_ms']:.0f} ms "
            f"({long['audio_s']:.1f} s audio, rtf {long['rtf']:.2f})"
        )
    return "  ".join(parts)


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


def build_parser() -> argparse.ArgumentParser:
    """The TTS benchmark's options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs per line (median kept)")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2], help="onnxruntime threads to try"
    )
    parser.add_argument("--quick", action="store_true", help="one Kokoro voice per language")
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark with parsed options, print and write the figures."""
    print(f"tts benchmark: espeak-ng and Kokoro, threads {args.threads}, repeat {args.repeat}")
    results = asyncio.run(bench(args))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {RESULTS}")
    return results


if __name__ == "__main__":
    run(build_parser().parse_args())
