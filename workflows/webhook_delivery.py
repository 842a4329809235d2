"""WebhookDeliveryWorkflow: durable, ordered delivery of events to one endpoint.

Two shapes, one class:

- Ordered: one workflow per (endpoint, subject), e.g. one call's events for one CRM. The
  dispatcher signals-with-start each delivery into it; it delivers them one at a time in
  the events' outbox order, so `call_started` reaches the endpoint before `call_ended`
  even when the first needs retries. Once its queue has been empty for `idle_s` it
  ends; the subject's next event starts it again (nothing is queued by then, so order
  holds across runs).
- Single: an event without subject, or a replay, is one workflow with one delivery.

Each attempt is one activity (`WebhookActivities.attempt`): one POST, logged. Between
attempts the workflow sleeps on a durable timer for the delay the activity computed with
`delay_before` from the schedule (or the receiver's Retry-After) and a jitter seeded
here from `workflow.random()`. A dead endpoint holds up only its own workflows: each
endpoint and subject has its own, and the worker runs attempts concurrently.
"""

from __future__ import annotations

import bisect
import contextlib
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.webhooks import WebhookActivities
    from centralita.webhooks.messages import (
        AttemptInput,
        AttemptResult,
        DeliveryRunInput,
        DeliveryRunResult,
        QueuedDelivery,
        QueueView,
    )
    from workflows.activity_policies import WEBHOOK_ATTEMPT_MARGIN, WEBHOOK_ATTEMPT_RETRY


def ordered_workflow_id(webhook_id: str, subject: str) -> str:
    """The one workflow that delivers `subject`'s events to the endpoint, in order."""
    return f"webhook-{webhook_id}-{subject}"


def single_workflow_id(delivery_id: str, replay: int = 0) -> str:
    """The workflow of one delivery (`replay` > 0: its n-th replay)."""
    base = f"webhook-delivery-{delivery_id}"
    return f"{base}-replay-{replay}" if replay else base


def _order(item: QueuedDelivery) -> tuple[bool, int]:
    return (item.seq is None, item.seq or 0)


@workflow.defn
class WebhookDeliveryWorkflow:
    """Delivers its queue to one endpoint, one delivery at a time, in seq order."""

    def __init__(self) -> None:
        self._queue: list[QueuedDelivery] = []
        self._seen: set[str] = set()
        self._current: str | None = None
        self._result = DeliveryRunResult()
        self._delivered_here = 0  # a new run delivers one before it may continue as new

    @workflow.signal
    def enqueue(self, item: QueuedDelivery) -> None:
        """Add a delivery (a second signal for the same one is ignored)."""
        if item.delivery_id in self._seen:
            return
        self._seen.add(item.delivery_id)
        # Sorted by seq: an earlier event signalled late still goes before later ones
        # that have not started.
        keys = [_order(queued) for queued in self._queue]
        self._queue.insert(bisect.bisect_right(keys, _order(item)), item)

    @workflow.query
    def queued(self) -> QueueView:
        """The delivery under way and those waiting."""
        return QueueView(current=self._current, queued=[q.delivery_id for q in self._queue])

    @workflow.run
    async def run(self, request: DeliveryRunInput) -> DeliveryRunResult:
        """Deliver the queue (and whatever is signalled in) until idle."""
        self._result = request.carried.model_copy()
        for item in request.queue:
            self.enqueue(item)
        while await self._has_work(request):
            if self._delivered_here and self._history_is_long(request.max_history_events):
                # A delivery that succeeds at once costs about ten events: a busy subject
                # continues as new every few hundred deliveries, its queue carried over.
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    request.model_copy(update={"queue": self._queue, "carried": self._result})
                )
            item = self._queue.pop(0)
            self._current = item.delivery_id
            await self._deliver(item, request)
            self._current = None
            self._delivered_here += 1
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._result

    async def _has_work(self, request: DeliveryRunInput) -> bool:
        if self._queue:
            return True
        if request.subject is None:
            return False
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: bool(self._queue), timeout=timedelta(seconds=request.idle_s)
            )
        # Checked again rather than trusting the wait: a signal that arrives with the
        # timer's firing is in the queue by now.
        return bool(self._queue)

    def _history_is_long(self, limit: int) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > limit

    async def _deliver(self, item: QueuedDelivery, request: DeliveryRunInput) -> None:
        schedule_attempt = 1
        while True:
            result = await workflow.execute_activity_method(
                WebhookActivities.attempt,
                AttemptInput(
                    delivery_id=item.delivery_id,
                    schedule_attempt=schedule_attempt,
                    rng_seed=workflow.random().getrandbits(63),
                ),
                start_to_close_timeout=timedelta(seconds=request.attempt_timeout_s)
                + WEBHOOK_ATTEMPT_MARGIN,
                heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_s),
                retry_policy=WEBHOOK_ATTEMPT_RETRY,
            )
            if result.settled:
                self._count(result)
                return
            if result.counts:
                schedule_attempt += 1
            if result.retry_in_s:
                await workflow.sleep(timedelta(seconds=result.retry_in_s))

    def _count(self, result: AttemptResult) -> None:
        if not result.attempted:
            self._result.skipped += 1
        elif result.state == "delivered":
            self._result.delivered += 1
        elif result.state == "failed":
            self._result.failed += 1
        else:
            self._result.disabled += 1
