"""Memory of a long-running media worker: RSS over many short calls, one after another.

The media worker's own parts (`workers.media.media_parts`: its conversation line, the
softphone dialer and the simulated carrier behind it), in process, place `--calls`
short conversations in a row: real WebRTC on loopback between the agent (the shipped
Spanish flow) and a bot softphone that confirms who she is and says goodbye, after
which the agent closes the call. The recogniser and the voices are scripted (tones, and
the bot's lines as transcripts), so a call takes about two seconds and the figures
measure what the worker keeps, not what a model allocates.

After every `--every` calls the garbage is collected and RSS sampled. A worker that
keeps nothing of a finished call stays flat: the slope over the last 100 calls is
what tells, the first calls also warm allocator pools and caches up.

Prints the figures and writes them to bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import report
from bench.stats import least_squares_slope
from bench.watch import rss_mb
from centralita.kernel import runtime
from centralita.kernel.calls import CallOutcome, DialRequest
from centralita.kernel.pcm import Pcm16
from centralita.kernel.settings import Settings
from realtime.carrier.simulated import Persona, PersonaBook, PersonaStep
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.providers.base import SpeechAudio, SpeechToText, TextToSpeech, Transcript
from realtime.softphone.script import BotLine, BotScript
from workers.media import media_parts

RESULTS = Path(__file__).resolve().parent / "results" / "memory.json"

NUMBER = "+56961234567"
CALLER_LINES = ("Sí, con ella habla.", "Adiós, hasta luego.")
DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}
# The slope is fitted over the samples of this many last calls.
SLOPE_CALLS = 100


class CallerTranscripts(SpeechToText):
    """Hears, in each call, the caller's lines in order (then "..." should more come).

    `next_call` starts the script over: calls run one after another, so an utterance
    split in two in one call does not shift what the next call hears.
    """

    name = "scripted-caller"

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__(timeout_s=10.0, retries=0)
        self._lines = tuple(lines)
        self._heard = 0

    def next_call(self) -> None:
        """A new call: its first utterance is the first line."""
        self._heard = 0

    async def _transcribe(
        self, audio: Pcm16, language: str, hints: list[str], context: str | None
    ) -> Transcript:
        text = self._lines[self._heard] if self._heard < len(self._lines) else "..."
        self._heard += 1
        return Transcript(
            text=text, language=language, confidence=1.0, audio_s=audio.size / self.sample_rate
        )


class Tone(TextToSpeech):
    """Says a sentence as a tone `seconds_per_char` long per character (no model)."""

    name = "tone"

    def __init__(self, seconds_per_char: float, sample_rate: int = 16_000) -> None:
        super().__init__(timeout_s=10.0, retries=0)
        self._seconds_per_char = seconds_per_char
        self._rate = sample_rate

    async def _synthesize(self, text: str, language: str, voice: str | None) -> SpeechAudio:
        n = round(len(text.strip()) * self._seconds_per_char * self._rate)
        t = np.arange(n, dtype=np.float32) / self._rate
        samples = (0.3 * 32767 * np.sin(2 * np.pi * 440.0 * t)).astype(np.int16)
        return SpeechAudio(samples=samples, sample_rate=self._rate, characters=len(text.strip()))


def _persona_book(path: Path) -> Path:
    """María answers at once, confirms who she is and says goodbye."""
    # She hangs up a second after her goodbye; the agent, closing the call, is quicker.
    script = BotScript(
        lines=[BotLine(say=line) for line in CALLER_LINES], think_ms=100, linger_s=1.0
    )
    step = PersonaStep(outcome=CallOutcome.COMPLETED, ring_seconds=0.0, conversation=script)
    book = PersonaBook(personas=[Persona(number=NUMBER, name="María", script=[step])])
    path.write_text(book.model_dump_json(), encoding="utf-8")
    return path


def _request(n: int) -> DialRequest:
    key = f"memory-{n}"
    return DialRequest(
        idempotency_key=key,
        to_number=NUMBER,
        campaign_id="memory",
        contact_id=key,
        attempt_number=1,
        agent="cobranza-temprana",
        variables=DEBTOR,
    )


def _rss_at(samples: list[tuple[int, float]], calls: int) -> float | None:
    return next((round(mb, 1) for n, mb in samples if n == calls), None)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Place the calls one after another through the media worker's dialer; sample RSS."""
    with tempfile.TemporaryDirectory(prefix="centralita-memory-") as home:
        settings = Settings(
            home=Path(home),
            carrier_personas=_persona_book(Path(home) / "personas.json"),
            record_calls=True,  # as a media worker does: each call writes its WAV
            webrtc_loopback_only=True,
        )
        stt = CallerTranscripts(CALLER_LINES)
        # The agent speaks quickly (its disclosure would take seconds at a speaking
        # pace); the caller slowly enough for the agent's voice detector to hear her.
        parts = media_parts(settings, stt=stt, tts=Tone(0.004), bot_tts=Tone(0.025))
        dialer = parts.dialer
        outcomes: dict[str, int] = {}
        samples: list[tuple[int, float]] = []
        gc.collect()
        baseline = rss_mb()
        started = time.perf_counter()
        for n in range(1, args.calls + 1):
            stt.next_call()
            result = await dialer.dial(_request(n))
            outcomes[result.outcome.value] = outcomes.get(result.outcome.value, 0) + 1
            if n % args.every == 0:
                gc.collect()
                samples.append((n, rss_mb()))
                elapsed = time.perf_counter() - started
                print(
                    f"  {n:>4} calls, {elapsed:6.0f} s, RSS {samples[-1][1]:7.1f} MB "
                    f"(last: {result.outcome.value}, {result.duration_s:.1f} s)",
                    flush=True,
                )
        elapsed = time.perf_counter() - started
        restrict_ice_to_loopback(False)
    calls = [n for n, _ in samples]
    rss = [mb for _, mb in samples]
    last = [(n, mb) for n, mb in samples if n > args.calls - SLOPE_CALLS] or samples[-2:]
    slope = least_squares_slope([n for n, _ in last], [mb for _, mb in last])
    first_n, first_mb = samples[0]
    return {
        "calls": args.calls,
        "sample_every_calls": args.every,
        "seconds_per_call": round(elapsed / args.calls, 2),
        "outcomes": outcomes,
        "rss_baseline_mb": round(baseline, 1),
        "rss_at_10_mb": _rss_at(samples, 10),
        "rss_at_100_mb": _rss_at(samples, 100),
        "rss_at_200_mb": _rss_at(samples, 200),
        "rss_last_mb": round(rss[-1], 1),
        # From the first sample to the last, per call.
        "growth_kb_per_call": round((rss[-1] - first_mb) * 1024 / max(calls[-1] - first_n, 1), 1),
        # Fitted to the samples of the last `SLOPE_CALLS` calls: the steady state.
        "slope_kb_per_call": round(slope * 1024, 1),
        "slope_over_calls": [last[0][0], last[-1][0]],
        "rss_samples_mb": [[n, round(mb, 1)] for n, mb in samples],
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def build_parser() -> argparse.ArgumentParser:
    """The memory benchmark's options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200, help="sequential calls to place")
    parser.add_argument("--every", type=int, default=10, help="sample RSS every this many calls")
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark with parsed options, print and write the figures."""
    if args.calls < 2 * args.every:
        raise SystemExit("--calls must allow at least two samples (2 x --every)")
    print(f"memory benchmark: {args.calls} sequential calls, RSS every {args.every} ...")
    figures = runtime.run(bench(args))
    report(figures, RESULTS, hidden=("rss_samples_mb", "machine"))
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    run(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
