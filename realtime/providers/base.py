"""Provider base classes: the base owns timeouts, retries and metrics; a provider fills one hook.

A hosted provider (OpenAI, ElevenLabs, a hosted STT) plugs in by subclassing and
implementing `_transcribe`, `_respond` or `_synthesize`; everything around the call
(deadline, retry of transient failures, latency bookkeeping) is the same for all.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from centralita.kernel.calls import CallOutcome
from centralita.kernel.pcm import Pcm16
from centralita.understanding.model import ContextAdvice, SentimentScore, Understanding

T = TypeVar("T")


class ProviderError(RuntimeError):
    """A provider failed; `transient` failures are retried by the base class."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class ProviderMetrics:
    """Latency and failure counts of one provider instance (per process)."""

    calls: int = 0
    failures: int = 0
    retries: int = 0
    timeouts: int = 0
    last_ms: float = 0.0
    total_ms: float = 0.0
    samples_ms: list[float] = field(default_factory=list)

    def record(self, elapsed_ms: float) -> None:
        """One successful call took `elapsed_ms`."""
        self.calls += 1
        self.last_ms = elapsed_ms
        self.total_ms += elapsed_ms
        self.samples_ms.append(elapsed_ms)
        del self.samples_ms[:-1000]  # bounded: a long-lived process must not grow

    @property
    def mean_ms(self) -> float:
        """Mean latency of successful calls."""
        return self.total_ms / self.calls if self.calls else 0.0


class Provider:
    """Timeouts, retries and metrics around one provider call."""

    name = "provider"

    def __init__(self, *, timeout_s: float = 10.0, retries: int = 1) -> None:
        self.timeout_s = timeout_s
        self.retries = retries
        self.metrics = ProviderMetrics()

    async def _guarded(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run `call` under the deadline, retrying transient failures, timing it.

        Raises:
            ProviderError: the last failure (timeouts are transient ProviderErrors).
        """
        last: ProviderError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.metrics.retries += 1
            started = time.perf_counter()
            try:
                result = await asyncio.wait_for(call(), timeout=self.timeout_s)
            except TimeoutError:
                self.metrics.timeouts += 1
                last = ProviderError(f"{self.name} timed out after {self.timeout_s:.1f}s")
            except ProviderError as exc:
                last = exc
                if not exc.transient:
                    break
            else:
                self.metrics.record((time.perf_counter() - started) * 1000)
                return result
        self.metrics.failures += 1
        assert last is not None
        raise last


# -- speech to text ------------------------------------------------------------------


class Word(BaseModel):
    """One recognised word with its timing (seconds from the utterance start)."""

    text: str
    start: float
    end: float
    probability: float = Field(ge=0.0, le=1.0)


class Transcript(BaseModel):
    """What the recogniser heard in one utterance."""

    text: str
    language: str
    confidence: float = Field(ge=0.0, le=1.0, description="Mean word probability")
    words: list[Word] = Field(default_factory=list)
    audio_s: float = Field(ge=0.0, description="Seconds of audio transcribed (billing unit)")


class SpeechToText(Provider, ABC):
    """Audio of one utterance (16 kHz mono int16) in, a transcript out."""

    name = "stt"
    sample_rate = 16_000

    async def transcribe(
        self,
        audio: Pcm16,
        *,
        language: str,
        hints: list[str] | None = None,
        context: str | None = None,
    ) -> Transcript:
        """Transcribe one utterance.

        Args:
            hints: domain words to bias towards.
            context: a sentence read as what was said just before ("Llamada de cobranza:
                saldo pendiente, repactación."); providers without such a prompt ignore it.
        """
        return await self._guarded(lambda: self._transcribe(audio, language, hints or [], context))

    @abstractmethod
    async def _transcribe(
        self, audio: Pcm16, language: str, hints: list[str], context: str | None
    ) -> Transcript:
        """The provider's hook. Must not block the event loop."""


# -- text to speech ------------------------------------------------------------------


class SpeechAudio(BaseModel):
    """Synthesised speech: mono int16 samples at `sample_rate`."""

    model_config = {"arbitrary_types_allowed": True}

    samples: Any  # Pcm16; typed loosely so pydantic does not copy the array
    sample_rate: int
    characters: int = Field(ge=0, description="Characters synthesised (billing unit)")
    first_audio_ms: float | None = Field(
        default=None, description="A streaming voice's time to its first audio chunk"
    )


class TextToSpeech(Provider, ABC):
    """Text of one sentence in, audio out."""

    name = "tts"

    async def synthesize(
        self, text: str, *, language: str, voice: str | None = None
    ) -> SpeechAudio:
        """Synthesise one sentence."""
        return await self._guarded(lambda: self._synthesize(text, language, voice))

    @abstractmethod
    async def _synthesize(self, text: str, language: str, voice: str | None) -> SpeechAudio:
        """The provider's hook. Must not block the event loop."""

    async def stream(
        self, text: str, *, language: str, voice: str | None = None
    ) -> AsyncGenerator[SpeechAudio, None]:
        """Synthesise one sentence piece by piece, the first piece as soon as there is one.

        Here the whole sentence is one piece; a streaming voice overrides this so that
        playback starts at its first chunk. Only the first piece carries `characters`
        and `first_audio_ms`.

        Raises:
            ProviderError: before the first piece (retried as `synthesize` is) or after
                it (the sentence is then cut short).
        """
        yield await self.synthesize(text, language=language, voice=voice)


# -- the agent brain -----------------------------------------------------------------


class ToolCall(BaseModel):
    """A tool the agent called during the conversation, with its result."""

    name: str  # register_promise, schedule_callback, opt_out, transfer_to_agent, ...
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] = Field(default_factory=dict)
    success: bool = True
    duration_ms: float = 0.0


class AgentReply(BaseModel):
    """What the agent does after a user turn (or at the start of the call)."""

    say: list[str] = Field(default_factory=list, description="Sentences, spoken in order")
    tool_calls: list[ToolCall] = Field(default_factory=list)
    end_call: bool = False
    transfer: bool = False
    # Keys to press on the phone (DTMF tones, after the lines said), e.g. an IVR's "1".
    dtmf: str = ""
    outcome: CallOutcome | None = None  # set once the conversation decided it
    extracted: dict[str, Any] = Field(default_factory=dict)  # e.g. promised amount/date
    node: str | None = None  # the flow node the agent is in now (flows only)
    # The agent did not understand the turn (a flow's "¿Me lo repite?"): handoff policies
    # count these in a row.
    fallback: bool = False
    llm_tokens: int = Field(default=0, ge=0, description="Tokens the model used (billing)")


class BrainTurn(BaseModel):
    """A user turn as the brain sees it: understood, with sentiment and context advice."""

    understanding: Understanding
    sentiment: SentimentScore
    advice: ContextAdvice
    silence: bool = False  # no speech for the re-prompt interval (text is empty)
    # Keys the caller pressed on a phone's keypad (DTMF) instead of speaking, in order.
    keys: str = ""


class AgentBrain(Provider, ABC):
    """Decides what the agent says and does. One instance per call (it holds state)."""

    name = "brain"

    async def start(self) -> AgentReply:
        """The agent's opening (greeting) before the caller says anything."""
        return await self._guarded(self._start)

    async def respond(self, turn: BrainTurn) -> AgentReply:
        """React to one user turn."""
        return await self._guarded(lambda: self._respond(turn))

    async def stream(self, turn: BrainTurn) -> AsyncGenerator[str | AgentReply, None]:
        """React to one user turn as it is decided: lines to say, then the reply.

        Each `str` is said as soon as it arrives (a model streaming tokens yields its
        first sentence while it writes the rest); each `AgentReply` is applied when it
        arrives (tool calls, outcome, extracted values; ending the call once the lines
        before it were said), its `say` ignored. A brain that decides all at once (a
        flow) yields its decision first, then its lines (`reply_parts`). Cancelling the
        iteration (a barge-in) must stop whatever is still being made.
        """
        async for part in reply_parts(await self.respond(turn)):
            yield part

    def add_context(self, message: str) -> None:
        """A supervisor's note for the rest of the call; a brain that cannot use it
        (a flow) ignores it (the call's events still log it)."""

    def likely_lines(self, limit: int = 4) -> list[str]:
        """Sentences this brain may say next, as they would be spoken, most likely
        first: voices render them ahead (the greeting while the phone rings, the next
        lines while the caller speaks). A guess, never said unless the brain says it;
        a brain that cannot tell (a free model) has none."""
        return []

    def expecting(self) -> list[str]:
        """The slots the brain's last line asked for ("pay_date", "amount",
        "callback_at"): a turn that gives none of them may not be over yet (see
        `centralita.understanding.turn_end`). A brain that cannot tell has none."""
        return []

    async def start_stream(self) -> AsyncGenerator[str | AgentReply, None]:
        """The opening as `stream` gives a turn (a model may stream its greeting)."""
        async for part in reply_parts(await self.start()):
            yield part

    @abstractmethod
    async def _start(self) -> AgentReply:
        """The provider's hook for the opening."""

    @abstractmethod
    async def _respond(self, turn: BrainTurn) -> AgentReply:
        """The provider's hook for a user turn."""


async def reply_parts(reply: AgentReply) -> AsyncGenerator[str | AgentReply, None]:
    """A whole reply as a stream: what it decides first (applied even if the caller
    interrupts the lines), then its lines."""
    yield reply.model_copy(update={"say": []})
    for line in reply.say:
        yield line
