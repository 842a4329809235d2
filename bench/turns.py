"""Turn detection: fixed silence vs Smart Turn, on callers who pause mid-sentence.

The set (`bench/turn_set.py`): sentences with a real 400-1,200 ms pause inside, and
short complete answers, in Spanish and English, once in espeak-ng's voices and once in
Kokoro's. Each item streams through the real `Endpointer` in 20 ms chunks, once with a
fixed 500 ms silence (today's default) and once per model setting: every threshold x
check_ms x max wait of the grid (Smart Turn asked inline: the stream time is the same
as with the session's executor, minus the model's time). `best` per voice set and
language: the fastest setting that cuts at most 5 % of the pauses, else the least
cutting one; `TurnSettings`' defaults are taken from there.

Figures:
- cut_off_rate: pause items whose turn ended inside the pause (the caller cut off);
- delay_ms p50/p95: from the end of the last word to the end of the turn, on complete
  answers (and on pause items, after their last word);
- smart_turn_ms / silero_ms: model time per call (p50/p95) on one thread.

Prints the figures and writes them to bench/results/turns.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench import turn_set
from bench.report import report
from bench.turn_set import TurnItem
from bench.turn_words import WordsEndpointer, WordsJudge, words_settings
from centralita.kernel.pcm import Pcm16
from realtime.audio.silero import SileroStream
from realtime.audio.turn_model import SmartTurn
from realtime.audio.turn_settings import TurnSettings
from realtime.audio.vad import Endpointer, UtteranceEnded

RESULTS = Path(__file__).resolve().parent / "results" / "turns.json"
CHUNK = 320  # 20 ms, as the session feeds it
TARGET_CUT = 0.05  # issue 21: at most 5 % of mid-sentence pauses cut off


def build_parser() -> argparse.ArgumentParser:
    """The turn benchmark's options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--languages", default="es,en", help="comma-separated: es, en")
    parser.add_argument("--voices", default="espeak,kokoro", help="voice sets: espeak, kokoro")
    parser.add_argument(
        "--thresholds", default="0.5,0.7,0.8,0.9,0.95,0.98", help="P(complete) thresholds"
    )
    parser.add_argument("--check-ms", default="200,300,500", help="first model question at")
    parser.add_argument("--max-waits", default="1000,1300,1600,2000", help="max_wait_ms")
    parser.add_argument("--words-check-ms", default="200", help="mode words: first check at")
    parser.add_argument("--words-max-waits", default="1000,1300", help="mode words: max_wait_ms")
    parser.add_argument(
        "--no-words", action="store_true", help="skip mode words (it needs Whisper)"
    )
    return parser


class CachedJudge:
    """Smart Turn, its answers kept per (item, audio): settings share model calls."""

    def __init__(self) -> None:
        self.model = SmartTurn()
        self.cache: dict[tuple[str, int, int], float] = {}
        self.times_ms: list[float] = []

    def probability(self, item: str, audio: Pcm16) -> float:
        key = (item, audio.size, int(audio[: STT_RATE_MS * 50].astype(np.int64).sum()))
        if key not in self.cache:
            started = time.perf_counter()
            self.cache[key] = self.model.complete_probability(audio)
            self.times_ms.append((time.perf_counter() - started) * 1000)
        return self.cache[key]


STT_RATE_MS = 16


def stream(item: TurnItem, endpointer: Endpointer | WordsEndpointer) -> list[UtteranceEnded]:
    """The item through the endpointer in 20 ms chunks; the utterances it ended."""
    ended: list[UtteranceEnded] = []
    for i in range(0, item.audio.size, CHUNK):
        ended += [
            e for e in endpointer.feed(item.audio[i : i + CHUNK]) if isinstance(e, UtteranceEnded)
        ]
    ended += [e for e in endpointer.flush() if isinstance(e, UtteranceEnded)]
    return ended


def outcome(item: TurnItem, ended: list[UtteranceEnded]) -> dict[str, Any]:
    """Whether the turn was cut before its last word, and the delay after that word."""
    # An end declared before the last word was over cut the caller off.
    cut = any(e.ended_at_ms + e.endpointing_ms < item.speech_end_ms - 40 for e in ended)
    final = [e for e in ended if e.ended_at_ms >= item.speech_end_ms - 200 and not e.forced]
    delay = final[0].ended_at_ms + final[0].endpointing_ms - item.speech_end_ms if final else None
    return {"cut": cut, "delay_ms": delay}


def evaluate(items: Sequence[TurnItem], make: Any, label: str) -> dict[str, Any]:
    """One setting over the set: cut-off rate and delays."""
    per_item = []
    for item in items:
        per_item.append({"item": item.name, **outcome(item, stream(item, make(item)))})
    pauses = [r for r, it in zip(per_item, items, strict=True) if it.kind == "pause"]
    complete = [r for r, it in zip(per_item, items, strict=True) if it.kind == "complete"]
    delays = [r["delay_ms"] for r in complete if r["delay_ms"] is not None]
    pause_delays = [r["delay_ms"] for r in pauses if r["delay_ms"] is not None and not r["cut"]]
    return {
        "setting": label,
        "cut_off_rate": round(sum(r["cut"] for r in pauses) / max(1, len(pauses)), 3),
        "complete_delay_p50_ms": _pct(delays, 50),
        "complete_delay_p95_ms": _pct(delays, 95),
        "pause_item_delay_p50_ms": _pct(pause_delays, 50),
        "cut_items": [r["item"] for r in pauses if r["cut"]],
    }


def _pct(values: Sequence[float], q: int) -> float | None:
    if not values:
        return None
    return round(float(np.percentile(np.asarray(values, dtype=float), q)), 1)


def silero_ms(items: Sequence[TurnItem]) -> dict[str, float | None]:
    """Silero's time per 32 ms window, streamed as the endpointer does."""
    times: list[float] = []
    for item in items[:10]:
        st = SileroStream()
        for i in range(0, item.audio.size, 512):
            started = time.perf_counter()
            st.feed(item.audio[i : i + 512])
            times.append((time.perf_counter() - started) * 1000)
    return {"p50": _pct(times, 50), "p95": _pct(times, 95)}


Grid = tuple[list[float], list[int], list[int]]


def _settings(judge: CachedJudge, grid: Grid) -> list[tuple[str, Any]]:
    """silence-500, then turn mode at every (threshold, check_ms, max wait) of the grid."""
    defaults = TurnSettings(mode="model")
    settings: list[tuple[str, Any]] = [
        ("silence-500", lambda it: Endpointer(silence_ms=500, early_ms=200)),
    ]
    thresholds, checks, waits = grid
    for threshold in thresholds:
        for check in checks:
            for wait in waits:
                if check >= wait:
                    continue

                def make(
                    it: TurnItem, t: float = threshold, c: int = check, w: int = wait
                ) -> Endpointer:
                    return Endpointer(
                        silence_ms=w,
                        early_ms=200,
                        turn_check_ms=c,
                        recheck_ms=defaults.recheck_ms,
                        judge=lambda audio: judge.probability(it.name, audio) >= t,
                        silero_floor=defaults.silero_floor,
                    )

                settings.append((f"model-t{threshold}-c{check}-max{wait}", make))
    return settings


def best(rows: dict[str, dict[str, Any]], target: float = TARGET_CUT, kind: str = "model") -> str:
    """The setting of `kind` to default to: the lowest median delay among those that
    cut at most `target` of the pauses; when none does, the one that cuts least."""
    model = {k: r for k, r in rows.items() if k.startswith(f"{kind}-")}
    meeting = [k for k, r in model.items() if r["cut_off_rate"] <= target]
    if meeting:
        return min(meeting, key=lambda k: (model[k]["complete_delay_p50_ms"] or 1e9, k))
    return min(
        model, key=lambda k: (model[k]["cut_off_rate"], model[k]["complete_delay_p50_ms"] or 1e9)
    )


def measure(
    languages: tuple[str, ...],
    voice_sets: tuple[str, ...],
    grid: Grid,
    words_grid: tuple[list[int], list[int]] | None = None,
) -> dict[str, Any]:
    """Every setting over each voice set, by language; the best setting per language
    (and the best `mode: words` one, when `words_grid` is given)."""
    judge = CachedJudge()
    settings = _settings(judge, grid)
    words = WordsJudge() if words_grid else None
    by_words = words_settings(words, *words_grid) if words and words_grid else []
    results: dict[str, Any] = {"settings": {}, "best": {}, "best_words": {}}
    for voices in voice_sets:
        items = turn_set.build(languages, voices=voices)  # type: ignore[arg-type]
        print(f"{voices}: {len(items)} items, {len(settings)} settings", file=sys.stderr)
        results[f"{voices}_items"] = len(items)
        for language in languages:
            subset = [it for it in items if it.language == language]
            rows = {label: evaluate(subset, make, label) for label, make in settings}
            for label, make in by_words:
                rows[label] = evaluate(subset, make, label)
            results["settings"][f"{voices}/{language}"] = rows
            chosen = best(rows)
            results["best"][f"{voices}/{language}"] = {"setting": chosen, **rows[chosen]}
            shown = ["silence-500", chosen]
            if by_words:
                by_words_best = best(rows, kind="words")
                results["best_words"][f"{voices}/{language}"] = {
                    "setting": by_words_best,
                    **rows[by_words_best],
                }
                shown.append(by_words_best)
            for label in shown:
                row = rows[label]
                print(
                    f"{voices:>6} {language} {label:<28} cut {row['cut_off_rate']:.3f}  "
                    f"delay p50 {row['complete_delay_p50_ms']}  "
                    f"p95 {row['complete_delay_p95_ms']}",
                    file=sys.stderr,
                )
    results["smart_turn_ms"] = {
        "p50": _pct(judge.times_ms, 50),
        "p95": _pct(judge.times_ms, 95),
        "calls": len(judge.times_ms),
    }
    if words is not None:
        took = words.transcription_ms()
        results["words_transcription_ms"] = {"p50": _pct(took, 50), "p95": _pct(took, 95)}
        results["words_heard"] = words.texts()
    results["silero_ms_per_window"] = silero_ms(turn_set.build(languages[:1]))
    results["probabilities"] = {
        f"{k[0]}@{k[1] * 1000 // 16000}ms": round(v, 3) for k, v in sorted(judge.cache.items())
    }
    return results


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark, print and write its figures."""
    grid = (
        [float(t) for t in args.thresholds.split(",")],
        [int(c) for c in args.check_ms.split(",")],
        [int(w) for w in args.max_waits.split(",")],
    )
    words_grid = (
        None
        if args.no_words
        else (
            [int(c) for c in args.words_check_ms.split(",")],
            [int(w) for w in args.words_max_waits.split(",")],
        )
    )
    figures = measure(
        tuple(args.languages.split(",")), tuple(args.voices.split(",")), grid, words_grid
    )
    report(figures, RESULTS, hidden=("settings", "probabilities", "words_heard"))
    return figures


if __name__ == "__main__":
    run(build_parser().parse_args())
