"""Pydantic models that cross Temporal boundaries: one input and one result per step.

Pure data, safe inside the workflow sandbox; the pydantic data converter (set in
`centralita.kernel.temporal`) serialises them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from centralita.kernel.calls import CallOutcome, ContactState, DialRequest, DialResult


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
    # Place the call on a registered media worker's own task queue (issue 20); False:
    # the orchestrator's call activity dials through its configured carrier URL, as
    # before (and as histories written before placement replay).
    media_placement: bool = False


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
    # The campaign's caller IDs as its policy says at dial time (empty: the carrier's).
    caller_ids: list[str] = Field(default_factory=list)
    # Whose attempt it is, and the carrier account its policy names (None: the worker's).
    tenant_id: str | None = None
    carrier_account_id: str | None = None


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

    def dial_request(self, begun: BeginResult | None = None) -> DialRequest:
        """What the dialer gets: the attempt key is the call's idempotency key; the
        campaign's phone settings as `begun` read them at dial time."""
        begin = self.begin
        return DialRequest(
            idempotency_key=begin.attempt_key,
            to_number=begin.phone,
            campaign_id=begin.campaign_id,
            contact_id=begin.contact_id,
            attempt_number=begin.attempt_number,
            agent=begin.agent,
            variables=self.variables,
            caller_ids=begun.caller_ids if begun is not None else [],
            tenant_id=begun.tenant_id if begun is not None else None,
            carrier_account_id=begun.carrier_account_id if begun is not None else None,
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


def campaign_workflow_id(campaign_id: str) -> str:
    """Deterministic id: one workflow per campaign."""
    return f"campaign-{campaign_id}"


# The campaign workflow's opt-out signal, by name: whoever signals it (an attempt that
# heard "no me llamen más", the API's opt-out route) needs no import of the workflow.
OPT_OUT_SIGNAL = "opt_out"
