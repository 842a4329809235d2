"""SIP trunk calls: voice to voice at the far phone, beside the phone stream and WebRTC;
how many calls at once 2 cores hold; call attempts at a carrier's pace during calls.

The media worker's real SIP path, in process: its `SipUserAgent`, `SipTrunkDialer` and
`SipCallLeg` (RTP, G.711, the jitter buffer) ringing scripted SIP phones on loopback
(`tests.support.sip_caller`: our own user agent and RTP session at the far end, a bot
person on each phone listening through its jitter buffer and speaking at real-time
pace). The agent, the line and the Spanish scripts are `bench/phone.py`'s, and so are
its two other paths, run in the same process in between: the Twilio media stream (the
fake Twilio's scripted caller) and WebRTC. Three parts:

1. paths: `--calls` calls on each path, one at a time, in turn (SIP, phone stream,
   WebRTC): voice to voice p50/p95 as the agent measures it (end of the caller's speech
   to its first frame) and at the far end (end of the person's speech leaving the phone
   to the first agent speech out of its jitter buffer), answer to first audio, and CPU
   per call-second (this process, both ends of each call, espeak-ng's apart);
2. concurrency: `--levels` of simultaneous SIP calls, started 2 s apart as
   `bench/latency.py` starts them; each level's p50/p95 (agent and far end) and its CPU
   per call-second, up to the first level whose far-end p95 passes 1.5 s. Level 1 is
   part 1's SIP calls. The far phones live in this process, so their CPU (small beside
   Whisper's) counts against the 2 cores too;
3. load: `--load-calls` conversations (4) with, once all are up, `--load-cps` call
   attempts a second for `--load-s` seconds through a second trunk of the same user
   agent to SIPp answering 486 Busy to each: every attempt must come back busy, SIPp
   must count every call passed, and the conversations' latency is compared with the
   same level without the load (the concurrency level of that size, else a run of it).

The callers speak at `CALLER_WPM` (120 wpm) on every path, as in `bench/phone.py`.
Progress goes to stderr; the figures are printed and written to bench/results/sip.json.
This benchmark imports `tests.support` (the far phones, the fake Twilio, SIPp): test
support, as every benchmark's bots and fakes are.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import itertools
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.conversations import ES_VARS, SCENARIOS, Lines, Scenario, measured, summarise, warm_up
from bench.latency import P95_LIMIT_MS, STAGGER_S
from bench.phone import Calls, Measured, TimedVoice, _personas, answer_parts, cpu_s, path_figures
from bench.report import report
from bench.stats import p50_p95
from bench.watch import rss_mb
from centralita.correction.online import OnlineCorrector
from centralita.kernel import runtime
from centralita.kernel.calls import DialRequest
from realtime.agents.setup import flow_agent_for
from realtime.carrier.sip_trunk import SipMedia, SipTrunk, SipTrunkDialer
from realtime.conversation_line import ConversationLine
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT
from realtime.sip.rtp_session import PortRange
from realtime.sip.user_agent import SipUserAgent
from tests.support.phones import CALLER_WPM, twilio_phones
from tests.support.sip_caller import SipPhones
from tests.support.sip_peers import Sipp

RESULTS = Path(__file__).resolve().parent / "results" / "sip.json"

HOST = "127.0.0.1"
# The media worker's RTP; the far phones take theirs from 33000-33999.
MEDIA = SipMedia(host=HOST, ports=PortRange(32000, 32999))
RING_S = 0.3  # how long each SIP phone rings (in no figure), as bench/phone.py's do
REPORT_WAIT_S = 5.0  # how long a phone's report may take once the dialer is done
# The load starts this long after the last conversation was placed: all are talking.
LOAD_START_S = 4.0


def say(text: str) -> None:
    """Progress, to stderr (the figures go to stdout)."""
    print(text, file=sys.stderr, flush=True)


def sip_number(index: int) -> str:
    return f"+5696300{index:04d}"


def dial_request(key: str, number: str, scenario: Scenario) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number=number,
        campaign_id="bench-sip",
        contact_id=key,
        attempt_number=1,
        agent=scenario.agent,
        variables=scenario.variables,
    )


@dataclass
class SipBench:
    """What the parts share: the line, its voice, the user agent, the phones, the dialer."""

    line: ConversationLine
    voice: TimedVoice
    agent: SipUserAgent
    phones: SipPhones
    dialer: SipTrunkDialer
    keys: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)  # key: dial..end

    async def call(self, index: int, scenario: Scenario, *, alone: bool) -> Measured:
        """One SIP call to the scenario's phone, held to its end.

        `alone`: no other call is under way, so the CPU over the call is this call's and
        the greeting synthesised after its start is its own (answer-to-audio parts).
        """
        key = f"bench-sip-{next(self.keys)}-{scenario.agent}"
        started, cpu = time.perf_counter(), cpu_s()
        result = await self.dialer.dial(dial_request(key, sip_number(index), scenario))
        try:
            caller = await self.phones.wait_report(key, REPORT_WAIT_S)
        except TimeoutError:
            caller = None
        ended, (own, children) = time.perf_counter(), cpu_s()
        self.spans[key] = (started, ended)
        record = self.line.records.pop(key, None)
        if record is None:
            raise RuntimeError(f"SIP call {key} was not answered: {result.disconnection_reason}")
        answer: dict[str, float] = {}
        if caller is not None and caller.answered_at is not None:
            if alone:
                greeting = self.voice.first_after(record.started)
                heard = caller.first_speech_heard_at
                answer = answer_parts(record, caller.answered_at, heard, greeting)
            elif caller.answer_to_first_audio_ms is not None:
                answer = {"total_ms": round(caller.answer_to_first_audio_ms, 1)}
        return Measured(
            "sip",
            key,
            scenario.agent,
            record,
            list(caller.bot.voice_to_voice_ms) if caller is not None else [],
            ended - started,
            (own - cpu[0]) if alone else 0.0,
            (children - cpu[1]) if alone else 0.0,
            answer,
        )


# -- figures -------------------------------------------------------------------------


def level_figures(calls: Sequence[Measured], cpu: float, children: float) -> dict[str, Any]:
    """A level's figures: voice to voice (agent, far end), answer to audio, CPU."""
    agent = summarise([t for c in calls for t in measured(c.record.turns)])
    far = p50_p95([v for c in calls for v in c.bot_v2v_ms])
    answers = [c.answer["total_ms"] for c in calls if "total_ms" in c.answer]
    call_s = sum(c.call_s for c in calls)
    return {
        "calls": len(calls),
        "turns": agent["turns"],
        "p50_ms": agent["p50_ms"],
        "p95_ms": agent["p95_ms"],
        "far_p50_ms": far["p50_ms"],
        "far_p95_ms": far["p95_ms"],
        "far_turns": sum(len(c.bot_v2v_ms) for c in calls),
        "answer_to_first_audio": p50_p95(answers),
        "outcomes": [c.record.outcome.value if c.record.outcome else None for c in calls],
        "call_s": round(call_s, 1),
        "cpu_s_per_call_s": round(cpu / call_s, 3) if call_s else None,
        "with_espeak_cpu_s_per_call_s": round((cpu + children) / call_s, 3) if call_s else None,
    }


def within_limit(level: dict[str, Any]) -> bool:
    """The far end's p95 is what a person hears: the limit holds for it."""
    far = level.get("far_p95_ms")
    return far is not None and far <= P95_LIMIT_MS


# -- the three parts -----------------------------------------------------------------


async def bench_paths(
    bench: SipBench, calls: Calls, scenarios: Sequence[Scenario], count: int
) -> dict[str, list[Measured]]:
    """`count` calls on each path, one at a time, SIP, phone stream, WebRTC in turn."""
    say(f"paths: {count} call(s) each over SIP, the phone stream and WebRTC, one at a time")
    results: dict[str, list[Measured]] = {"sip": [], "phone": [], "webrtc": []}
    for n, scenario in enumerate(itertools.islice(itertools.cycle(scenarios), count), 1):
        index = scenarios.index(scenario)
        results["sip"].append(await bench.call(index, scenario, alone=True))
        results["phone"].append(await calls.phone(index, scenario))
        results["webrtc"].append(await calls.webrtc(scenario))
        for path in results.values():
            say(f"  {n:>2} {path[-1].line()}, far end {_show(path[-1].bot_v2v_ms)}")
    return results


def _show(values: Sequence[float]) -> str:
    return "/".join(f"{v:.0f}" for v in values) + " ms" if values else "-"


async def bench_level(
    bench: SipBench, scenarios: Sequence[Scenario], k: int
) -> tuple[dict[str, Any], list[str]]:
    """k SIP calls at once, started `STAGGER_S` apart (see `bench.latency.bench_level`);
    the level's figures and its calls' keys."""
    chosen = list(itertools.islice(itertools.cycle(scenarios), k))

    async def staggered(i: int, scenario: Scenario) -> Measured:
        await asyncio.sleep(i * STAGGER_S)
        return await bench.call(scenarios.index(scenario), scenario, alone=False)

    gc.collect()
    cpu = cpu_s()
    results = await asyncio.gather(*(staggered(i, s) for i, s in enumerate(chosen)))
    own, children = cpu_s()
    for result in results:
        # Alone on the machine is how a call's own CPU is known: the level's is below.
        line = result.line().rsplit(", CPU", 1)[0]
        say(f"    {line}, far end {_show(result.bot_v2v_ms)}")
    return level_figures(results, own - cpu[0], children - cpu[1]), [r.key for r in results]


async def bench_concurrency(
    bench: SipBench, scenarios: Sequence[Scenario], levels: Sequence[int], one: dict[str, Any]
) -> dict[int, dict[str, Any]]:
    """Each level in turn until one's far-end p95 passes the limit; level 1 is `one`."""
    figures: dict[int, dict[str, Any]] = {}
    for k in levels:
        say(f"concurrency: {k} SIP call(s) at once")
        figures[k] = one if k == 1 else (await bench_level(bench, scenarios, k))[0]
        level = figures[k]
        say(
            f"  {k}: p50/p95 {level['p50_ms']}/{level['p95_ms']} ms (agent), "
            f"{level['far_p50_ms']}/{level['far_p95_ms']} ms (far end), "
            f"{level['cpu_s_per_call_s']} CPU-s per call-second"
        )
        if not within_limit(level):
            break
    return figures


async def place_attempts(dialer: SipTrunkDialer, n: int, cps: float) -> dict[str, Any]:
    """`n` dials at `cps` a second, each to be answered 486; how they came back."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    busy = Scenario("cobranza-temprana", SCENARIOS[0].script, ES_VARS)

    async def one(i: int) -> tuple[str, float]:
        await asyncio.sleep(max(0.0, start + i / cps - loop.time()))
        began = time.perf_counter()
        try:
            result = await dialer.dial(dial_request(f"bench-load-{i}", f"+5697{i:07d}", busy))
        except Exception as exc:  # an error is a figure here, not the end of the run
            return f"error: {type(exc).__name__}: {exc}"[:120], 0.0
        return result.disconnection_reason or result.outcome.value, time.perf_counter() - began

    results = await asyncio.gather(*(one(i) for i in range(n)))
    answered = [s * 1000 for reason, s in results if reason == "dial_busy"]
    return {
        "attempts": n,
        "busy": len(answered),
        "errors": n - len(answered),
        "reasons": dict(collections.Counter(reason for reason, _ in results)),
        "placed_s": round(loop.time() - start, 1),
        "invite_to_busy": p50_p95(answered),
    }


async def bench_load(
    bench: SipBench,
    scenarios: Sequence[Scenario],
    k: int,
    cps: float,
    load_s: float,
    baseline: dict[str, Any],
) -> dict[str, Any]:
    """k conversations, and call attempts at `cps` for `load_s` once they are all up."""
    n = max(1, round(cps * load_s))
    say(f"load: {k} SIP conversations, then {n} attempts at {cps:g}/s answered 486 by SIPp")
    async with Sipp("uas_busy.xml", calls=n, timeout_s=load_s + 60) as sipp:
        trunk = SipTrunk(HOST, sipp.port, ring_timeout_s=15, calls_per_second=cps * 2)
        busy_dialer = SipTrunkDialer(bench.agent, trunk, MEDIA, bench.line)
        conversations = asyncio.create_task(bench_level(bench, scenarios, k))
        await asyncio.sleep((k - 1) * STAGGER_S + LOAD_START_S)
        began = time.perf_counter()
        attempts = await place_attempts(busy_dialer, n, cps)
        ended = time.perf_counter()
        loaded, keys = await conversations
        result = await sipp.wait()
    spans = [bench.spans[key] for key in keys]
    all_up = (max(s for s, _ in spans), min(e for _, e in spans))
    overlap = max(0.0, min(ended, all_up[1]) - max(began, all_up[0]))
    say(
        f"  {attempts['busy']}/{n} busy, {attempts['errors']} errors; SIPp: "
        f"{result.successful} passed, {result.failed} failed; far end p50/p95 "
        f"{loaded['far_p50_ms']}/{loaded['far_p95_ms']} ms with the load, "
        f"{baseline['far_p50_ms']}/{baseline['far_p95_ms']} without"
    )
    return {
        "conversations": k,
        "cps": cps,
        "load_s": load_s,
        **attempts,
        "sipp_passed": result.passed,
        "sipp_successful": result.successful,
        "sipp_failed": result.failed,
        "load_with_all_conversations_up_s": round(overlap, 1),
        "with_load": loaded,
        "without_load": baseline,
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, then the three parts; the figures."""
    restrict_ice_to_loopback()
    stt, voice = WhisperSTT(), TimedVoice()
    say("loading the Whisper models and warming them up ...")
    await warm_up(Lines(stt, voice))
    caller_voice = EspeakTTS(speed_wpm=CALLER_WPM)
    line = ConversationLine(
        agent_for=flow_agent_for,
        stt=stt,
        tts=voice,
        bot_tts=caller_voice,
        corrector=OnlineCorrector(),
    )
    scenarios = [s for s in SCENARIOS if s.script.language == "es"]
    scripts = {sip_number(i): s.script for i, s in enumerate(scenarios)}
    agent = await SipUserAgent.start(HOST, 0)
    try:
        async with (
            await SipPhones.start(scripts, caller_voice, ring_s=RING_S) as phones,
            # bench.phone's personas: the numbers its `Calls.phone` rings.
            twilio_phones(_personas(scenarios), line) as twilio,
        ):
            host, port = phones.address
            trunk = SipTrunk(host, port, ring_timeout_s=15)
            sip = SipBench(line, voice, agent, phones, SipTrunkDialer(agent, trunk, MEDIA, line))
            paths = await bench_paths(sip, Calls(line, voice, twilio), scenarios, args.calls)
            one = level_figures(
                paths["sip"],
                sum(c.cpu_s for c in paths["sip"]),
                sum(c.children_cpu_s for c in paths["sip"]),
            )
            levels = await bench_concurrency(sip, scenarios, args.levels, one)
            k = args.load_calls
            baseline = levels.get(k) or (await bench_level(sip, scenarios, k))[0]
            load = await bench_load(sip, scenarios, k, args.load_cps, args.load_s, baseline)
    finally:
        agent.close()
        restrict_ice_to_loopback(False)
    return figures_of(paths, levels, load, args)


def figures_of(
    paths: dict[str, list[Measured]],
    levels: dict[int, dict[str, Any]],
    load: dict[str, Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """The figures, the headline ones first."""
    per_path = {name: path_figures(calls) for name, calls in paths.items()}
    flat: dict[str, Any] = {}
    for name, f in per_path.items():
        v2v, cpu = f["voice_to_voice"], f["cpu"]
        flat[f"{name}_v2v_p50_ms"], flat[f"{name}_v2v_p95_ms"] = v2v["p50_ms"], v2v["p95_ms"]
        flat[f"{name}_far_v2v_p50_ms"] = v2v["bot_p50_ms"]
        flat[f"{name}_far_v2v_p95_ms"] = v2v["bot_p95_ms"]
        flat[f"{name}_cpu_s_per_call_s"] = cpu["with_espeak_cpu_s_per_call_s"]
    within = [k for k, level in levels.items() if within_limit(level)]
    return {
        **flat,
        "sip_answer_to_first_audio_p50_ms": per_path["sip"]["answer_to_first_audio"]["p50_ms"],
        "sip_answer_parts_p50_ms": per_path["sip"]["answer_to_first_audio"]["parts_p50_ms"],
        "max_concurrent_sip_calls": max(within, default=0),
        "p95_limit_ms": P95_LIMIT_MS,
        "concurrency": {str(k): v for k, v in levels.items()},
        "load_attempts": load["attempts"],
        "load_errors": load["errors"],
        "load_sipp_passed": load["sipp_passed"],
        "load_far_v2v_ms": {
            "without": [load["without_load"]["far_p50_ms"], load["without_load"]["far_p95_ms"]],
            "with": [load["with_load"]["far_p50_ms"], load["with_load"]["far_p95_ms"]],
        },
        "load": load,
        "paths": per_path,
        "caller_wpm": CALLER_WPM,
        "rss_mb": round(rss_mb(), 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "machine": {
            "cpus": os.cpu_count(),
            "cpus_used": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "stt": "faster-whisper int8 CPU (es: base)",
            "tts": "espeak-ng",
        },
        "options": {k: v for k, v in vars(args).items() if not callable(v)},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# -- command line --------------------------------------------------------------------


def _levels(text: str) -> list[int]:
    try:
        levels = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"levels are whole numbers: {text!r}") from None
    if not levels or levels[0] < 1:
        raise argparse.ArgumentTypeError(f"levels are at least 1: {text!r}")
    return levels


def pin_cores(cores: int) -> None:
    """Run on the first `cores` CPUs (espeak-ng and SIPp, started later, inherit it), so
    "calls on 2 cores" means 2 cores on a larger machine too; 0 or more than there are:
    all of them."""
    available = sorted(os.sched_getaffinity(0))
    if 0 < cores < len(available):
        os.sched_setaffinity(0, available[:cores])


def build_parser() -> argparse.ArgumentParser:
    """The SIP benchmark's options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2, help="calls on each path (part 1)")
    parser.add_argument(
        "--levels",
        type=_levels,
        default=[1, 2, 4, 6],
        help="simultaneous SIP calls tried, comma-separated (default 1,2,4,6)",
    )
    parser.add_argument("--load-calls", type=int, default=4, help="conversations under load")
    parser.add_argument("--load-cps", type=float, default=20.0, help="attempts a second")
    parser.add_argument("--load-s", type=float, default=30.0, help="seconds of attempts")
    parser.add_argument(
        "--cores",
        type=int,
        default=2,
        help="run on this many CPUs (this process and its children; 0: as many as there are)",
    )
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark with parsed options, print and write the figures."""
    if args.calls < 1 or args.load_calls < 1 or args.load_cps <= 0 or args.load_s <= 0:
        raise SystemExit("--calls and --load-calls must be at least 1, --load-cps and --load-s > 0")
    if args.cores < 0:
        raise SystemExit("--cores must be 0 (all) or more")
    cores = os.sched_getaffinity(0)
    pin_cores(args.cores)
    say(
        f"SIP benchmark: {args.calls} call(s) per path, levels {args.levels}, load "
        f"{args.load_cps:g}/s for {args.load_s:g} s under {args.load_calls} conversations ..."
    )
    try:
        figures = runtime.run(bench(args))
    finally:
        os.sched_setaffinity(0, cores)  # `python -m bench all` goes on with the others
    report(figures, RESULTS, hidden=("paths", "load", "concurrency", "machine", "options"))
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    run(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
