"""Inputs and results of the webhook delivery workflow and its attempt activity.

Only ids, order keys and numbers travel through Temporal: the body, the URL and the
secrets are read from Postgres by the activity at each attempt, so no secret is ever
written into a workflow history, and a rotated secret or a switched-off endpoint takes
effect at the next attempt.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DeliveryState = Literal["pending", "delivered", "failed", "disabled", "deleted"]


class QueuedDelivery(BaseModel):
    """One delivery waiting in a workflow's queue."""

    delivery_id: str
    seq: int | None = Field(default=None, description="The event's outbox seq: queue order")


class DeliveryRunResult(BaseModel):
    """How the workflow's deliveries ended."""

    delivered: int = 0
    failed: int = 0
    disabled: int = 0
    skipped: int = Field(default=0, description="Already settled, or deleted, when reached")


class DeliveryRunInput(BaseModel):
    """One workflow's deliveries: an ordered queue of one subject to one endpoint, or a
    single delivery (an event without subject, or a replay)."""

    webhook_id: str
    subject: str | None = Field(
        default=None, description="Set: deliveries of this subject, in seq order, one at a time"
    )
    queue: list[QueuedDelivery] = Field(default_factory=list)
    attempt_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="The HTTP timeout of one attempt (the activity adds its database time on top)",
    )
    heartbeat_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="A worker silent this long is taken for dead: the "
        "attempt is made again elsewhere",
    )
    idle_s: float = Field(
        default=60.0,
        ge=0,
        description="How long an ordered workflow waits for its "
        "subject's next event before ending (the next one starts it again)",
    )
    max_history_events: int = Field(
        default=4000,
        ge=1,
        description="Continue as new past this many history events "
        "(well below Temporal's 10,240), carrying the queue",
    )
    carried: DeliveryRunResult = Field(
        default_factory=DeliveryRunResult, description="Counts of the runs before this one"
    )


class QueueView(BaseModel):
    """What a workflow is doing now (a query)."""

    current: str | None
    queued: list[str]


class AttemptInput(BaseModel):
    """Try one delivery once."""

    delivery_id: str
    schedule_attempt: int = Field(
        ge=1, description="Which attempt of the retry schedule this is (from 1 per run)"
    )
    rng_seed: int = Field(description="From workflow.random(): the jitter of the next delay")


class AttemptResult(BaseModel):
    """What the attempt did, and what the workflow does next."""

    state: DeliveryState = Field(description="The delivery's status after this attempt")
    attempted: bool = Field(description="An HTTP request was made and logged")
    attempt: int | None = Field(default=None, description="Its number in the attempt log")
    verdict: Literal["delivered", "retry", "gone", "refused"] | None = None
    status_code: int | None = None
    retry_in_s: float | None = Field(
        default=None, description="Pending: wait this long, then try again"
    )
    counts: bool = Field(
        default=True,
        description="Whether it used a step of the schedule (False: deferred because the "
        "endpoint already has its share of requests in flight)",
    )

    @property
    def settled(self) -> bool:
        """Nothing more to do for this delivery."""
        return self.state != "pending"
