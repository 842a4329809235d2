"""Voice-to-voice latency, concurrency and memory of real WebRTC calls, in process.

Each call is a real conversation over loopback WebRTC between the agent (flow brain,
faster-whisper, espeak-ng) and a bot softphone playing a short script. Three parts:

1. latency: calls one at a time, over the six shipped agents, until `--turns` user
   turns were measured; p50/p95 of voice-to-voice (end of the caller's speech to the
   agent's first frame), its breakdown, and the same figure measured by the bot;
2. concurrency: k simultaneous calls for k = 1, 2, 4, 6, 8, started 2 s apart (stopping
   after the first level whose p95 passes 1.5 s); the RSS they add per call;
3. long call: one call kept going for `--long-call-minutes` (30 for the issue's figure;
   its agent never hangs up by itself), RSS sampled every 10 s, its growth over the
   call (extrapolated to 30 minutes when shorter).

Prints the figures and writes them to bench/results/latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import os
import platform
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.conversations import (
    ES_VARS,
    LONG_CALL_LINES,
    SCENARIOS,
    CallResult,
    Lines,
    Scenario,
    summarise,
    warm_up,
)
from bench.latency_variants import DEFAULT_VARIANTS, MAIN, VARIANTS, bot_voice, variant_lines
from bench.report import report
from bench.stats import least_squares_slope, max_level_within, p50_p95, worst_p95
from bench.watch import heartbeat, peak_rss, rss_mb, running
from centralita.kernel import runtime
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.providers.whisper import WhisperSTT
from realtime.softphone.script import BotLine, BotScript

RESULTS = Path(__file__).resolve().parent / "results" / "latency.json"

# Calls of a concurrency level start this far apart (see `bench_level`).
STAGGER_S = 2.0
P95_LIMIT_MS = 1500.0
LEVELS = (1, 2, 4, 6, 8)
LONG_CALL_SAMPLE_S = 10.0


# -- the three parts -----------------------------------------------------------------


async def bench_latency(lines: Lines, turns_wanted: int) -> tuple[dict[str, Any], list[float]]:
    """Calls one at a time until `turns_wanted` turns were measured."""
    print(f"latency: calls one at a time until {turns_wanted} turns are measured", flush=True)
    results: list[CallResult] = []
    gc.collect()
    idle = rss_mb()
    peak = [idle]
    async with peak_rss(peak):
        for scenario in itertools.cycle(SCENARIOS):
            done = sum(len(r.turns) for r in results)
            if done >= turns_wanted:
                break
            label = f"call {len(results) + 1} ({scenario.agent}) under way"
            async with heartbeat(label):
                result = await lines.call(scenario)
            results.append(result)
            done += len(result.turns)
            print(f"  call {len(results):>2}: {result.line()}  [{done}/{turns_wanted}]", flush=True)
            if len(result.turns) < len(scenario.script.lines):
                # Ended before the script did: show what the agent understood.
                heard = [text for who, text in result.record.transcript if who == "user"]
                print(f"    ended early; the agent heard {heard}", flush=True)
    turns = [t for r in results for t in r.turns]
    bot = [v for r in results for v in r.bot_v2v_ms]
    figures = summarise(turns)
    figures["calls"] = len(results)
    # Answer to the greeting's first frame: rendered while the phone rang, or not.
    first_audio = [r.record.first_audio_ms for r in results if r.record.first_audio_ms is not None]
    figures["first_audio"] = p50_p95(first_audio)
    figures["samples_ms"] = [round(t.voice_to_voice_ms or 0.0, 1) for t in turns]
    # The same thing as concurrency level 1: one call at a time.
    figures["level_one"] = {
        "calls": 1,
        "sequential_calls": len(results),
        "turns": figures["turns"],
        "p50_ms": figures["p50_ms"],
        "p95_ms": figures["p95_ms"],
        **{f"bot_{k}": v for k, v in p50_p95(bot).items()},
        "rss_idle_mb": round(idle, 1),
        "rss_peak_mb": round(peak[0], 1),
        "memory_per_call_mb": round(peak[0] - idle, 1),
    }
    return figures, bot


async def bench_level(lines: Lines, k: int) -> dict[str, Any]:
    """k calls at once; their p95 and the RSS they added.

    The calls start `STAGGER_S` apart and then all run together for most of their ~40 s.
    Started in the same instant, the scripted calls would speak in lockstep, every
    caller finishing a sentence at the same moment, which real traffic never does; the
    recogniser (one at a time per process) would then queue k utterances at once.
    """
    gc.collect()
    idle = rss_mb()
    peak = [idle]
    scenarios = list(itertools.islice(itertools.cycle(SCENARIOS), k))

    async def staggered(index: int, scenario: Scenario) -> CallResult:
        await asyncio.sleep(index * STAGGER_S)
        return await lines.call(scenario)

    async with (
        peak_rss(peak),
        heartbeat(lambda: f"{k} simultaneous call(s) under way"),
    ):
        results = await asyncio.gather(*(staggered(i, s) for i, s in enumerate(scenarios)))
    for result in results:
        print(f"    {result.line()}", flush=True)
    figures = summarise([t for r in results for t in r.turns])
    return {
        "calls": k,
        "stagger_s": STAGGER_S,
        "turns": figures["turns"],
        "p50_ms": figures["p50_ms"],
        "p95_ms": figures["p95_ms"],
        **{f"bot_{k}": v for k, v in p50_p95([v for r in results for v in r.bot_v2v_ms]).items()},
        "rss_idle_mb": round(idle, 1),
        "rss_peak_mb": round(peak[0], 1),
        "memory_per_call_mb": round((peak[0] - idle) / k, 1),
    }


async def bench_concurrency(
    lines: Lines, max_concurrency: int, level_one: dict[str, Any] | None = None
) -> dict[int, dict[str, Any]]:
    """Levels 1, 2, 4, 6, 8 up to `max_concurrency`, stopping once p95 passes the limit.

    `level_one`, when given, stands for level 1 (the latency run is one call at a time).
    """
    levels: dict[int, dict[str, Any]] = {}
    for k in (k for k in LEVELS if k <= max_concurrency):
        if k == 1 and level_one is not None:
            print("concurrency: 1 call at a time, from the latency run", flush=True)
            levels[k] = level_one
        else:
            print(f"concurrency: {k} simultaneous call(s)", flush=True)
            levels[k] = await bench_level(lines, k)
        level = levels[k]
        print(
            f"  {k} call(s): p50 {level['p50_ms']} ms, p95 {level['p95_ms']} ms over "
            f"{level['turns']} turns (bot side p95 {level['bot_p95_ms']} ms), "
            f"+{level['memory_per_call_mb']} MB/call",
            flush=True,
        )
        worst = worst_p95(level)
        if worst is None or worst > P95_LIMIT_MS:
            break
    return levels


async def bench_long_call(lines: Lines, minutes: float) -> dict[str, Any]:
    """One call as long as `minutes` (or back-to-back calls if the flow ends one early)."""
    span_s = minutes * 60
    print(f"long call: {minutes:g} min, RSS every {LONG_CALL_SAMPLE_S:.0f} s", flush=True)
    count = max(8, int(span_s / 3) + 8)  # more lines than the span can hold
    script = BotScript(
        lines=[BotLine(say=LONG_CALL_LINES[i % len(LONG_CALL_LINES)]) for i in range(count)]
    )
    scenario = Scenario("cobranza-temprana", script, ES_VARS)
    gc.collect()
    # Each 10 s window's lowest RSS (its floor) and highest: Whisper's buffers come and
    # go within a turn, a leak raises the floor; the slope is fitted to the floors.
    samples: list[tuple[float, float, float]] = []
    calls: list[CallResult] = []
    started = time.perf_counter()

    async def sample() -> None:
        window: list[float] = []
        while True:
            window.append(rss_mb())
            elapsed = time.perf_counter() - started
            if len(window) > LONG_CALL_SAMPLE_S or not samples:
                samples.append((elapsed, min(window), max(window)))
                window = [window[-1]]
                print(
                    f"    ... {elapsed:.0f}/{span_s:.0f} s, RSS {samples[-1][1]:.1f}-"
                    f"{samples[-1][2]:.1f} MB, {len(calls)} call(s) ended",
                    flush=True,
                )
            await asyncio.sleep(1.0)

    async with running(sample()):
        while (left := span_s - (time.perf_counter() - started)) > 1:
            # The agent hangs up when the span is over (max_duration).
            result = await lines.limited(left, endless=True).call(scenario)
            calls.append(result)
            heard = [text for who, text in result.record.transcript if who == "user"]
            # A 30-minute call hears hundreds of lines: the last few say enough.
            print(f"  {result.line()}; last heard {heard[-3:]}", flush=True)
    gc.collect()
    now = rss_mb()
    samples.append((time.perf_counter() - started, now, now))
    times = [t / 60 for t, _, _ in samples]
    floors = [low for _, low, _ in samples]
    slope = least_squares_slope(times, floors) if len(samples) >= 2 else 0.0
    return {
        "long_call_mode": "single_call" if len(calls) == 1 else "consecutive_calls",
        "long_call_calls": len(calls),
        "long_call_turns": sum(len(r.record.turns) for r in calls),
        "long_call_minutes": round(times[-1] - times[0], 2),
        "rss_growth_mb": round(floors[-1] - floors[0], 1),
        "long_call_rss_peak_mb": round(max(high for _, _, high in samples), 1),
        "rss_slope_mb_per_min": round(slope, 3),
        "rss_growth_mb_30min": round(slope * 30, 1),
        # [minute, floor MB, peak MB] per 10 s window.
        "rss_samples_mb": [[round(t / 60, 2), round(lo, 1), round(hi, 1)] for t, lo, hi in samples],
    }


async def variant_figures(lines: Lines, turns: int, name: str) -> dict[str, Any]:
    """One variant's latency part: voice to voice at the agent and at the caller."""
    latency, bot = await bench_latency(lines, turns)
    figures: dict[str, Any] = {
        "p50_ms": latency["p50_ms"],
        "p95_ms": latency["p95_ms"],
        "breakdown": latency["breakdown"],
        "turns": latency["turns"],
        "calls": latency["calls"],
        "answer_to_first_audio": latency["first_audio"],
        "voice_to_voice_samples_ms": latency["samples_ms"],
        **{f"bot_{k}": v for k, v in p50_p95(bot).items()},
        "bot_turns": len(bot),
        "level_one": latency["level_one"],
    }
    print(
        f"  {name}: voice-to-voice at the caller p50 {figures['bot_p50_ms']} ms, p95 "
        f"{figures['bot_p95_ms']} ms; at the agent p50 {figures['p50_ms']} ms, p95 "
        f"{figures['p95_ms']} ms ({figures['turns']} turns); answer to first audio p50 "
        f"{figures['answer_to_first_audio']['p50_ms']} ms",
        flush=True,
    )
    return figures


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Each variant's latency part, then concurrency and the long call on the main one."""
    restrict_ice_to_loopback()
    stt = WhisperSTT()
    bots = bot_voice(args.bot_voice)
    variants: dict[str, dict[str, Any]] = {}
    made: dict[str, Lines] = {}
    for name in args.variants:
        made[name] = variant_lines(name, stt, bots)
        print(f"variant {name}: loading and warming up the models ...", flush=True)
        await warm_up(made[name])
        variants[name] = await variant_figures(made[name], args.turns, name)
    main = MAIN if MAIN in variants else args.variants[0]
    lines = made[main]
    rss_idle = rss_mb()
    figures: dict[str, Any] = {"main_variant": main, **variants[main], "variants": variants}
    levels = await bench_concurrency(lines, args.max_concurrency, variants[main]["level_one"])
    largest = max(levels) if levels else 0
    figures["max_concurrent_calls"] = max_level_within(
        {k: worst_p95(v) for k, v in levels.items()}, P95_LIMIT_MS
    )
    figures["concurrency"] = {str(k): v for k, v in levels.items()}
    figures["memory_per_call_mb"] = levels[largest]["memory_per_call_mb"] if levels else None
    figures["memory_measured_at_calls"] = largest
    figures["rss_idle_mb"] = round(rss_idle, 1)
    if args.kokoro_concurrency and "kokoro" in made:
        print("concurrency with the Kokoro voice:", flush=True)
        kokoro = await bench_concurrency(
            made["kokoro"], args.max_concurrency, variants["kokoro"]["level_one"]
        )
        figures["kokoro_max_concurrent_calls"] = max_level_within(
            {k: worst_p95(v) for k, v in kokoro.items()}, P95_LIMIT_MS
        )
        figures["kokoro_concurrency"] = {str(k): v for k, v in kokoro.items()}

    if args.skip_long:
        figures["rss_growth_mb_30min"] = None
        figures["long_call_minutes"] = None
    else:
        figures.update(await bench_long_call(lines, args.long_call_minutes))

    figures["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "stt": "faster-whisper int8 CPU (es: base, en: tiny.en)",
        "bot_voice": args.bot_voice,
    }
    figures["quick"] = args.quick
    figures["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return figures


# -- command line --------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The latency benchmark's options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=30, help="user turns to measure (latency)")
    parser.add_argument("--max-concurrency", type=int, default=8, help="highest level tried")
    parser.add_argument("--long-call-minutes", type=float, default=3.0)
    parser.add_argument("--skip-long", action="store_true", help="no long call")
    parser.add_argument(
        "--variants",
        type=lambda v: [x.strip() for x in v.split(",") if x.strip()],
        default=list(DEFAULT_VARIANTS),
        help=f"comma-separated, in order, of {','.join(VARIANTS)} (default: "
        f"{','.join(DEFAULT_VARIANTS)}); "
        "see bench/latency_variants.py",
    )
    parser.add_argument("--bot-voice", choices=("espeak", "kokoro"), default="espeak")
    parser.add_argument(
        "--kokoro-concurrency", action="store_true", help="the concurrency levels with Kokoro too"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 6 turns, up to 2 calls at once, a 0.5 min long call",
    )
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark with parsed options, print and write the figures."""
    if args.quick:
        args.turns = min(args.turns, 6)
        args.max_concurrency = min(args.max_concurrency, 2)
        args.long_call_minutes = min(args.long_call_minutes, 0.5)
    print(
        f"latency benchmark: {args.turns} turns, concurrency up to {args.max_concurrency}, "
        + ("no long call" if args.skip_long else f"long call {args.long_call_minutes:g} min")
        + " ...",
        flush=True,
    )
    figures = runtime.run(bench(args))
    report(
        figures,
        RESULTS,
        hidden=(
            "rss_samples_mb",
            "machine",
            "voice_to_voice_samples_ms",
            "variants",  # each printed as it ended
            "level_one",
        ),
    )
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    run(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
