"""A handoff, the context an operator sees, operators and the callbacks people owe."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

HandoffState = Literal["waiting", "answered", "connected", "ended", "timed_out", "abandoned"]
OperatorStatus = Literal["offline", "available", "busy", "wrap_up"]
CallbackState = Literal["scheduled", "due", "done", "cancelled"]
Disposition = Literal[
    "resolved", "promise_to_pay", "callback", "dispute", "escalated", "wrong_person", "other"
]


class HandoffContext(BaseModel):
    """What an operator sees when the call rings: who, why, and the call so far."""

    name: str | None = None  # the contact's name, as the agent had it
    phone_masked: str | None = None  # last digits only
    language: str = "es"
    direction: Literal["outbound", "inbound"] = "outbound"
    summary: list[str] = Field(default_factory=list, description="The last lines, in order")
    sentiment: float | None = None  # the caller's last turn, -1..1
    sentiment_trend: float | None = None  # the mean of the last turns
    promise: dict[str, Any] | None = None  # promised amount, currency and date, if any
    variables: dict[str, Any] = Field(default_factory=dict, description="What the agent knew")


class NewHandoff(BaseModel):
    """A call about to wait for a person."""

    tenant_id: str
    call_key: str
    queue: str
    trigger: str
    reason: str
    priority: int = 0
    max_wait_s: int
    decided_at: datetime
    context: HandoffContext


class Handoff(BaseModel):
    """A stored handoff."""

    id: str
    call_key: str
    queue: str
    trigger: str
    reason: str
    priority: int
    state: HandoffState
    context: HandoffContext
    max_wait_s: int
    decided_at: datetime
    created_at: datetime
    operator_id: str | None = None
    operator_name: str | None = None
    answered_at: datetime | None = None
    connected_at: datetime | None = None
    settled_at: datetime | None = None
    disposition: str | None = None
    notes: str | None = None
    wrapped_up_at: datetime | None = None


class Operator(BaseModel):
    """A person who answers handed-off calls."""

    id: str
    name: str
    status: OperatorStatus
    queues: list[str]
    status_at: datetime
    # When an operator page last followed them (None: never); a page gone for
    # `operator_away_after_s` leaves an available operator offline.
    seen_at: datetime | None = None


class NewHumanCallback(BaseModel):
    """A call a person owes: to `phone`, at `due_at`."""

    tenant_id: str
    call_key: str
    handoff_id: str | None = None
    phone: str | None = None
    name: str | None = None
    reason: str
    due_at: datetime
    context: HandoffContext


class HumanCallback(BaseModel):
    """A stored human callback."""

    id: str
    call_key: str
    handoff_id: str | None
    phone: str | None
    name: str | None
    reason: str
    context: HandoffContext
    due_at: datetime
    state: CallbackState
    operator_id: str | None = None
    disposition: str | None = None
    notes: str | None = None
    created_at: datetime
    settled_at: datetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def workflow_id(self) -> str:
        """The id of the workflow that waits for it."""
        return human_callback_workflow_id(self.id)


def human_callback_workflow_id(callback_id: str) -> str:
    """`HumanCallbackWorkflow`'s id for a callback (one workflow per callback)."""
    return f"human-callback-{callback_id}"
