"""Spanish WER of each configured recogniser, raw and after each correction stage; harm.

For each voice set of the generated set (`bench.wer_set`: espeak-ng, and Kokoro's
neural voices; ``--voices``), and each model (``--live``/``--offline`` specs, default
the settings' `stt_live`/`stt_offline` for Spanish; built by `bench.wer_models` as the
workers build them, hosted ones included):

1. training split: transcribed once online and once offline; the differing word runs
   become the known error pairs (`wer_metrics.harvest_pairs`) the correctors load;
2. held-out split: online = each live recogniser (as `workers.media.live_stt`
   builds it: greedy, 20 s encoder window, the live domain hints) -> ``wer_raw``;
   then the live dictionary (`OnlineCorrector` with the pairs)
   -> ``wer_online``; offline = each post-call recogniser (beam 5, full 30 s window,
   the hallucination guard, the collection context sentence from the lexicon's domain
   terms), then
   `HybridCorrector` (L1 + L2 + L3 over the set's lexicon and the pairs) ->
   ``wer_offline``. ``harmful_rate`` is the share of offline corrections that left
   fewer words matching the reference (`wer_metrics.classify_change`);
3. latency: L1 per utterance; L2 nearest-neighbour lookups and whole offline
   corrections against a 100k-entry in-memory lexicon (the set's terms + synthetic
   filler names). pgvector is not measured here (see the report's ``l2_pgvector``).

The headline figures are the first voice set's first models; ``summary`` has one row
per voice set and model. The default run (the espeak-ng set, the settings' models:
the shipped ``base``) takes 6-9 min on 2 cores; ``--voices espeak,kokoro`` doubles it,
and ``--offline large-v3`` and the like are the heavy variants. Prints the figures and
writes them to bench/results/wer.json. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
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
from bench.wer_models import (
    configured,
    live_model,
    offline_model,
    progress,
    setting_note,
    transcribe_all,
)
from centralita.correction.online import OnlineCorrector, revert
from centralita.kernel.settings import get_settings
from realtime.offline.retranscription import HALLUCINATION_SILENCE_S, call_context
from realtime.providers.base import SpeechToText

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
    parser.add_argument(
        "--voices",
        type=_voice_sets,
        default=["espeak"],
        help="comma-separated voice sets: espeak (default), kokoro (the neural voices: "
        "~2 min to synthesise once, then ~8 min to score on 2 cores)",
    )
    parser.add_argument(
        "--live",
        action="append",
        help="a live model spec to score (repeatable; default: CENTRALITA_STT_LIVE's es), "
        "e.g. base, small, /models/x, openai:whisper-1",
    )
    parser.add_argument(
        "--offline",
        action="append",
        help="an offline model spec to score (repeatable; default: CENTRALITA_STT_OFFLINE's "
        "es, else the live one), e.g. large-v3 (heavy: minutes per set on 2 cores)",
    )
    return parser


def _voice_sets(text: str) -> list[wer_set.VoiceSet]:
    chosen = [v.strip() for v in text.split(",") if v.strip()]
    for voices in chosen:
        if voices not in wer_set.VOICE_SETS:
            raise argparse.ArgumentTypeError(
                f"unknown voice set {voices!r}; known: {', '.join(wer_set.VOICE_SETS)}"
            )
    return chosen  # type: ignore[return-value]


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark, print and write its figures."""
    figures = asyncio.run(measure(args))
    gc.collect()  # temporalio-style exit crashes are avoided the same way everywhere
    report(figures, RESULTS, hidden=("sets",))
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


def offline_context(terms: Sequence[wer_set.LexiconTerm]) -> str | None:
    """What the post-call step reads before each utterance: a collection call's terms."""
    domain = [t.text for t in terms if t.kind == "domain_term"]
    return call_context("es", domain, collection=True)


async def training_pairs(
    train: Sequence[wer_set.Utterance],
    folder: Path,
    live: tuple[str, SpeechToText],
    offline: tuple[str, SpeechToText],
    beam: int,
    vocabulary: Sequence[str],
    context: str | None,
) -> dict[str, str]:
    """Error pairs from the training split, heard by the first live and offline models
    (transcripts cached beside the set)."""
    cache = folder / TRAIN_CACHE
    stamp = {
        "version": wer_set.VERSION,
        "ids": [u.id for u in train],
        "beam": beam,
        "context": context,
        "hallucination_silence_s": HALLUCINATION_SILENCE_S,
        "models": [live[0], offline[0]],
    }
    texts: dict[str, list[str]] | None = None
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("stamp") == stamp:
            texts = cached["texts"]
    if texts is None:
        progress(f"training split: {len(train)} utterances, online and offline")
        heard, _ = await transcribe_all(live[1], train, folder, "train online")
        post, _ = await transcribe_all(offline[1], train, folder, "train offline", context=context)
        texts = {"online": [t.text for t in heard], "offline": [t.text for t in post]}
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


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark: the figures as a JSON-ready dict."""
    started = time.perf_counter()
    settings = get_settings()
    live_default, offline_default = configured(settings)
    live_specs = list(dict.fromkeys(args.live or [live_default]))
    offline_specs = list(dict.fromkeys(args.offline or [offline_default]))
    lives = {spec: live_model(spec, settings) for spec in live_specs}
    offlines = {spec: offline_model(spec, settings, args.offline_beam) for spec in offline_specs}
    figures: dict[str, Any] = {}
    summary: list[dict[str, Any]] = []
    latency: dict[str, Any] | None = None
    for voices in args.voices:
        progress(f"voice set {voices}")
        measured = await measure_set(voices, lives, offlines, args.limit, args.offline_beam)
        summary += measured.pop("summary")
        if latency is None and args.lexicon_size:
            progress(f"latency: building a {args.lexicon_size}-entry lexicon")
            terms, pairs, heard, dictionary = measured["for_latency"]
            latency = await _latency(terms, pairs, heard, dictionary, args.lexicon_size)
        measured.pop("for_latency", None)
        figures[voices] = measured
    first = figures[args.voices[0]]
    return {
        # The headline figures: the first voice set, the first live and offline models.
        **{key: first[key] for key in HEADLINE},
        "summary": summary,
        "sets": figures,
        "models": {
            "live": {s: setting_note(s, "live", args.offline_beam) for s in live_specs},
            "offline": {s: setting_note(s, "offline", args.offline_beam) for s in offline_specs},
        },
        "normalisation": "lower case, accents folded, punctuation removed, numbers as digits",
        "latency": latency,
        "seconds": round(time.perf_counter() - started, 1),
    }


OFFLINE_KEYS = ("wer_offline_uncorrected", "wer_offline", "harmful_rate", "real_time_factor")
HEADLINE = ("wer_raw", "wer_online", "wer_offline", "harmful_rate", "wer_offline_uncorrected")


async def measure_set(
    voices: wer_set.VoiceSet,
    lives: dict[str, SpeechToText],
    offlines: dict[str, SpeechToText],
    limit: int | None,
    beam: int,
) -> dict[str, Any]:
    """One voice set: each live model's raw and online WER, each offline model's."""
    from centralita.correction.hybrid import HeardWord, HybridCorrector, undo
    from centralita.correction.lexicon import InMemoryLexicon

    folder = wer_set.folder_for(voices)
    utterances = await wer_set.build(voices=voices)
    terms = wer_set.lexicon(utterances)
    train = [u for u in utterances if u.split == "train"]
    test = [u for u in utterances if u.split == "test"][:limit]
    context = offline_context(terms)
    first_live, first_offline = next(iter(lives.items())), next(iter(offlines.items()))
    vocabulary = [t.text for t in terms]
    pairs = await training_pairs(
        train, folder, first_live, first_offline, beam, vocabulary, context
    )
    progress(f"{len(pairs)} error pairs learned from {len(train)} training utterances")
    dictionary = OnlineCorrector(pairs, language="es")
    refs = [u.text for u in test]
    out: dict[str, Any] = {"live": {}, "offline": {}, "summary": []}
    raw_first: list[str] = []
    for spec, stt in lives.items():
        live, rtf = await transcribe_all(stt, test, folder, f"{voices} online {spec}")
        online_texts: list[str] = []
        online_effects: list[Effect] = []
        for u, t in zip(test, live, strict=True):
            result = dictionary.correct(t.text)
            online_texts.append(result.text)
            online_effects += [
                classify_change(u.text, revert(result.text, [c]), result.text)
                for c in result.corrections
            ]
        raw = [t.text for t in live]
        raw_first = raw_first or raw
        out["live"][spec] = {
            "wer_raw": round(word_error_rate(refs, raw), 4),
            "wer_online": round(word_error_rate(refs, online_texts), 4),
            "harmful_rate_online": round(harmful_share(online_effects), 4),
            "corrections_online": dict(Counter(online_effects)),
            "real_time_factor": rtf,
            "by_condition": {
                "raw": _wer_by_condition(test, raw),
                "online": _wer_by_condition(test, online_texts),
            },
        }
    hybrid = HybridCorrector(
        InMemoryLexicon.from_entries(lexicon_entries(terms, pairs)), dictionary
    )
    heard_first: list[list[Any]] = []
    for spec, stt in offlines.items():
        post, rtf = await transcribe_all(
            stt, test, folder, f"{voices} offline {spec}", context=context
        )
        heard = [
            [HeardWord(text=w.text, probability=w.probability) for w in t.words if w.text.strip()]
            or [HeardWord(text=x, probability=0.0) for x in t.text.split()]  # no word figures
            for t in post
        ]
        heard_first = heard_first or heard
        offline_texts: list[str] = []
        effects: dict[str, list[Effect]] = {"L1": [], "L2": [], "L3": []}
        for u, words in zip(test, heard, strict=True):
            corrected = await hybrid.correct(words, "es")
            offline_texts.append(corrected.text)
            for c in corrected.corrections:
                without = undo(words, corrected, only=[c])
                effects[c.level].append(classify_change(u.text, without, corrected.text))
        uncorrected = [" ".join(w.text for w in ws) for ws in heard]
        every = [e for level in effects.values() for e in level]
        out["offline"][spec] = {
            "wer_offline_uncorrected": round(word_error_rate(refs, uncorrected), 4),
            "wer_offline": round(word_error_rate(refs, offline_texts), 4),
            "harmful_rate": round(harmful_share(every), 4),
            "corrections_offline": {k: dict(Counter(v)) for k, v in effects.items()},
            "real_time_factor": rtf,
            "by_condition": {
                "offline_uncorrected": _wer_by_condition(test, uncorrected),
                "offline": _wer_by_condition(test, offline_texts),
            },
        }
    live_first = out["live"][first_live[0]]
    offline_firsts = out["offline"][first_offline[0]]
    wer_raw, wer_offline = live_first["wer_raw"], offline_firsts["wer_offline"]
    out.update(
        {
            "wer_raw": wer_raw,
            "wer_online": live_first["wer_online"],
            "wer_offline": wer_offline,
            "harmful_rate": offline_firsts["harmful_rate"],
            "wer_offline_uncorrected": offline_firsts["wer_offline_uncorrected"],
            "relative_reduction_offline": round((wer_raw - wer_offline) / wer_raw, 4)
            if wer_raw
            else None,
            "utterances_scored": len(test),
            "utterances_train": len(train),
            "error_pairs": len(pairs),
            "lexicon_terms": len(terms),
            "context": context,
            "for_latency": (terms, pairs, heard_first, dictionary),
        }
    )
    out["summary"] = [
        {
            "voices": voices,
            "kind": "live",
            "model": spec,
            **{
                k: v[k]
                for k in ("wer_raw", "wer_online", "harmful_rate_online", "real_time_factor")
            },
        }
        for spec, v in out["live"].items()
    ] + [
        {
            "voices": voices,
            "kind": "offline",
            "model": spec,
            **{
                k: v[k]
                for k in (
                    "wer_offline_uncorrected",
                    "wer_offline",
                    "harmful_rate",
                    "real_time_factor",
                )
            },
        }
        for spec, v in out["offline"].items()
    ]
    return out


async def _latency(
    terms: Sequence[wer_set.LexiconTerm],
    pairs: dict[str, str],
    heard: Sequence[Sequence[Any]],
    dictionary: OnlineCorrector,
    size: int,
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
