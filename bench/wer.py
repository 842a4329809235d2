"""Spanish WER of the recogniser, raw and after each correction stage; harm and latency.

On the generated set (`bench.wer_set`):

1. training split: transcribed once online and once offline; the differing word runs
   become the known error pairs (`wer_metrics.harvest_pairs`) the correctors load;
2. held-out split: online = the media worker's recogniser (`WhisperSTT` as
   `workers.media.live_stt` builds it: greedy, 20 s encoder window, the live domain
   hints) -> ``wer_raw``; then the live dictionary (`OnlineCorrector` with the pairs)
   -> ``wer_online``; offline = the post-call recogniser (beam 5, full 30 s window,
   the hallucination guard, the collection context sentence from the lexicon's domain
   terms), then
   `HybridCorrector` (L1 + L2 + L3 over the set's lexicon and the pairs) ->
   ``wer_offline``. ``harmful_rate`` is the share of offline corrections that left
   fewer words matching the reference (`wer_metrics.classify_change`);
3. latency: L1 per utterance; L2 nearest-neighbour lookups and whole offline
   corrections against a 100k-entry in-memory lexicon (the set's terms + synthetic
   filler names). pgvector is not measured here (see the report's ``l2_pgvector``).

Prints the figures and writes them to bench/results/wer.json. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench import wer_set
from bench.report import report
from bench.wer_metrics import (
    Effect,
    classify_change,
    harmful_share,
    harvest_pairs,
    word_error_rate,
)
from centralita.correction.online import OnlineCorrector, revert
from realtime.agents.setup import DOMAIN_HINTS
from realtime.offline.retranscription import HALLUCINATION_SILENCE_S, call_context
from realtime.providers.base import Transcript
from realtime.providers.whisper import WhisperSTT

RESULTS = Path(__file__).resolve().parent / "results" / "wer.json"
TRAIN_CACHE = "train_transcripts.json"
FILLER_SYLLABLES = (
    "ba", "ca", "da", "fe", "ga", "je", "la", "ma", "ne", "pa", "qui", "ra", "sa", "te",
    "va", "za", "lo", "mo", "ru", "chi", "ño", "que", "tu", "xi", "hue", "lle", "pi",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="held-out utterances to score")
    parser.add_argument("--lexicon-size", type=int, default=100_000, help="L2 latency lexicon")
    parser.add_argument("--offline-beam", type=int, default=5, help="offline beam size")
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark, print and write its figures."""
    figures = asyncio.run(measure(args.limit, args.lexicon_size, args.offline_beam))
    gc.collect()  # temporalio-style exit crashes are avoided the same way everywhere
    report(figures, RESULTS, hidden=("utterances",))
    return figures


def p50_p95(values: Sequence[float]) -> dict[str, float | None]:
    """p50/p95 in ms to the microsecond (`bench.stats` rounds to 0.1 ms: L1 is far below)."""
    if not values:
        return {"p50_ms": None, "p95_ms": None}
    array = np.asarray(values, dtype=float)
    return {
        "p50_ms": round(float(np.percentile(array, 50)), 3),
        "p95_ms": round(float(np.percentile(array, 95)), 3),
    }


def progress(message: str) -> None:
    """One line of progress on stderr."""
    print(message, file=sys.stderr, flush=True)


async def transcribe_all(
    stt: WhisperSTT,
    utterances: Sequence[wer_set.Utterance],
    label: str,
    *,
    context: str | None = None,
) -> list[Transcript]:
    """Transcribe each utterance's cached WAV, reporting progress.

    Online (no ``context``): with the live domain hints, as the media worker does.
    Offline: with the call's ``context`` and no hints, as the post-call step does.
    """
    out: list[Transcript] = []
    started = time.perf_counter()
    hints = None if context is not None else DOMAIN_HINTS["es"]
    for n, u in enumerate(utterances, 1):
        audio = wer_set.read_wav(wer_set.FOLDER / u.wav_name)
        out.append(await stt.transcribe(audio, language="es", hints=hints, context=context))
        elapsed = time.perf_counter() - started
        progress(f"  {label}: {n}/{len(utterances)} ({elapsed:.0f} s)")
    return out


def online_stt() -> WhisperSTT:
    """The media worker's recogniser with its defaults (greedy, 20 s window for Spanish)."""
    return WhisperSTT(timeout_s=120.0)


def offline_stt(beam: int) -> WhisperSTT:
    """The post-call setting: beam search over Whisper's full 30 s window, the guard."""
    return WhisperSTT(
        beam_size=beam,
        encoder_windows={},
        timeout_s=300.0,
        hallucination_silence_s=HALLUCINATION_SILENCE_S,
    )


def offline_context(terms: Sequence[wer_set.LexiconTerm]) -> str | None:
    """What the post-call step reads before each utterance: a collection call's terms."""
    domain = [t.text for t in terms if t.kind == "domain_term"]
    return call_context("es", domain, collection=True)


async def training_pairs(
    train: Sequence[wer_set.Utterance],
    beam: int,
    vocabulary: Sequence[str],
    context: str | None,
) -> dict[str, str]:
    """Error pairs from the training split (transcripts cached beside the set)."""
    cache = wer_set.FOLDER / TRAIN_CACHE
    stamp = {
        "version": wer_set.VERSION,
        "ids": [u.id for u in train],
        "beam": beam,
        "context": context,
        "hallucination_silence_s": HALLUCINATION_SILENCE_S,
    }
    texts: dict[str, list[str]] | None = None
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("stamp") == stamp:
            texts = cached["texts"]
    if texts is None:
        progress(f"training split: {len(train)} utterances, online and offline")
        live = await transcribe_all(online_stt(), train, "train online")
        post = await transcribe_all(offline_stt(beam), train, "train offline", context=context)
        texts = {"online": [t.text for t in live], "offline": [t.text for t in post]}
        cache.write_text(json.dumps({"stamp": stamp, "texts": texts}, ensure_ascii=False))
    pairs = [(u.text, h) for u, h in zip(train, texts["online"], strict=True)]
    pairs += [(u.text, h) for u, h in zip(train, texts["offline"], strict=True)]
    return harvest_pairs(pairs, vocabulary)


def filler_names(count: int, seed: int = 100) -> list[str]:
    """Distinct made-up two-word names to pad the lexicon to a realistic size."""
    rng = random.Random(seed)  # noqa: S311 - reproducible filler, not a secret
    names: set[str] = set()
    while len(names) < count:
        words = ("".join(rng.choices(FILLER_SYLLABLES, k=rng.randint(2, 4))) for _ in range(2))
        names.add(" ".join(w.capitalize() for w in words))
    return sorted(names)


def lexicon_entries(
    terms: Sequence[wer_set.LexiconTerm], pairs: dict[str, str], filler: int = 0
) -> list[Any]:
    """The set's lexicon (plus ``filler`` made-up people) as hybrid lexicon entries."""
    from centralita.correction.lexicon import LexiconEntry  # lazily: a separate module

    entries = [LexiconEntry(kind=t.kind, text=t.text, language="es") for t in terms]
    entries += [
        LexiconEntry(kind="error_pair", text=right, wrong=wrong, language="es")
        for wrong, right in pairs.items()
    ]
    entries += [LexiconEntry(kind="person", text=n, language="es") for n in filler_names(filler)]
    return entries


def _wer_by_condition(
    test: Sequence[wer_set.Utterance], hyps: Sequence[str]
) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for condition in ("clean", "noise", "8khz"):
        chosen = [(u.text, h) for u, h in zip(test, hyps, strict=True) if u.condition == condition]
        out[condition] = (
            round(word_error_rate([r for r, _ in chosen], [h for _, h in chosen]), 4)
            if chosen
            else None
        )
    return out


async def measure(limit: int | None, lexicon_size: int, beam: int) -> dict[str, Any]:
    """The whole benchmark: the figures as a JSON-ready dict."""
    from centralita.correction.hybrid import HeardWord, HybridCorrector, undo
    from centralita.correction.lexicon import InMemoryLexicon

    started = time.perf_counter()
    utterances = await wer_set.build()
    terms = wer_set.lexicon(utterances)
    train = [u for u in utterances if u.split == "train"]
    test = [u for u in utterances if u.split == "test"][:limit]
    context = offline_context(terms)
    pairs = await training_pairs(train, beam, [t.text for t in terms], context)
    progress(f"{len(pairs)} error pairs learned from {len(train)} training utterances")

    progress(f"held-out split: {len(test)} utterances")
    live = await transcribe_all(online_stt(), test, "online")
    post = await transcribe_all(offline_stt(beam), test, "offline", context=context)

    # (a) online: the live dictionary over the live transcript.
    dictionary = OnlineCorrector(pairs, language="es")
    online_texts: list[str] = []
    online_effects: list[Effect] = []
    l1_ms: list[float] = []
    for u, t in zip(test, live, strict=True):
        t0 = time.perf_counter()
        result = dictionary.correct(t.text)
        l1_ms.append((time.perf_counter() - t0) * 1000)
        online_texts.append(result.text)
        online_effects += [
            classify_change(u.text, revert(result.text, [c]), result.text)
            for c in result.corrections
        ]

    # (b) offline: the hybrid corrector over the re-transcription's words.
    hybrid = HybridCorrector(
        InMemoryLexicon.from_entries(lexicon_entries(terms, pairs)), dictionary
    )
    heard = [
        [HeardWord(text=w.text, probability=w.probability) for w in t.words if w.text.strip()]
        for t in post
    ]
    offline_texts: list[str] = []
    offline_effects: dict[str, list[Effect]] = {"L1": [], "L2": [], "L3": []}
    samples: list[dict[str, Any]] = []
    for u, words, t, o, t_raw in zip(test, heard, post, online_texts, live, strict=True):
        corrected = await hybrid.correct(words, "es")
        offline_texts.append(corrected.text)
        for c in corrected.corrections:
            without = undo(words, corrected, only=[c])
            offline_effects[c.level].append(classify_change(u.text, without, corrected.text))
        samples.append(
            {
                "id": u.id,
                "condition": u.condition,
                "reference": u.text,
                "raw": t_raw.text,
                "online": o,
                "offline_heard": t.text,
                "offline": corrected.text,
                "corrections": [c.model_dump() for c in corrected.corrections],
            }
        )

    refs = [u.text for u in test]
    raw_texts = [t.text for t in live]
    heard_texts = [" ".join(w.text for w in ws) for ws in heard]
    all_offline = [e for effects in offline_effects.values() for e in effects]
    wer_raw = word_error_rate(refs, raw_texts)
    wer_offline = word_error_rate(refs, offline_texts)

    progress(f"latency: building a {lexicon_size}-entry lexicon")
    latency = await _latency(terms, pairs, lexicon_size, heard, dictionary)
    return {
        "wer_raw": round(wer_raw, 4),
        "wer_online": round(word_error_rate(refs, online_texts), 4),
        "wer_offline": round(wer_offline, 4),
        "harmful_rate": round(harmful_share(all_offline), 4),
        "wer_offline_uncorrected": round(word_error_rate(refs, heard_texts), 4),
        "relative_reduction_offline": round((wer_raw - wer_offline) / wer_raw, 4)
        if wer_raw
        else None,
        "harmful_rate_online": round(harmful_share(online_effects), 4),
        "corrections_online": dict(Counter(online_effects)),
        "corrections_offline": {
            level: dict(Counter(effects)) for level, effects in offline_effects.items()
        },
        "wer_by_condition": {
            "raw": _wer_by_condition(test, raw_texts),
            "online": _wer_by_condition(test, online_texts),
            "offline_uncorrected": _wer_by_condition(test, heard_texts),
            "offline": _wer_by_condition(test, offline_texts),
        },
        "utterances_scored": len(test),
        "utterances_train": len(train),
        "error_pairs": len(pairs),
        "lexicon_terms": len(terms),
        "normalisation": "lower case, accents folded, punctuation removed, numbers as digits",
        "offline_setting": (
            f"whisper base multilingual, beam {beam}, 30 s window, hallucination guard "
            f"{HALLUCINATION_SILENCE_S} s, context {context!r}"
        ),
        "latency": latency,
        "seconds": round(time.perf_counter() - started, 1),
        "utterances": samples,
    }


async def _latency(
    terms: Sequence[wer_set.LexiconTerm],
    pairs: dict[str, str],
    size: int,
    heard: Sequence[Sequence[Any]],
    dictionary: OnlineCorrector,
) -> dict[str, Any]:
    """Per-level latency: L1 per utterance; L2 lookups and whole corrections at ``size``."""
    from centralita.correction.hybrid import HybridCorrector
    from centralita.correction.lexicon import InMemoryLexicon

    real = lexicon_entries(terms, pairs)
    entries = real + lexicon_entries([], {}, filler=max(0, size - len(real)))
    t0 = time.perf_counter()
    lexicon = InMemoryLexicon.from_entries(entries)
    build_s = time.perf_counter() - t0
    texts = [" ".join(w.text for w in words) for words in heard]
    l1 = []
    for text in texts * 5:  # repeated: one pass is too few samples for a stable p95
        t1 = time.perf_counter()
        dictionary.correct(text)
        l1.append((time.perf_counter() - t1) * 1000)
    lookups = []
    for words in heard:
        for w in words:
            t1 = time.perf_counter()
            await lexicon.nearest(w.text, "es", 8)
            lookups.append((time.perf_counter() - t1) * 1000)
    hybrid = HybridCorrector(lexicon, dictionary)
    whole = []
    for words in heard:
        t1 = time.perf_counter()
        await hybrid.correct(words, "es")
        whole.append((time.perf_counter() - t1) * 1000)
    return {
        "l1_per_utterance": p50_p95(l1),
        "l2_lookup_in_memory": {**p50_p95(lookups), "entries": len(lexicon)},
        "offline_l1_l2_l3_per_utterance": p50_p95(whole),
        "lexicon_build_s": round(build_s, 1),
        "l2_pgvector": "not measured: no Postgres lexicon in this benchmark yet",
    }
