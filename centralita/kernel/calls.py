"""The call vocabulary every layer speaks: outcomes, contact states, a dial and its result,
and the `Dialer` protocol between the dial activity and whatever places the call.

Pure data, safe inside the workflow sandbox; the pydantic data converter (set in
`centralita.kernel.temporal`) serialises it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, Field


class CallOutcome(StrEnum):
    """How a call attempt ended, from the campaign's point of view."""

    PROMISE_TO_PAY = "promise_to_pay"
    COMPLETED = "completed"
    CALLBACK_REQUESTED = "callback_requested"
    WRONG_PERSON = "wrong_person"
    OPT_OUT = "opt_out"
    DISPUTED = "disputed"
    # A person answered, but the conversation ended before anything was decided (they
    # hung up, the line dropped, the call hit its limit): retried, never closed as done.
    NO_DECISION = "no_decision"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"


# Attempts that reached nobody: no one picked up, the line was busy, or a machine took
# the message. Nothing went wrong but the timing, so the same phone may answer later
# (the retry rules try it again), and a day of these is a day the contact was tried and
# not reached (the calling rules count such days).
UNREACHED: frozenset[CallOutcome] = frozenset(
    {CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.VOICEMAIL}
)
# Attempts that held no conversation: the unreached, and failed calls. A failed call is
# the carrier's or the agent's error, not a sign the person is away, so it is not
# UNREACHED (it is not an unanswered day); but nobody talked in it either, so it is not
# a conversation for the calling rules' caps, the analytics' "answered" or a goal.
NOT_A_CONVERSATION: frozenset[CallOutcome] = UNREACHED | {CallOutcome.FAILED}


# A failed call's disconnection reason starts with this when no agent could hold the
# call (unknown agent, a variable it cannot read): it never rang, and no other phone of
# the contact would fare better.
AGENT_ERROR = "agent_error"


class ContactState(StrEnum):
    """Where a contact stands in its campaign."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    RETRY_SCHEDULED = "retry_scheduled"
    DONE = "done"
    EXCLUDED = "excluded"
    FAILED = "failed"
    OPTED_OUT = "opted_out"
    CANCELLED = "cancelled"


class DialRequest(BaseModel):
    """Ask a carrier (or the media worker) to place a call.

    `idempotency_key` is the attempt's workflow id: a retried dial activity with the same
    key must never ring the person twice.
    """

    idempotency_key: str
    to_number: str
    campaign_id: str
    contact_id: str
    attempt_number: int = Field(ge=1)
    agent: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    # Who called, on an inbound call (`to_number` is then the line's own number).
    from_number: str | None = None
    # The numbers an outbound phone call may show (the campaign's); empty: the carrier's.
    caller_ids: list[str] = Field(default_factory=list)
    # Whose call this is, and the tenant's carrier account it is placed on (None: the
    # media worker's own carrier).
    tenant_id: str | None = None
    carrier_account_id: str | None = None


class DialResult(BaseModel):
    """What happened on the line."""

    outcome: CallOutcome
    disconnection_reason: str
    started_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime
    duration_s: float = Field(ge=0)
    extracted: dict[str, Any] = Field(default_factory=dict)
    transcript: str | None = None
    cost: float = 0.0
    # Billable units (stt_audio_s, tts_characters, llm_tokens, call_s) and their prices.
    cost_breakdown: dict[str, float] = Field(default_factory=dict)
    # The carrier's own id of the call (a SIP Call-ID), beside our attempt key in the
    # dial log: what to give a carrier's support to find the call in their records.
    carrier_call_id: str | None = None

    @classmethod
    def unanswered(cls, outcome: CallOutcome, reason: str, started: datetime) -> DialResult:
        """A call that ended with no conversation (busy, no answer, failed...), now."""
        return cls(
            outcome=outcome,
            disconnection_reason=reason,
            started_at=started,
            ended_at=max(datetime.now(UTC), started),
            duration_s=0.0,
        )


class InvalidDialRequestError(ValueError):
    """The request can never succeed (malformed number, unknown destination kind)."""


class Dialer(Protocol):
    """Places a call and returns when it has ended.

    Implementations must be idempotent on `request.idempotency_key`: a second `dial`
    with the same key joins or reports the first call, never rings again.
    """

    async def dial(self, request: DialRequest) -> DialResult:
        """Place the call and wait for its end."""
        ...
