"""Phone calls against WebRTC calls: answer to first audio, voice to voice, CPU per call.

The media worker's real phone path, in process: its `TwilioDialer`, the carrier media
stream WebSocket and the signed status callbacks, ringing personas behind the local fake
Twilio (`tests.support.phones`), whose media server streams each call in µ-law at 8 kHz
at real-time pace with a scripted caller on the phone. The agent is the same as in
`bench/latency.py` (a shipped Spanish flow, faster-whisper, espeak-ng) and so is the
script; between phone calls the same line holds WebRTC calls of the same scripts over
loopback, so both paths are measured in one run, on one machine, with one recogniser:

1. answer to first audio (phone): from the stream's `start` (the carrier answered) to
   the first agent speech played into the caller's ear, with where the time goes: the
   stream reaching a session, the brain's greeting, its synthesis, the silence espeak-ng
   puts before the first word, the way to the ear (real-time pacing, the WebSocket, the
   carrier's 20 ms playout). The WebRTC figure beside it runs from the session's start
   (the peer connection is up) to the bot hearing the agent;
2. voice to voice per path, p50/p95: the agent's figure (end of the caller's speech to
   its first frame) with the breakdown `bench/latency.py` gives, and the caller's own;
3. CPU per call-second per path: this process's CPU time (user + system, with the
   espeak-ng subprocesses it reaped) over each call, from the dial to its end, per
   second of conversation. Both ends live in this process (the agent, and the caller's
   bot with its voice and its transport), so the figure is the pair's, not the agent's.

A call the agent hangs up ends its stream first and its call through the Calls API
next; the fake Twilio lets its caller end by itself before stopping it, so each call
normally leaves a caller report. One that does not still counts for the agent's
figures and the CPU; `calls_with_caller_report` says how many calls had one.

The caller speaks at `CALLER_WPM` (120 wpm) on both paths: over the phone's 8 kHz band
Whisper base loses the consonants espeak-ng blurs at 140 wpm (`tests/support/phones.py`);
`bench/latency.py`'s bot speaks at espeak-ng's 165. This benchmark imports
`tests.support` (the fake Twilio and its media server): test support, not production
code, as every benchmark's bots and fakes are.

Prints the figures and writes them to bench/results/phone.json.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import platform
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.conversations import SCENARIOS, Lines, Scenario, measured, summarise, warm_up
from bench.report import report
from bench.stats import p50_p95, percentile
from bench.watch import heartbeat, rss_mb
from centralita.correction.online import OnlineCorrector
from centralita.kernel import runtime
from centralita.kernel.calls import CallOutcome, DialRequest
from realtime.agents.setup import flow_agent_for
from realtime.carrier.simulated import Persona, PersonaStep
from realtime.conversation_line import ConversationLine
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.providers.base import SpeechAudio
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT
from realtime.session.record import CallRecord
from tests.support.lines import until
from tests.support.phones import CALLER_WPM, Phones, twilio_phones

RESULTS = Path(__file__).resolve().parent / "results" / "phone.json"

TARGET_ANSWER_MS = 300.0
# How long each phone rings before the persona answers (not part of any figure).
RING_S = 0.3
# Audio louder than this (int16 RMS over 20 ms) is speech, as the caller's ear counts it.
SPEECH_RMS = 300.0
# How long the fake's caller may take to report once the dialer is done with a call.
REPORT_WAIT_S = 5.0
# The answer-to-audio parts, in order; they add up to the whole.
ANSWER_PARTS = ("to_session_ms", "brain_ms", "synthesis_ms", "leading_silence_ms", "to_ear_ms")


# -- measurements --------------------------------------------------------------------


def cpu_s() -> tuple[float, float]:
    """This process's CPU seconds (user + system), and its reaped children's (espeak-ng)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def leading_silence_ms(samples: np.ndarray, sample_rate: int) -> float:
    """How long the audio runs before its first 20 ms louder than speech."""
    window = sample_rate // 50
    n = samples.size // window
    if n == 0:
        return 0.0
    frames = samples[: n * window].astype(np.float32).reshape(n, window)
    loud = np.flatnonzero(np.sqrt(np.mean(frames**2, axis=1)) > SPEECH_RMS)
    return float(loud[0]) * 20.0 if loud.size else n * 20.0


@dataclass(frozen=True)
class Synthesis:
    """One sentence the agent's voice synthesised, and when (time.monotonic())."""

    text: str
    started: float
    ended: float
    leading_silence_ms: float


class TimedVoice(EspeakTTS):
    """espeak-ng, noting when each sentence was synthesised (the greeting's timing)."""

    def __init__(self) -> None:
        super().__init__()
        self.syntheses: list[Synthesis] = []

    async def _synthesize(self, text: str, language: str, voice: str | None) -> SpeechAudio:
        started = time.monotonic()
        audio = await super()._synthesize(text, language, voice)
        silence = leading_silence_ms(audio.samples, audio.sample_rate)
        self.syntheses.append(Synthesis(text, started, time.monotonic(), silence))
        return audio

    def first_after(self, moment: float) -> Synthesis | None:
        """The first sentence whose synthesis started at or after `moment`."""
        return next((s for s in self.syntheses if s.started >= moment), None)


@dataclass
class Measured:
    """One call on one path: its record, the caller's latencies, its CPU, its greeting."""

    path: str  # "phone" or "webrtc"
    key: str
    agent: str
    record: CallRecord
    bot_v2v_ms: list[float]
    wall_s: float  # from the dial to its result
    cpu_s: float  # this process, over the same span
    children_cpu_s: float  # espeak-ng subprocesses reaped over it
    # Answer to first audio and its parts (ms); see `answer_parts`.
    answer: dict[str, float] = field(default_factory=dict)

    @property
    def call_s(self) -> float:
        return self.record.usage.call_s

    def cpu_per_call_s(self, *, children: bool) -> float:
        total = self.cpu_s + (self.children_cpu_s if children else 0.0)
        return total / self.call_s if self.call_s > 0 else 0.0

    def line(self) -> str:
        outcome = self.record.outcome.value if self.record.outcome else "-"
        v2v = [t.voice_to_voice_ms for t in measured(self.record.turns)]
        slowest = f", slowest turn {max(v for v in v2v if v is not None):.0f} ms" if v2v else ""
        first = self.answer.get("total_ms")
        answer = f", first audio {first:.0f} ms" if first is not None else ""
        return (
            f"{self.path:<6} {self.agent:<17} {outcome:<15} {len(v2v)}/"
            f"{len(self.record.turns)} turns{slowest}{answer}, {self.call_s:.0f} s, "
            f"CPU {self.cpu_per_call_s(children=True):.2f} s/s"
        )


def answer_parts(
    record: CallRecord, answered_at: float, heard_at: float | None, greeting: Synthesis | None
) -> dict[str, float]:
    """Answer (`answered_at`) to first speech heard (`heard_at`), and its parts (ms).

    to_session: the answer reaching a call session (the stream's `start` read, the
    broker's check, the dialer handing the leg to the line; for WebRTC zero, the session
    starting once the peer connection is up); brain: the session's start to the greeting's
    synthesis starting; synthesis: espeak-ng on the greeting's first sentence;
    leading_silence: the synthesised audio before its first word; to_ear: the rest, from
    the audio queued on the voice track to the caller hearing its first word.
    """
    if heard_at is None or greeting is None:
        return {}
    parts = {
        "total_ms": heard_at - answered_at,
        "to_session_ms": record.started - answered_at,
        "brain_ms": greeting.started - record.started,
        "synthesis_ms": greeting.ended - greeting.started,
    }
    parts = {k: v * 1000 for k, v in parts.items()}
    parts["leading_silence_ms"] = greeting.leading_silence_ms
    parts["to_ear_ms"] = parts["total_ms"] - sum(parts[k] for k in ANSWER_PARTS[:-1])
    return {k: round(v, 1) for k, v in parts.items()}


# -- the calls -----------------------------------------------------------------------


def shortened(scenario: Scenario, lines: int) -> Scenario:
    """The scenario with the caller saying only its first `lines` lines, then hanging up."""
    script = scenario.script.model_copy(update={"lines": scenario.script.lines[:lines]})
    return Scenario(scenario.agent, script, scenario.variables)


def _number(index: int) -> str:
    return f"+5696200{index:04d}"


def _personas(scenarios: Sequence[Scenario]) -> list[Persona]:
    """One number per scenario; each call to it answers after `RING_S` and plays it."""
    return [
        Persona(
            number=_number(i),
            name=scenario.agent,
            script=[
                PersonaStep(
                    outcome=CallOutcome.COMPLETED,
                    ring_seconds=RING_S,
                    conversation=scenario.script,
                )
            ],
        )
        for i, scenario in enumerate(scenarios)
    ]


def _request(key: str, number: str, scenario: Scenario) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number=number,
        campaign_id="bench-phone",
        contact_id=key,
        attempt_number=1,
        agent=scenario.agent,
        variables=scenario.variables,
    )


class Calls:
    """Places the benchmark's calls, phone and WebRTC, on one line, one at a time."""

    def __init__(self, line: ConversationLine, voice: TimedVoice, phones: Phones) -> None:
        self.line = line
        self.voice = voice
        self.phones = phones
        self._keys = itertools.count(1)

    async def phone(self, index: int, scenario: Scenario) -> Measured:
        """Ring the scenario's number through the fake Twilio; hold the call."""
        key = f"bench-phone-{next(self._keys)}-{scenario.agent}"
        request = _request(key, _number(index), scenario)
        started, cpu = time.perf_counter(), cpu_s()
        result = await self.phones.dialer.dial(request)
        # The fake's caller reports once its side of the stream has closed too; when our
        # hang-up through the Calls API reaches the fake before the closed stream does,
        # it stops the caller and there is no report (the agent's figures still count).
        with contextlib.suppress(TimeoutError):
            await until(lambda: key in self.phones.reports, REPORT_WAIT_S)
        wall, (own, children) = time.perf_counter() - started, cpu_s()
        record = self.line.records.pop(key, None)
        if record is None:
            raise RuntimeError(f"phone call {key} was not answered: {result.disconnection_reason}")
        caller = self.phones.reports.pop(key, None)
        answer: dict[str, float] = {}
        if caller is not None and caller.stream_started_at is not None:
            greeting = self.voice.first_after(record.started)
            answer = answer_parts(
                record, caller.stream_started_at, caller.first_speech_heard_at, greeting
            )
        else:
            print(f"    {key}: the fake caller left no report (hung up through the API first)")
        return Measured(
            "phone",
            key,
            scenario.agent,
            record,
            list(caller.bot.voice_to_voice_ms) if caller is not None else [],
            wall,
            own - cpu[0],
            children - cpu[1],
            answer,
        )

    async def webrtc(self, scenario: Scenario) -> Measured:
        """The same conversation over loopback WebRTC with a bot softphone."""
        key = f"bench-webrtc-{next(self._keys)}-{scenario.agent}"
        request = _request(key, "+56961234567", scenario)
        started, cpu = time.perf_counter(), cpu_s()
        await self.line.converse(request, scenario.script, datetime.now(UTC))
        wall, (own, children) = time.perf_counter() - started, cpu_s()
        record = self.line.records.pop(key)
        bot = self.line.bot_reports.pop(key)
        heard = bot.speech_onsets[0] if bot.speech_onsets else None
        greeting = self.voice.first_after(record.started)
        answer = answer_parts(record, record.started, heard, greeting)
        return Measured(
            "webrtc",
            key,
            scenario.agent,
            record,
            list(bot.voice_to_voice_ms),
            wall,
            own - cpu[0],
            children - cpu[1],
            answer,
        )


# -- figures -------------------------------------------------------------------------


def path_figures(calls: Sequence[Measured]) -> dict[str, Any]:
    """One path's figures over its calls."""
    turns = [t for c in calls for t in measured(c.record.turns)]
    agent = summarise(turns)
    bot = [v for c in calls for v in c.bot_v2v_ms]
    answered = [c.answer for c in calls if c.answer]
    answer = {
        **p50_p95([a["total_ms"] for a in answered]),
        "parts_p50_ms": {k: percentile([a[k] for a in answered], 50) for k in ANSWER_PARTS},
        "samples_ms": [a["total_ms"] for a in answered],
        "calls_with_caller_report": len(answered),
    }
    cpu = sum(c.cpu_s for c in calls)
    children = sum(c.children_cpu_s for c in calls)
    call_s = sum(c.call_s for c in calls)
    return {
        "calls": len(calls),
        "outcomes": [c.record.outcome.value if c.record.outcome else None for c in calls],
        "answer_to_first_audio": answer,
        "voice_to_voice": {
            "p50_ms": agent["p50_ms"],
            "p95_ms": agent["p95_ms"],
            "turns": agent["turns"],
            "breakdown": agent["breakdown"],
            **{f"bot_{k}": v for k, v in p50_p95(bot).items()},
            "bot_turns": len(bot),
            # Per turn, in call order: voice to voice, and the STT left after the endpoint.
            "samples_ms": [round(t.voice_to_voice_ms or 0.0, 1) for t in turns],
            "stt_samples_ms": [round(t.stt_ms or 0.0, 1) for t in turns],
        },
        "cpu": {
            "call_s": round(call_s, 1),
            "cpu_s": round(cpu, 2),
            "children_cpu_s": round(children, 2),
            "cpu_s_per_call_s": round(cpu / call_s, 3) if call_s else None,
            "with_espeak_cpu_s_per_call_s": round((cpu + children) / call_s, 3) if call_s else None,
        },
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Warm the models up, then phone and WebRTC calls in turn; the figures."""
    restrict_ice_to_loopback()
    stt, voice = WhisperSTT(), TimedVoice()
    print("loading the Whisper models and warming them up ...", flush=True)
    await warm_up(Lines(stt, voice))
    line = ConversationLine(
        agent_for=flow_agent_for,
        stt=stt,
        tts=voice,
        bot_tts=EspeakTTS(speed_wpm=CALLER_WPM),
        corrector=OnlineCorrector(),
    )
    scenarios = [shortened(s, args.lines) for s in SCENARIOS if s.script.language == "es"]
    chosen = list(itertools.islice(itertools.cycle(scenarios), args.calls))
    results: dict[str, list[Measured]] = {"phone": [], "webrtc": []}
    try:
        async with twilio_phones(_personas(scenarios), line) as phones:
            calls = Calls(line, voice, phones)
            for n, scenario in enumerate(chosen, start=1):
                index = scenarios.index(scenario)
                async with heartbeat(f"phone call {n}/{args.calls} under way"):
                    results["phone"].append(await calls.phone(index, scenario))
                print(f"  {n:>2} {results['phone'][-1].line()}", flush=True)
                async with heartbeat(f"WebRTC call {n}/{args.calls} under way"):
                    results["webrtc"].append(await calls.webrtc(scenario))
                print(f"  {n:>2} {results['webrtc'][-1].line()}", flush=True)
    finally:
        restrict_ice_to_loopback(False)
    phone, webrtc = path_figures(results["phone"]), path_figures(results["webrtc"])
    phone_cpu = phone["cpu"]["with_espeak_cpu_s_per_call_s"]
    webrtc_cpu = webrtc["cpu"]["with_espeak_cpu_s_per_call_s"]
    return {
        "answer_to_first_audio_p50_ms": phone["answer_to_first_audio"]["p50_ms"],
        "answer_to_first_audio_p95_ms": phone["answer_to_first_audio"]["p95_ms"],
        "answer_target_p50_ms": TARGET_ANSWER_MS,
        "answer_parts_p50_ms": phone["answer_to_first_audio"]["parts_p50_ms"],
        "phone_v2v_p50_ms": phone["voice_to_voice"]["p50_ms"],
        "phone_v2v_p95_ms": phone["voice_to_voice"]["p95_ms"],
        "phone_bot_v2v_p50_ms": phone["voice_to_voice"]["bot_p50_ms"],
        "phone_bot_v2v_p95_ms": phone["voice_to_voice"]["bot_p95_ms"],
        "webrtc_v2v_p50_ms": webrtc["voice_to_voice"]["p50_ms"],
        "webrtc_v2v_p95_ms": webrtc["voice_to_voice"]["p95_ms"],
        "webrtc_bot_v2v_p50_ms": webrtc["voice_to_voice"]["bot_p50_ms"],
        "webrtc_bot_v2v_p95_ms": webrtc["voice_to_voice"]["bot_p95_ms"],
        "phone_cpu_s_per_call_s": phone_cpu,
        "webrtc_cpu_s_per_call_s": webrtc_cpu,
        "phone_to_webrtc_cpu": round(phone_cpu / webrtc_cpu, 2)
        if phone_cpu and webrtc_cpu
        else None,
        "phone_v2v_breakdown": phone["voice_to_voice"]["breakdown"],
        "webrtc_v2v_breakdown": webrtc["voice_to_voice"]["breakdown"],
        "webrtc_answer_to_first_audio_p50_ms": webrtc["answer_to_first_audio"]["p50_ms"],
        "webrtc_answer_parts_p50_ms": webrtc["answer_to_first_audio"]["parts_p50_ms"],
        "phone": phone,
        "webrtc": webrtc,
        "caller_wpm": CALLER_WPM,
        "caller_lines": args.lines,
        "rss_mb": round(rss_mb(), 1),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "stt": "faster-whisper int8 CPU (es: base)",
            "tts": "espeak-ng",
        },
        "quick": args.quick,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# -- command line --------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The phone benchmark's options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=4, help="calls on each path (phone, WebRTC)")
    parser.add_argument(
        "--lines",
        type=int,
        default=4,
        help="lines of the caller's script said (4: the whole conversation; fewer: the "
        "caller hangs up after them)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 2 calls on each path, 2 lines each"
    )
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark with parsed options, print and write the figures."""
    if args.quick:
        args.calls = min(args.calls, 2)
        args.lines = min(args.lines, 2)
    if args.calls < 1 or args.lines < 1:
        raise SystemExit("--calls and --lines must be at least 1")
    print(
        f"phone benchmark: {args.calls} phone and {args.calls} WebRTC calls, "
        f"{args.lines} caller lines each ...",
        flush=True,
    )
    figures = runtime.run(bench(args))
    report(figures, RESULTS, hidden=("phone", "webrtc", "machine"))
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    run(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
