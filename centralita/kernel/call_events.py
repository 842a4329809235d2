"""What happens during a call, as its events say it: one type each, one payload model each.

The media worker records a call's events as they happen (`CallRecord.event` in
`realtime/session/record.py`); they are stored (`call_events`), published live
(`live_call_events`, the SSE stream, the dashboard), mapped to webhook events
(`realtime/store/call_events.py`) and counted by analytics. This module is their one
vocabulary: `CallEventType` names every event, and `PAYLOADS` gives each the model of
its payload (the fields, exactly as producers write them, are the wire format: renaming
one changes the stored rows, the stream and the webhooks).

A producer's payload is checked with `validate_payload` when the event is recorded: a
missing, unknown or wrongly typed field fails there, at the producer, not later in a
reader. Checking adds about a microsecond to an event (a transcript's `record.event`
went from 0.5-0.8 µs to 1.5-2 µs, a turn's figures' from 1.3 to 2.6-2.9 µs; the models
are strict, so nothing is coerced), so it is always on, in production too. The payload
is stored as the producer gave it, never re-serialised from the model: an int stays an
int where the model says float, and an optional field left out stays out.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

# A supervisor's controls of a call under way (`realtime/session/supervision.py`).
ControlAction = Literal["say", "add-message", "mute", "unmute", "end", "takeover", "transfer"]


class CallEventType(StrEnum):
    """Every event a call can record (the value is the stored and streamed name)."""

    CALL_STARTED = "call_started"
    CALL_ENDED = "call_ended"
    TRANSCRIPT = "transcript"  # a line heard (user) or queued to be spoken (agent)
    CORRECTION = "correction"  # the live dictionary corrected what the user said
    SENTIMENT = "sentiment"
    SENTIMENT_ALERT = "sentiment_alert"
    TOOL_CALL = "tool_call"
    INTERRUPTION = "interruption"  # the caller barged in on the agent
    BACKCHANNEL = "backchannel"  # the caller said "ajá" over the agent, who went on
    TRANSFER = "transfer"  # the agent asked for a human, or a supervisor took over
    CONTROL = "control"  # a supervisor's control, logged before it is applied
    HUMAN_JOINED = "human_joined"
    HUMAN_LEFT = "human_left"
    HANDED_BACK = "handed_back"  # the human left: the agent answers again
    HANDOFF = "handoff"  # the call's way to a person: decided, offered, queued, answered...
    TURN_COMPLETED = "turn_completed"  # a turn's figures are final
    DTMF = "dtmf"  # the caller pressed a key (phone calls)
    ERROR = "error"  # something failed and the call went on (or ended: see call_ended)


class CallEventPayload(BaseModel):
    """A payload's fields, checked strictly; a field no model names is refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CallStartedPayload(CallEventPayload):
    language: str


class CallEndedPayload(CallEventPayload):
    ended_by: str  # agent, remote_hangup, supervisor, error, transfer... ('' if unknown)


class TranscriptPayload(CallEventPayload):
    speaker: Literal["agent", "user"]
    text: str
    final: bool


class CorrectionPayload(CallEventPayload):
    before: str
    after: str
    pairs: list[tuple[str, str]]  # (what was heard, what it was corrected to)


class SentimentPayload(CallEventPayload):
    score: float  # -1..1
    label: str  # negative, neutral, positive


class SentimentAlertPayload(CallEventPayload):
    score: float


class ToolCallPayload(CallEventPayload):
    name: str
    arguments: dict[str, Any]
    result: dict[str, Any]
    success: bool
    duration_ms: float


class InterruptionPayload(CallEventPayload):
    heard: str  # what the caller heard of the agent's line before it stopped
    stop_after_onset_ms: int  # from the caller's first voiced frame to silence


class BackchannelPayload(CallEventPayload):
    text: str  # what the caller said ("Ajá."): no turn, the agent's line went on
    duration_ms: int  # its speech, first to last voiced frame


class TransferPayload(CallEventPayload):
    # Both absent: the agent asked for a transfer; a takeover names the supervisor.
    to: Literal["human"] | None = None
    by: str | None = None


class ControlPayload(CallEventPayload):
    action: ControlAction
    by: str
    message: str | None
    at_utc: str  # ISO 8601


class HumanJoinedPayload(CallEventPayload):
    by: str


class HumanLeftPayload(CallEventPayload):
    by: str


class HandedBackPayload(CallEventPayload):
    by: str
    at_utc: str  # ISO 8601


HandoffStage = Literal[
    "decided",  # a trigger of the agent's handoff policy fired
    "offered",  # the agent offered a person
    "declined",  # the caller turned the offer down
    "queued",  # the call waits in the human queue
    "connected",  # an operator's audio joined the call
    "timed_out",  # nobody answered within the policy's maximum wait
    "abandoned",  # the caller hung up while waiting
    "callback_scheduled",  # a person will call back (durably scheduled)
]


class HandoffPayload(CallEventPayload):
    stage: HandoffStage
    trigger: str | None = None  # centralita.handoff.policy.HandoffTrigger
    action: str | None = None  # centralita.handoff.policy.HandoffAction
    reason: str | None = None
    handoff_id: str | None = None
    queue: str | None = None
    by: str | None = None  # the operator, once connected
    waited_ms: int | None = None  # from queued to connected, timed out or abandoned
    due_at: str | None = None  # a callback's time (ISO 8601)


class TurnCompletedPayload(CallEventPayload):
    """A turn's figures, as `call_turns` stores them (milliseconds; None: not measured)."""

    index: int
    user_text: str
    agent_text: str
    endpointing_ms: float | None
    stt_ms: float | None
    stt_confidence: float | None
    brain_ms: float | None
    tts_first_audio_ms: float | None
    voice_to_voice_ms: float | None
    sentiment: float | None
    interrupted: bool


class DtmfPayload(CallEventPayload):
    digit: str  # 0-9, *, #, A-D


class ErrorPayload(CallEventPayload):
    where: str  # audio, brain, recording, turn, tts, takeover, takeover_audio
    detail: str
    fallback: str | None = None  # the voice that took over (tts only)


PAYLOADS: Final[Mapping[CallEventType, type[CallEventPayload]]] = {
    CallEventType.CALL_STARTED: CallStartedPayload,
    CallEventType.CALL_ENDED: CallEndedPayload,
    CallEventType.TRANSCRIPT: TranscriptPayload,
    CallEventType.CORRECTION: CorrectionPayload,
    CallEventType.SENTIMENT: SentimentPayload,
    CallEventType.SENTIMENT_ALERT: SentimentAlertPayload,
    CallEventType.TOOL_CALL: ToolCallPayload,
    CallEventType.INTERRUPTION: InterruptionPayload,
    CallEventType.BACKCHANNEL: BackchannelPayload,
    CallEventType.TRANSFER: TransferPayload,
    CallEventType.CONTROL: ControlPayload,
    CallEventType.HUMAN_JOINED: HumanJoinedPayload,
    CallEventType.HUMAN_LEFT: HumanLeftPayload,
    CallEventType.HANDED_BACK: HandedBackPayload,
    CallEventType.HANDOFF: HandoffPayload,
    CallEventType.TURN_COMPLETED: TurnCompletedPayload,
    CallEventType.DTMF: DtmfPayload,
    CallEventType.ERROR: ErrorPayload,
}


def validate_payload(type_: CallEventType, payload: Mapping[str, Any]) -> CallEventPayload:
    """The payload of a `type_` event as its model, checked.

    Raises:
        KeyError: `type_` is not a call event type.
        pydantic.ValidationError: a field is missing, unknown or of the wrong type.
    """
    return PAYLOADS[type_].model_validate(payload)
