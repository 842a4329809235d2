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
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"


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


class CampaignPolicy(BaseModel):
    """Caps and retry rules of a campaign (the campaign issue deepens these)."""

    max_attempts: int = Field(default=3, ge=1, le=50, description="Calls per contact, at most.")
    retry_delay_seconds: int = Field(
        default=3600, ge=0, description="Wait after no answer or busy before calling again."
    )
    failure_retry_delay_seconds: int = Field(
        default=1800, ge=0, description="Wait after a failed call (carrier error) before retrying."
    )
    concurrency: int = Field(default=5, ge=1, le=500, description="Contacts dialled at once.")


class CampaignRunInput(BaseModel):
    """Start a campaign's workflow."""

    campaign_id: str


class CampaignPlan(BaseModel):
    """What the campaign workflow needs from the database to begin."""

    campaign_id: str
    policy: CampaignPolicy
    contact_ids: list[str]


class CampaignStatusChange(BaseModel):
    """Record a campaign's new status."""

    campaign_id: str
    status: CampaignStatus


class CampaignProgress(BaseModel):
    """Answer of the campaign workflow's `progress` query."""

    campaign_id: str
    total: int
    finished: int
    by_state: dict[str, int]


class CampaignResult(BaseModel):
    """What a finished campaign workflow returns."""

    campaign_id: str
    total: int
    by_state: dict[str, int]
    by_outcome: dict[str, int]


class ContactRunInput(BaseModel):
    """Work one contact of a campaign to its end."""

    campaign_id: str
    contact_id: str
    policy: CampaignPolicy


class ContactLookup(BaseModel):
    """Ask the store for one contact."""

    contact_id: str


class ContactProfile(BaseModel):
    """The parts of a contact a call needs."""

    contact_id: str
    name: str
    phones: list[str] = Field(min_length=1)
    variables: dict[str, Any] = Field(default_factory=dict)


class ContactResult(BaseModel):
    """How a contact ended."""

    contact_id: str
    state: ContactState
    outcome: CallOutcome | None
    attempts: int


class ContactStateChange(BaseModel):
    """Record a contact's state (and, when known, outcome and next attempt)."""

    contact_id: str
    state: ContactState
    outcome: CallOutcome | None = None
    attempts: int | None = None
    last_phone_tried: str | None = None
    next_attempt_at: datetime | None = None


class AttemptInput(BaseModel):
    """One call attempt to one phone of a contact."""

    campaign_id: str
    contact_id: str
    attempt_number: int = Field(ge=1)
    phone: str
    variables: dict[str, Any] = Field(default_factory=dict)


class AttemptStart(BaseModel):
    """Record that an attempt began (an upsert keyed by `attempt_key`)."""

    attempt_key: str
    campaign_id: str
    contact_id: str
    attempt_number: int
    phone: str


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
    variables: dict[str, Any] = Field(default_factory=dict)


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


class AttemptRecord(BaseModel):
    """Store an attempt's result."""

    attempt_key: str
    result: DialResult


class AttemptResult(BaseModel):
    """What the attempt workflow returns to its contact."""

    attempt_key: str
    phone: str
    outcome: CallOutcome
    disconnection_reason: str
    extracted: dict[str, Any] = Field(default_factory=dict)
