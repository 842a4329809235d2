"""Pydantic models that cross Temporal boundaries: one input and one result per step.

Pure data, safe inside the workflow sandbox; the pydantic data converter (set in
`centralita.temporal`) serialises them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

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


class CampaignStatus(StrEnum):
    """Lifecycle of a campaign."""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class AttemptInput(BaseModel):
    """One call attempt to one phone of a contact (the campaign decided it is due)."""

    campaign_id: str
    contact_id: str
    attempt_number: int = Field(ge=1)
    phone: str
    agent: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    use_search_attributes: bool = True
    # Where the call's post-call workflow runs (None: no post-call processing).
    post_call_task_queue: str | None = None


class BeginAttempt(BaseModel):
    """Re-check a due attempt at dial time and record it (an upsert by `attempt_key`)."""

    attempt_key: str
    campaign_id: str
    contact_id: str
    attempt_number: int
    phone: str
    agent: str | None
    now: datetime


class BeginResult(BaseModel):
    """Whether the attempt may dial; when not, why (and the contact was rescheduled)."""

    proceed: bool
    reason: str


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


class AttemptRecord(BaseModel):
    """Store an attempt's result and apply the retry rules to its contact."""

    attempt_key: str
    result: DialResult
    now: datetime


class AttemptCancel(BaseModel):
    """Record that an attempt was cancelled while it ran."""

    attempt_key: str
    reason: str
    now: datetime


class ContactDecision(BaseModel):
    """Where a contact stands after an attempt (or a skipped one)."""

    contact_id: str
    state: ContactState
    reason: str
    next_attempt_at: datetime | None = None


class PlaceCall(BaseModel):
    """One attempt's call: re-check and record it, dial, store the result (one activity)."""

    begin: BeginAttempt
    variables: dict[str, Any] = Field(default_factory=dict)

    def dial_request(self) -> DialRequest:
        """What the dialer gets: the attempt key is the call's idempotency key."""
        begin = self.begin
        return DialRequest(
            idempotency_key=begin.attempt_key,
            to_number=begin.phone,
            campaign_id=begin.campaign_id,
            contact_id=begin.contact_id,
            attempt_number=begin.attempt_number,
            agent=begin.agent,
            variables=self.variables,
        )


class PlacedCall(BaseModel):
    """What the call activity did: skipped (with why), or dialled with its result applied."""

    proceed: bool
    reason: str
    result: DialResult | None = None
    decision: ContactDecision | None = None


class AttemptResult(BaseModel):
    """What the attempt workflow returns to its campaign."""

    attempt_key: str
    phone: str
    dialed: bool
    outcome: CallOutcome | None
    reason: str
    contact_state: ContactState | None = None
    extracted: dict[str, Any] = Field(default_factory=dict)
