"""What one call leaves behind: turns with their latencies, events, transcript, usage.

Filled by the call session as the conversation goes; read by the dialer (the attempt's
result), by storage (`call_turns`, `call_events`) and by the benchmarks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from centralita.kernel.call_events import CallEventType, validate_payload
from centralita.kernel.calls import CallOutcome

log = logging.getLogger(__name__)

Speaker = Literal["agent", "user"]


@dataclass
class TurnMetrics:
    """One exchange: the user's utterance and the agent's answer, with where time went."""

    index: int
    user_text: str = ""
    agent_text: str = ""
    endpointing_ms: float | None = None  # end of speech -> utterance declared over
    # What the turn waited for the transcript once the end was declared; transcription
    # that started at the first pause (speculative) has mostly run by then.
    stt_ms: float | None = None
    # Mean word probability of the online transcript: the post-call pipeline
    # re-transcribes calls whose turns the recogniser was unsure of.
    stt_confidence: float | None = None
    brain_ms: float | None = None
    tts_first_audio_ms: float | None = None  # synthesis of the first sentence
    voice_to_voice_ms: float | None = None  # end of user speech -> first agent frame sent
    sentiment: float | None = None
    interrupted: bool = False


@dataclass
class CallEvent:
    """Something that happened in the call, in order (`seq`).

    The payload is as its producer gave it, checked against the type's model
    (`centralita/kernel/call_events.py`).
    """

    seq: int
    type: CallEventType
    payload: dict[str, Any]
    at: float  # monotonic seconds since the call started


@dataclass
class Usage:
    """Billable units of one call (priced by configurable rates, zero when embedded)."""

    stt_audio_s: float = 0.0
    llm_tokens: int = 0
    tts_characters: int = 0
    call_s: float = 0.0


@dataclass
class CallRecord:
    """Everything one call produced."""

    call_id: str
    language: str
    # The contact's clock the call ran on (relative dates were resolved on it).
    timezone: str | None = None
    started: float = field(default_factory=time.monotonic)
    turns: list[TurnMetrics] = field(default_factory=list)
    events: list[CallEvent] = field(default_factory=list)
    transcript: list[tuple[Speaker, str]] = field(default_factory=list)
    outcome: CallOutcome | None = None
    extracted: dict[str, Any] = field(default_factory=dict)
    ended_by: str = ""
    usage: Usage = field(default_factory=Usage)
    clarifications: int = 0
    # The two-channel WAV (caller left, agent right), when the call was recorded.
    recording_path: str | None = None
    # From the session's start (the call answered) to the agent's first frame sent.
    first_audio_ms: float | None = None
    # Told of every event as it happens (live views); a failing one is dropped.
    listeners: list[Callable[[CallEvent], None]] = field(default_factory=list, repr=False)
    # Turns already reported by a `turn_completed` event (the first this many).
    turns_completed: int = 0

    def event(self, type_: CallEventType, /, **payload: Any) -> CallEvent:
        """Append an event (its sequence number is its position).

        Raises:
            pydantic.ValidationError: the payload is not what a `type_` event carries
                (a field missing, unknown or of the wrong type): a producer's defect,
                caught where it is made rather than by whoever reads the event.
        """
        validate_payload(type_, payload)
        item = CallEvent(len(self.events), type_, payload, time.monotonic() - self.started)
        self.events.append(item)
        for listener in list(self.listeners):
            try:
                listener(item)
            except Exception:  # a live view must never break the call
                log.exception("call event listener failed; removed")
                self.listeners.remove(listener)
        return item

    def complete_turns(self) -> None:
        """A `turn_completed` event for each turn not reported yet, with its figures.

        Call it when those turns' numbers are final: when the next turn begins (until
        then a barge-in into a reply still playing marks it interrupted) and when the
        call ends. The events then say exactly what `call_turns` will store.
        """
        for turn in self.turns[self.turns_completed :]:
            self.event(CallEventType.TURN_COMPLETED, **asdict(turn))
        self.turns_completed = len(self.turns)

    def said(self, speaker: Speaker, text: str) -> None:
        """Add a line to the transcript (only what was actually heard or spoken)."""
        if text.strip():
            self.transcript.append((speaker, text.strip()))

    def transcript_text(self) -> str:
        """The transcript as lines `agent: ...` / `user: ...`."""
        return "\n".join(f"{speaker}: {text}" for speaker, text in self.transcript)

    def elapsed_s(self) -> float:
        """Seconds since the call started."""
        return time.monotonic() - self.started
