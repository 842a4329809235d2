"""Voicemail detection from the call's audio: right or wrong, how soon, at what cost.

On the generated set (`bench.voicemail_set`: machine greetings and human answers,
espeak-ng voices, clean, noisy or over a phone line at 8 or 16 kHz), each clip is fed to
a `VoicemailDetector` in 20 ms frames from the moment of the answer, as the session's
listener would, in three ways:

- ``audio``: the audio alone (the cadence and the beep);
- ``windows``: plus transcripts of the first seconds, re-read as they grow (the audio
  from the answer to 1.5, 2.0, 2.5 and 3.5 s), each known ``--stt-latency-s`` after its
  window closes: what a session gets when it transcribes the greeting while it plays;
- ``utterances``: plus a transcript of each utterance the session's endpointer
  (`realtime.audio.vad.Endpointer`) closes, ``--stt-latency-s`` after its end: what a
  session gets today without asking for anything more.

Transcripts come from the media worker's recogniser (`WhisperSTT`: ``base`` for
Spanish, ``tiny.en`` for English) and are cached in
``bench/results/voicemail_transcripts.json`` (keyed by each clip's description), so
a rerun is fast and the figures deterministic; the recogniser's compute time is reported
next to the latency assumed.

Figures per way: accuracy (the verdict at the end of each clip; ``undecided`` counts as
wrong), per class and per category, the share right within 3 s of the answer, decision
times, humans ever called a machine (the costly error: the agent would hang up on a
person) and machines missed. Then the beep (found, its onset and end against the truth,
false beeps), the detector's cost per frame, and a sweep of the long-greeting threshold
on the audio alone. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench import voicemail_set
from bench.report import report
from bench.voicemail_set import Clip, Rendered
from realtime.audio.frames import STT_RATE, resample_pcm16
from realtime.audio.vad import Endpointer, UtteranceEnded
from realtime.session.voicemail import Thresholds, Verdict, VoicemailDetector

RESULTS = Path(__file__).resolve().parent / "results" / "voicemail.json"
TRANSCRIPTS = RESULTS.parent / "voicemail_transcripts.json"
WINDOWS_S = (1.5, 2.0, 2.5, 3.5)
WITHIN_S = 3.0
BEEP_TOLERANCE_S = 0.1
MODES = ("audio", "windows", "utterances")
SWEEP_S = (2.0, 2.4, 2.6, 2.8, 3.0, 3.2, 3.5)
SWEPT = ("accuracy", "right_within_3s", "humans_ever_machine", "machines_missed")

Heard = tuple[float, str]  # (known at, text)


def build_parser() -> argparse.ArgumentParser:
    """The voicemail benchmark's options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--machines", type=int, default=voicemail_set.MACHINES)
    parser.add_argument("--humans", type=int, default=voicemail_set.HUMANS)
    parser.add_argument("--set-seed", type=int, default=voicemail_set.SEED, help="the set's seed")
    parser.add_argument(
        "--no-stt", action="store_true", help="the audio alone: no Whisper, no transcripts"
    )
    parser.add_argument(
        "--stt-latency-s",
        type=float,
        default=0.5,
        help="seconds from a window's or an utterance's end to its transcript",
    )
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark, print and write its figures."""
    figures = measure(
        seed=args.set_seed,
        machines=args.machines,
        humans=args.humans,
        stt=not args.no_stt,
        latency_s=args.stt_latency_s,
    )
    report(figures, RESULTS, hidden=("per_clip",))
    return figures


def progress(message: str) -> None:
    """One line of progress on stderr."""
    print(message, file=sys.stderr, flush=True)


# -- one clip through the detector ---------------------------------------------------------


@dataclass
class Outcome:
    """What the detector made of one clip."""

    clip: Clip
    final: Verdict
    at_within: str  # the verdict's kind WITHIN_S after the answer
    at_within_speech: str  # ...WITHIN_S after the first word (or the beep)
    first_decision_s: float | None
    ever_machine: bool
    beep_start_s: float | None
    beep_end_s: float | None
    frame_us: list[float] = field(default_factory=list)

    @property
    def right(self) -> bool:
        """The verdict at the end of the clip is the truth."""
        return self.final.kind == self.clip.truth


def simulate(
    clip: Clip, audio: Rendered, heard: Sequence[Heard], thresholds: Thresholds
) -> Outcome:
    """Feed the clip frame by frame, each transcript at the time it would be known."""
    detector = VoicemailDetector(answered_at_s=0.0, thresholds=thresholds)
    n = audio.rate // 50
    pending = sorted(heard)
    changes: list[Verdict] = []
    costs: list[float] = []

    def note(verdict: Verdict | None) -> None:
        if verdict is not None and (not changes or changes[-1].kind != verdict.kind):
            changes.append(verdict)

    for start in range(0, audio.samples.size - n + 1, n):
        at = start / audio.rate
        while pending and pending[0][0] <= at:
            known, text = pending.pop(0)
            note(detector.heard(text, known))
        frame = audio.samples[start : start + n]
        began = time.perf_counter_ns()
        verdict = detector.push(frame, audio.rate, at)
        costs.append((time.perf_counter_ns() - began) / 1000)
        note(verdict)
    for known, text in pending:  # transcripts after the clip's end still count
        note(detector.heard(text, known))
    within = [v for v in changes if v.after_s <= WITHIN_S + 1e-9]
    onset = audio.speech_start_s if audio.speech_start_s is not None else audio.beep_start_s
    after_speech = [v for v in changes if v.after_s <= (onset or 0.0) + WITHIN_S + 1e-9]
    beep = detector.beep
    return Outcome(
        clip=clip,
        final=detector.verdict,
        at_within=within[-1].kind if within else "undecided",
        at_within_speech=after_speech[-1].kind if after_speech else "undecided",
        first_decision_s=changes[0].after_s if changes else None,
        ever_machine=any(v.kind == "machine" for v in changes),
        beep_start_s=None if beep is None else beep.start_s,
        beep_end_s=None if beep is None else beep.end_s,
        frame_us=costs,
    )


# -- transcripts -------------------------------------------------------------------------


def clip_key(clip: Clip) -> str:
    """The cache key of a clip's transcripts: its description and the windows read."""
    text = clip.model_dump_json() + json.dumps(WINDOWS_S)
    return hashlib.sha1(text.encode()).hexdigest()[:16]  # noqa: S324 - a cache key


def utterances(audio16k: np.ndarray[Any, Any]) -> list[UtteranceEnded]:
    """The utterances the session's endpointer closes over the clip (its defaults)."""
    endpointer = Endpointer()
    events = endpointer.feed(audio16k) + endpointer.flush()
    return [e for e in events if isinstance(e, UtteranceEnded)]


async def transcripts(
    clips: Sequence[Clip], audio: dict[str, Rendered]
) -> dict[str, dict[str, list[Any]]]:
    """Each clip's window and utterance transcripts: from the cache or from Whisper.

    Returns:
        {clip id: {"windows": [[window end s, text]], "utterances": [[end s, text]],
        "compute_s": [the recogniser's seconds for each of them, when it ran]}}.
    """
    from realtime.providers.whisper import WhisperSTT  # only when transcripts are wanted

    cache: dict[str, Any] = json.loads(TRANSCRIPTS.read_text()) if TRANSCRIPTS.exists() else {}
    out: dict[str, dict[str, list[Any]]] = {}
    stt: WhisperSTT | None = None
    done = 0
    for n, clip in enumerate(clips, 1):
        key = clip_key(clip)
        if key in cache and "compute_s" in cache[key]:
            out[clip.id] = cache[key]
            continue
        stt = stt or WhisperSTT(timeout_s=120.0)
        rendered = audio[clip.id]
        wide = resample_pcm16(rendered.samples, rendered.rate, STT_RATE)
        entry: dict[str, list[Any]] = {"windows": [], "utterances": [], "compute_s": []}
        pieces = [("windows", w, wide[: round(w * STT_RATE)]) for w in WINDOWS_S] + [
            ("utterances", (u.ended_at_ms + u.endpointing_ms) / 1000, u.audio)
            for u in utterances(wide)
        ]
        for way, end_s, samples in pieces:
            began = time.perf_counter()
            heard = await stt.transcribe(samples, language=clip.language)
            seconds = time.perf_counter() - began
            entry[way].append([round(end_s, 3), heard.text])
            entry["compute_s"].append(round(seconds, 3))
        out[clip.id] = cache[key] = entry
        done += 1
        progress(f"  transcribing: {n}/{len(clips)} ({done} not cached)")
        TRANSCRIPTS.parent.mkdir(parents=True, exist_ok=True)
        TRANSCRIPTS.write_text(json.dumps(cache, indent=1, ensure_ascii=False) + "\n")
    return out


# -- figures -----------------------------------------------------------------------------


def pct(values: Sequence[float], q: float, digits: int = 2) -> float | None:
    """The `q`-th percentile, rounded; None when there are no values."""
    if not values:
        return None
    return round(float(np.percentile(np.asarray(values, dtype=float), q)), digits)


def share(part: int, whole: int) -> float | None:
    """part / whole to three decimals; None for an empty whole."""
    return round(part / whole, 3) if whole else None


def verdict_figures(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Accuracy, timing and the costly errors of one way of running the detector."""
    humans = [o for o in outcomes if o.clip.truth == "human"]
    machines = [o for o in outcomes if o.clip.truth == "machine"]
    decided = [o.first_decision_s for o in outcomes if o.first_decision_s is not None]
    final_s = [o.final.after_s for o in outcomes if o.final.kind != "undecided"]
    by_category: dict[str, list[bool]] = defaultdict(list)
    by_condition: dict[str, list[bool]] = defaultdict(list)
    for o in outcomes:
        by_category[f"{o.clip.truth}/{o.clip.category}"].append(o.right)
        by_condition[o.clip.condition].append(o.right)
    return {
        "accuracy": share(sum(o.right for o in outcomes), len(outcomes)),
        "accuracy_human": share(sum(o.right for o in humans), len(humans)),
        "accuracy_machine": share(sum(o.right for o in machines), len(machines)),
        "right_within_3s": share(sum(o.at_within == o.clip.truth for o in outcomes), len(outcomes)),
        "right_within_3s_of_speech": share(
            sum(o.at_within_speech == o.clip.truth for o in outcomes), len(outcomes)
        ),
        "decided_within_3s": share(sum(s <= WITHIN_S for s in decided), len(outcomes)),
        "first_decision_s": {"p50": pct(decided, 50), "p95": pct(decided, 95)},
        "final_decision_s": {"p50": pct(final_s, 50), "p95": pct(final_s, 95)},
        "humans_ever_machine": sum(o.ever_machine for o in humans),
        "humans_final_machine": sum(o.final.kind == "machine" for o in humans),
        "machines_missed": sum(o.final.kind != "machine" for o in machines),
        "undecided": sum(o.final.kind == "undecided" for o in outcomes),
        "revised": sum(o.final.revised for o in outcomes),
        "reasons": dict(
            sorted(
                {
                    r: sum(o.final.reason == r for o in outcomes)
                    for r in {o.final.reason or "none" for o in outcomes}
                }.items()
            )
        ),
        "by_category": {k: share(sum(v), len(v)) for k, v in sorted(by_category.items())},
        "by_condition": {k: share(sum(v), len(v)) for k, v in sorted(by_condition.items())},
        "wrong": [f"{o.clip.id}:{o.clip.category}:{o.final.kind}" for o in outcomes if not o.right],
    }


def beep_figures(outcomes: Sequence[Outcome], audio: dict[str, Rendered]) -> dict[str, Any]:
    """How well the beep is found and timed (on the audio alone)."""
    with_beep = [o for o in outcomes if audio[o.clip.id].beep_start_s is not None]
    without = [o for o in outcomes if audio[o.clip.id].beep_start_s is None]
    onset_ms: list[float] = []
    end_ms: list[float] = []
    found = 0
    for o in with_beep:
        truth = audio[o.clip.id]
        assert truth.beep_start_s is not None
        assert truth.beep_end_s is not None
        if o.beep_start_s is None or abs(o.beep_start_s - truth.beep_start_s) > BEEP_TOLERANCE_S:
            continue
        found += 1
        onset_ms.append(abs(o.beep_start_s - truth.beep_start_s) * 1000)
        if o.beep_end_s is not None:
            end_ms.append(abs(o.beep_end_s - truth.beep_end_s) * 1000)
    return {
        "clips_with_beep": len(with_beep),
        "found": found,
        "detection_rate": share(found, len(with_beep)),
        "onset_error_ms": {"p50": pct(onset_ms, 50, 1), "p95": pct(onset_ms, 95, 1)},
        "end_error_ms": {"p50": pct(end_ms, 50, 1), "p95": pct(end_ms, 95, 1)},
        "false_beeps": sum(o.beep_start_s is not None for o in without),
    }


def measure(
    *,
    seed: int = voicemail_set.SEED,
    machines: int = voicemail_set.MACHINES,
    humans: int = voicemail_set.HUMANS,
    stt: bool = True,
    latency_s: float = 0.5,
) -> dict[str, Any]:
    """The benchmark's figures (see the module docstring)."""
    clips = voicemail_set.generate(seed, machines, humans)
    progress(f"  synthesising {len(clips)} clips")
    audio = {c.id: voicemail_set.render(c) for c in clips}
    heard: dict[str, dict[str, list[Heard]]] = {c.id: {"audio": []} for c in clips}
    compute: list[float] = []
    if stt:
        found = asyncio.run(transcripts(clips, audio))
        compute = [s for c in clips for s in found[c.id]["compute_s"]]
        for c in clips:
            for way in ("windows", "utterances"):
                heard[c.id][way] = [(end + latency_s, text) for end, text in found[c.id][way]]
    modes = [m for m in MODES if stt or m == "audio"]
    thresholds = Thresholds()
    outcomes = {
        mode: [simulate(c, audio[c.id], heard[c.id][mode], thresholds) for c in clips]
        for mode in modes
    }
    costs = [us for o in outcomes["audio"] for us in o.frame_us]
    figures: dict[str, Any] = {
        "clips": len(clips),
        "machines": sum(c.truth == "machine" for c in clips),
        "humans": sum(c.truth == "human" for c in clips),
        "thresholds": asdict(thresholds),
    }
    for mode in modes:
        figures[mode] = verdict_figures(outcomes[mode])
    figures["beep"] = beep_figures(outcomes["audio"], audio)
    figures["frame_cost_us"] = {
        "p50": pct(costs, 50, 1),
        "p95": pct(costs, 95, 1),
        "mean": round(float(np.mean(costs)), 1) if costs else None,
        "frames": len(costs),
    }
    if stt:
        figures["stt"] = {
            "assumed_latency_s": latency_s,
            "transcriptions": len(compute),
            "compute_s": {"p50": pct(compute, 50), "p95": pct(compute, 95)},
        }
    figures["sweep_machine_greeting_s"] = sweep(clips, audio, heard, modes)
    figures["per_clip"] = {
        c.id: {
            "truth": c.truth,
            "category": c.category,
            "condition": c.condition,
            "text": c.text,
            **{
                mode: {
                    "verdict": o.final.kind,
                    "reason": o.final.reason,
                    "after_s": round(o.final.after_s, 2),
                }
                for mode in modes
                for o in outcomes[mode]
                if o.clip.id == c.id
            },
        }
        for c in clips
    }
    return figures


def sweep(
    clips: Sequence[Clip],
    audio: dict[str, Rendered],
    heard: dict[str, dict[str, list[Heard]]],
    modes: Sequence[str],
) -> dict[str, Any]:
    """The trade-off of the long-greeting threshold: shorter decides machines sooner and
    calls more people machines."""
    out: dict[str, Any] = {}
    for limit in SWEEP_S:
        thresholds = replace(Thresholds(), machine_greeting_s=limit)
        row: dict[str, Any] = {}
        for mode in modes:
            outcomes = [simulate(c, audio[c.id], heard[c.id][mode], thresholds) for c in clips]
            figures = verdict_figures(outcomes)
            row[mode] = {key: figures[key] for key in SWEPT} | {
                "first_decision_p50_s": figures["first_decision_s"]["p50"]
            }
        out[f"{limit:.1f}"] = row
    return out
