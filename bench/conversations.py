"""The latency benchmark's calls: who the bots play, how a call is placed, its figures.

`bench/latency.py` runs them in its three parts (latency, concurrency, a long call).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.stats import p50_p95
from centralita.correction.online import OnlineCorrector
from centralita.kernel.calls import DialRequest
from realtime.agents.setup import AgentSetup, flow_agent_for
from realtime.audio.turn_settings import TurnSettings
from realtime.conversation_line import ConversationLine
from realtime.providers.base import AgentBrain, AgentReply, BrainTurn, TextToSpeech
from realtime.providers.espeak import resample
from realtime.providers.whisper import WhisperSTT
from realtime.session.call_session import SessionConfig
from realtime.session.record import CallRecord, TurnMetrics
from realtime.softphone.script import BotLine, BotScript

# What the long call's agent says, in turn.
ENDLESS_REPLIES = (
    "Le llamamos por su cuota pendiente de doscientos mil pesos.",
    "Le repito: la cuota vence el treinta de noviembre.",
    "¿Cuándo podría pagarla?",
)


BREAKDOWN = ("endpointing_ms", "stt_ms", "brain_ms", "tts_first_audio_ms")


ES_VARS: dict[str, Any] = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}


EN_VARS: dict[str, Any] = {"name": "John", "amount_due": 250, "due_date": "2026-11-30"}


@dataclass(frozen=True)
class Scenario:
    """One person on one agent: the bot's script and the contact's variables."""

    agent: str
    script: BotScript
    variables: dict[str, Any]


# People pick up after a few rings; the agent prepares its greeting meanwhile. 3 s is
# on the short side of real answers (often 5-15 s).
RING_S = 3.0


def _script(language: str, *lines: str) -> BotScript:
    return BotScript(language=language, lines=[BotLine(say=line) for line in lines], ring_s=RING_S)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "cobranza-temprana",
        _script(
            "es",
            "Sí, con ella habla.",
            "Doscientos mil pesos, el viernes.",
            "Sí, correcto.",
            "No, gracias. Adiós.",
        ),
        ES_VARS,
    ),
    Scenario(
        "collections-early",
        _script(
            "en", "Yes, speaking.", "I can pay on Friday.", "Yes, that's right.", "No, thanks."
        ),
        EN_VARS,
    ),
    Scenario(
        "cobranza-tardia",
        _script("es", "Sí, soy yo.", "Sí, pago el lunes.", "Sí, correcto.", "No, gracias."),
        ES_VARS,
    ),
    Scenario(
        "collections-late",
        _script(
            "en", "Yes, this is John.", "I will pay on Monday.", "Yes, correct.", "Yes, please."
        ),
        EN_VARS,
    ),
    Scenario(
        "cobranza-severa",
        _script(
            "es", "Sí, habla María.", "Puedo pagar el viernes.", "Sí, está bien.", "No, gracias."
        ),
        ES_VARS,
    ),
    Scenario(
        "collections-severe",
        _script("en", "Yes, it's me.", "I can pay on Friday.", "Yes.", "No, thank you."),
        EN_VARS,
    ),
)


# The caller of the long call never gets it: a request to repeat makes the flow say the
# same node again without counting it as an unexpected turn, so the call goes on.
# Short phrases Whisper hears right through espeak-ng ("repita" came out as "repeatá"):
# a misheard one counts as an unexpected turn, and three of those end the call.
LONG_CALL_LINES = ("No entiendo.", "Perdón, no entiendo.", "No entiendo nada.")


def measured(turns: Sequence[TurnMetrics]) -> list[TurnMetrics]:
    """Turns with a voice-to-voice figure (re-prompts after silence have none)."""
    return [t for t in turns if t.voice_to_voice_ms is not None]


def summarise(turns: Sequence[TurnMetrics]) -> dict[str, Any]:
    """p50/p95 of voice-to-voice and of each part of it."""
    v2v = [t.voice_to_voice_ms for t in turns if t.voice_to_voice_ms is not None]
    breakdown = {}
    for name in BREAKDOWN:
        values = [v for t in turns if (v := getattr(t, name)) is not None]
        breakdown[name] = p50_p95(values)
    return {**p50_p95(v2v), "breakdown": breakdown, "turns": len(v2v)}


@dataclass
class CallResult:
    """What one benchmark call left: its record and the bot's own latencies."""

    key: str
    agent: str
    record: CallRecord
    bot_v2v_ms: list[float] = field(default_factory=list)

    @property
    def turns(self) -> list[TurnMetrics]:
        return measured(self.record.turns)

    def line(self) -> str:
        outcome = self.record.outcome.value if self.record.outcome else "-"
        v2v = [t.voice_to_voice_ms for t in self.turns if t.voice_to_voice_ms is not None]
        slowest = f", slowest {max(v2v):.0f} ms" if v2v else ""
        return (
            f"{self.agent:<19} {outcome:<18} ended by {self.record.ended_by or '-':<14} "
            f"{len(self.turns)}/{len(self.record.turns)} turns measured{slowest}, "
            f"{self.record.usage.call_s:.0f} s"
        )


class Lines:
    """One conversation line per language, sharing the recogniser and the voices.

    Args:
        stt: the recogniser every call shares (its models load once per process).
        tts: the agent's and the bot's voices.
        max_duration_s: the agent hangs up after this long (the session's default if None).
        keys: where call keys come from (shared by lines that share a benchmark).
    """

    def __init__(
        self,
        stt: WhisperSTT,
        tts: TextToSpeech,
        max_duration_s: float | None = None,
        keys: Iterator[int] | None = None,
        *,
        endless: bool = False,
        bot_tts: TextToSpeech | None = None,
        turns: TurnSettings | None = None,
        render_ahead: bool = True,
    ) -> None:
        self.stt, self.tts = stt, tts
        self.bot_tts = bot_tts or tts
        self.turns, self.render_ahead = turns, render_ahead
        self._endless = endless
        base = SessionConfig(turns=turns)
        if max_duration_s:
            base.max_duration_s = max_duration_s
        self._base = base
        self._lines: dict[str, ConversationLine] = {}
        self._keys = keys or itertools.count(1)

    def _agent_for(self, request: DialRequest) -> AgentSetup:
        setup = flow_agent_for(request, self._base)
        if self._endless:
            return AgentSetup(brain=EndlessAgent(), config=setup.config)
        return setup

    def line(self, language: str) -> ConversationLine:
        """The line for calls in `language` (its own corrector dictionary)."""
        if language not in self._lines:
            self._lines[language] = ConversationLine(
                agent_for=self._agent_for,
                stt=self.stt,
                tts=self.tts,
                bot_tts=self.bot_tts,
                corrector=OnlineCorrector(language=language),
                render_ahead=self.render_ahead,
            )
        return self._lines[language]

    def limited(self, max_duration_s: float, *, endless: bool = False) -> Lines:
        """Lines sharing these providers whose calls end after `max_duration_s`.

        With `endless`, the agent is an `EndlessAgent`: only the duration ends a call.
        """
        return Lines(
            self.stt,
            self.tts,
            max_duration_s,
            self._keys,
            endless=endless,
            bot_tts=self.bot_tts,
            turns=self.turns,
            render_ahead=self.render_ahead,
        )

    async def call(self, scenario: Scenario) -> CallResult:
        """Place one call and wait for it to end."""
        key = f"bench-{next(self._keys)}-{scenario.agent}"
        request = DialRequest(
            idempotency_key=key,
            to_number="+56961234567",
            campaign_id="bench",
            contact_id=key,
            attempt_number=1,
            agent=scenario.agent,
            variables=scenario.variables,
        )
        line = self.line(scenario.script.language)
        await line.converse(request, scenario.script, datetime.now(UTC))
        record = line.records.pop(key)
        bot = line.bot_reports.pop(key, None)
        return CallResult(key, scenario.agent, record, list(bot.voice_to_voice_ms) if bot else [])


class EndlessAgent(AgentBrain):
    """The long call's agent: it answers every turn and never hangs up by itself.

    A shipped flow rightly ends a call whose caller keeps saying they do not understand;
    the long call measures the media pipeline's memory over 30 minutes of one call
    (audio, STT, TTS, playback, recording, the record's turns), so only the call's
    maximum duration ends it.
    """

    name = "endless-agent"

    def __init__(self) -> None:
        super().__init__()
        self._turns = 0

    async def _start(self) -> AgentReply:
        return AgentReply(say=[ENDLESS_REPLIES[0]])

    async def _respond(self, turn: BrainTurn) -> AgentReply:
        self._turns += 1
        return AgentReply(say=[ENDLESS_REPLIES[self._turns % len(ENDLESS_REPLIES)]])


async def warm_up(lines: Lines) -> None:
    """Load the models and run each once, as a media worker that took calls before would."""
    await lines.stt.warm_up(("es", "en"))
    for language, text in (("es", "Sí, con ella habla."), ("en", "Yes, speaking.")):
        await lines.tts.synthesize(text, language=language)  # a neural voice's first run
        audio = await lines.bot_tts.synthesize(text, language=language)
        samples = resample(audio.samples, audio.sample_rate, lines.stt.sample_rate)
        await lines.stt.transcribe(samples, language=language)
