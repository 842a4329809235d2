"""What the webhook store returns: subscriptions, deliveries and their attempts.

These are the API's response bodies too (the OpenAPI schema documents them), so they
never carry a secret: only the create and rotate responses show one, once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, Field

DeliveryStatus = Literal["pending", "delivered", "failed", "disabled"]
AttemptVerdict = Literal["delivered", "retry", "gone", "refused"]

ALL_EVENTS: Final = "*"
# The type of the event `POST /webhooks/{id}/test` sends; never a domain event.
TEST_EVENT_TYPE: Final = "webhook_test"


class Webhook(BaseModel):
    """A subscription: where events go and which ones."""

    id: str
    url: str
    events: list[str] = Field(description='The subscribed types; ["*"]: every type')
    description: str | None
    active: bool
    disabled_reason: str | None = Field(
        description="Why it stopped receiving (a 410 from the endpoint, or a person)"
    )
    disabled_at: datetime | None
    previous_secret_valid_until: datetime | None = Field(
        description="During a rotation, until when the previous secret still signs"
    )
    created_at: datetime
    updated_at: datetime


class WebhookPage(BaseModel):
    """One page of subscriptions and how many there are in all."""

    total: int
    items: list[Webhook]


class Attempt(BaseModel):
    """One HTTP attempt of a delivery; `verdict` is null while in flight, or when the
    worker making it died before hearing the answer."""

    attempt: int
    started_at: datetime
    finished_at: datetime | None
    verdict: AttemptVerdict | None
    status_code: int | None
    latency_ms: float | None
    error: str | None
    retry_after_s: float | None = Field(description="What a 429/5xx asked us to wait")


class Delivery(BaseModel):
    """One event for one subscription, and every attempt to deliver it."""

    id: str
    webhook_id: str
    event_id: str = Field(description="Stable: the `webhook-id` header of every attempt")
    event_type: str
    subject: str | None
    status: DeliveryStatus
    attempts: int
    replays: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    attempt_log: list[Attempt] = Field(default_factory=list)


class DeliveryPage(BaseModel):
    """One page of a subscription's deliveries, newest first."""

    total: int
    items: list[Delivery]


class EventRow(BaseModel):
    """A recorded domain event, as the dispatcher reads it from the outbox."""

    seq: int
    id: str
    tenant_id: str
    type: str
    subject: str | None
    payload: dict[str, Any]
    occurred_at: datetime
    created_at: datetime


class PlannedDelivery(BaseModel):
    """A pending delivery the dispatcher hands to Temporal."""

    delivery_id: str
    webhook_id: str
    event_seq: int | None
    subject: str | None
